-- Seat events (live seat maps), as in tickets/postgres 00003: each screening's availability
-- version, and an outbox of seat changes written by triggers on seat_claims in the same
-- transaction as each change. Times are INTEGER Unix milliseconds (UTC), as in 00001.
--
-- SQLite has no transaction ID to tell one transaction from the next, but it has one writer at
-- a time: seat_feed.open marks the screenings whose version the transaction now writing has
-- already taken. The triggers take a version only when open is 0 (and set it to 1); the store
-- sets open back to 0 in every write transaction just before COMMIT (sqlite.Store.write), so
-- each transaction that changes a screening's claims takes exactly one version of it, the
-- next, and one that changes none takes none.
--
-- The triggers belong to seat_claims: a migration that rebuilds it (as 00002 does) must create
-- them again.

-- +goose Up
-- One row per screening whose seats ever changed.
CREATE TABLE seat_feed (
    screening_id TEXT    NOT NULL PRIMARY KEY REFERENCES screenings (id),
    version      INTEGER NOT NULL CHECK (version > 0),
    open         INTEGER NOT NULL DEFAULT 0 CHECK (open IN (0, 1))
) STRICT;
-- The rows the commit closes: those of the transaction now writing, none otherwise.
CREATE INDEX seat_feed_open ON seat_feed (screening_id) WHERE open = 1;

-- One row per transaction and screening: the new status of each seat it changed (a JSON object
-- seat ID → 'available', 'held', 'sold' or 'blocked'). Rows are inserted unpublished, marked
-- published once by the publisher, and pruned after a retention period (oldest first, so that
-- what is left of a screening's events is a run without gaps).
CREATE TABLE seat_events (
    screening_id TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    seats        TEXT    NOT NULL CHECK (json_valid(seats)),
    at           INTEGER NOT NULL, -- the store's clock in the transaction (the claims' updated_at)
    published    INTEGER NOT NULL DEFAULT 0 CHECK (published IN (0, 1)),
    PRIMARY KEY (screening_id, version)
) STRICT;
CREATE INDEX seat_events_unpublished ON seat_events (screening_id, version) WHERE published = 0;
CREATE INDEX seat_events_at ON seat_events (at);

-- The version of a screening used to be the highest version of its claims (drawn from one
-- counter for the whole database): start from there so that versions (and seat map ETags) keep
-- growing across the upgrade. From now on a claim's version is the screening's version that
-- last changed it (the triggers set it), and the counter is gone.
INSERT INTO seat_feed (screening_id, version, open)
    SELECT screening_id, max(version), 0 FROM seat_claims GROUP BY screening_id HAVING max(version) > 0;
DROP TABLE claim_version;

-- After every claim written: take the screening's next version unless this transaction has
-- taken it already, merge the seat's status into the transaction's event (the last status of a
-- seat wins), and stamp the claim with the version. The stamp changes only the version column,
-- which is not among those that fire seat_claims_updated.
-- +goose StatementBegin
CREATE TRIGGER seat_claims_inserted AFTER INSERT ON seat_claims
BEGIN
    INSERT INTO seat_feed (screening_id, version, open) VALUES (NEW.screening_id, 1, 1)
        ON CONFLICT (screening_id) DO UPDATE SET version = version + 1, open = 1 WHERE open = 0;
    INSERT INTO seat_events (screening_id, version, seats, at)
        SELECT f.screening_id, f.version,
            json_object(NEW.seat_id, CASE NEW.state WHEN 'free' THEN 'available' ELSE NEW.state END),
            NEW.updated_at
        FROM seat_feed f WHERE f.screening_id = NEW.screening_id
        ON CONFLICT (screening_id, version) DO UPDATE SET seats = json_patch(seats, excluded.seats);
    UPDATE seat_claims SET version = (SELECT version FROM seat_feed WHERE screening_id = NEW.screening_id)
        WHERE screening_id = NEW.screening_id AND seat_id = NEW.seat_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER seat_claims_updated
AFTER UPDATE OF screening_id, seat_id, state, hold_id, order_id, expires_at, updated_at ON seat_claims
BEGIN
    INSERT INTO seat_feed (screening_id, version, open) VALUES (NEW.screening_id, 1, 1)
        ON CONFLICT (screening_id) DO UPDATE SET version = version + 1, open = 1 WHERE open = 0;
    INSERT INTO seat_events (screening_id, version, seats, at)
        SELECT f.screening_id, f.version,
            json_object(NEW.seat_id, CASE NEW.state WHEN 'free' THEN 'available' ELSE NEW.state END),
            NEW.updated_at
        FROM seat_feed f WHERE f.screening_id = NEW.screening_id
        ON CONFLICT (screening_id, version) DO UPDATE SET seats = json_patch(seats, excluded.seats);
    UPDATE seat_claims SET version = (SELECT version FROM seat_feed WHERE screening_id = NEW.screening_id)
        WHERE screening_id = NEW.screening_id AND seat_id = NEW.seat_id;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER seat_claims_updated;
DROP TRIGGER seat_claims_inserted;
-- The counter again, above every claim's version, so that each screening's highest claim
-- version (the version before 00003) keeps growing.
CREATE TABLE claim_version (
    only  INTEGER NOT NULL PRIMARY KEY CHECK (only = 1),
    value INTEGER NOT NULL
) STRICT;
INSERT INTO claim_version (only, value) SELECT 1, coalesce(max(version), 0) FROM seat_claims;
DROP TABLE seat_events;
DROP TABLE seat_feed;
