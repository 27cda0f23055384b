-- The ticketing schema for SQLite, mirroring tickets/postgres table for table and column for
-- column. Times are INTEGER Unix milliseconds (UTC): comparisons are exact and cheap, and "now"
-- is always a parameter (SQLite has no server clock; the store's injected clock is the
-- database's). Lists are JSON text. A later migration adds orders, payments, refunds, tickets
-- and idempotency keys; seat_claims.order_id and the 'sold' and 'confirmed' states wait for it.

-- +goose Up
CREATE TABLE movies (
    id               TEXT    NOT NULL PRIMARY KEY,
    title            TEXT    NOT NULL,
    synopsis         TEXT    NOT NULL DEFAULT '',
    duration_minutes INTEGER NOT NULL CHECK (duration_minutes > 0),
    rating           TEXT    NOT NULL DEFAULT '',
    genres           TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(genres))
) STRICT;
CREATE INDEX movies_title ON movies (title, id);

CREATE TABLE cinemas (
    id        TEXT NOT NULL PRIMARY KEY,
    name      TEXT NOT NULL,
    city      TEXT NOT NULL,
    time_zone TEXT NOT NULL
) STRICT;
CREATE INDEX cinemas_name ON cinemas (name, id);

CREATE TABLE halls (
    id               TEXT    NOT NULL PRIMARY KEY,
    cinema_id        TEXT    NOT NULL REFERENCES cinemas (id),
    name             TEXT    NOT NULL,
    cleaning_minutes INTEGER NOT NULL DEFAULT 15 CHECK (cleaning_minutes >= 0)
) STRICT;
CREATE INDEX halls_cinema ON halls (cinema_id, name, id);

CREATE TABLE seats (
    hall_id    TEXT    NOT NULL REFERENCES halls (id),
    id         TEXT    NOT NULL,
    label      TEXT    NOT NULL,
    row_label  TEXT    NOT NULL,
    number     INTEGER NOT NULL,
    x          INTEGER NOT NULL,
    y          INTEGER NOT NULL,
    category   TEXT    NOT NULL,
    accessible INTEGER NOT NULL DEFAULT 0 CHECK (accessible IN (0, 1)),
    group_id   TEXT,
    PRIMARY KEY (hall_id, id)
) STRICT;
CREATE INDEX seats_position ON seats (hall_id, y, x);

CREATE TABLE screenings (
    id         TEXT    NOT NULL PRIMARY KEY,
    movie_id   TEXT    NOT NULL REFERENCES movies (id),
    hall_id    TEXT    NOT NULL REFERENCES halls (id),
    starts_at  INTEGER NOT NULL,
    ends_at    INTEGER NOT NULL,
    busy_until INTEGER NOT NULL, -- ends_at + the hall's cleaning time, fixed at creation
    status     TEXT    NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled')),
    created_at INTEGER NOT NULL,
    CHECK (ends_at > starts_at),
    CHECK (busy_until >= ends_at)
) STRICT;
CREATE INDEX screenings_start ON screenings (starts_at, id);
CREATE INDEX screenings_hall ON screenings (hall_id, starts_at);
CREATE INDEX screenings_movie ON screenings (movie_id, starts_at);

CREATE TABLE screening_prices (
    screening_id TEXT    NOT NULL REFERENCES screenings (id),
    category     TEXT    NOT NULL,
    amount       INTEGER NOT NULL CHECK (amount >= 0),
    currency     TEXT    NOT NULL,
    PRIMARY KEY (screening_id, category)
) STRICT;

-- The availability version: one row, incremented by every transaction that changes a claim,
-- so that a screening's max(seat_claims.version) never decreases.
CREATE TABLE claim_version (
    only  INTEGER NOT NULL PRIMARY KEY CHECK (only = 1),
    value INTEGER NOT NULL
) STRICT;
INSERT INTO claim_version (only, value) VALUES (1, 0);

CREATE TABLE holds (
    id           TEXT    NOT NULL PRIMARY KEY,
    screening_id TEXT    NOT NULL REFERENCES screenings (id),
    user_id      TEXT    NOT NULL,
    session_id   TEXT    NOT NULL,
    seat_ids     TEXT    NOT NULL CHECK (json_valid(seat_ids)),
    status       TEXT    NOT NULL CHECK (status IN
                     ('active', 'released', 'replaced', 'expired', 'revoked', 'cancelled', 'confirmed')),
    amount       INTEGER NOT NULL,
    currency     TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    ended_at     INTEGER,
    CHECK ((status = 'active') = (ended_at IS NULL))
) STRICT;
-- One active hold per user and screening: the next one replaces it.
CREATE UNIQUE INDEX holds_one_active ON holds (user_id, screening_id) WHERE status = 'active';
CREATE INDEX holds_active_session ON holds (session_id) WHERE status = 'active';
CREATE INDEX holds_active_expiry ON holds (expires_at) WHERE status = 'active';
CREATE INDEX holds_active_screening ON holds (screening_id) WHERE status = 'active';

-- A seat's claim at a screening. Rows are never deleted: releasing sets state 'free'.
CREATE TABLE seat_claims (
    screening_id TEXT    NOT NULL REFERENCES screenings (id),
    seat_id      TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('free', 'held', 'sold', 'blocked')),
    hold_id      TEXT    REFERENCES holds (id) DEFERRABLE INITIALLY DEFERRED,
    order_id     TEXT,
    expires_at   INTEGER,
    version      INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (screening_id, seat_id),
    CHECK (state <> 'held' OR (hold_id IS NOT NULL AND expires_at IS NOT NULL))
) STRICT;
CREATE INDEX seat_claims_hold ON seat_claims (hold_id) WHERE hold_id IS NOT NULL;

-- +goose Down
DROP TABLE seat_claims;
DROP TABLE holds;
DROP TABLE claim_version;
DROP TABLE screening_prices;
DROP TABLE screenings;
DROP TABLE seats;
DROP TABLE halls;
DROP TABLE cinemas;
DROP TABLE movies;
