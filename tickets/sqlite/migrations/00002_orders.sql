-- Orders, payments, tickets, refunds and idempotency keys (issue #10), and sold seats: a claim
-- in state 'sold' names the order it was sold to. Times are INTEGER Unix milliseconds (UTC) and
-- lists JSON text, as in 00001. Nothing is deleted: orders end in a status, tickets are voided,
-- refunds completed; an idempotency key older than tickets.KeyRetention is overwritten in place
-- by the next request that uses it.

-- +goose Up
CREATE TABLE orders (
    id               TEXT    NOT NULL PRIMARY KEY,
    user_id          TEXT    NOT NULL,
    session_id       TEXT    NOT NULL,
    hold_id          TEXT    NOT NULL REFERENCES holds (id),
    screening_id     TEXT    NOT NULL REFERENCES screenings (id),
    seat_ids         TEXT    NOT NULL CHECK (json_valid(seat_ids)), -- sorted, the hold's
    amount           INTEGER NOT NULL CHECK (amount >= 0),
    currency         TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN
                         ('pending', 'confirmed', 'declined', 'expired', 'refunded', 'cancelled')),
    late_payment     TEXT    NOT NULL DEFAULT '' CHECK (late_payment IN ('', 'reclaimed', 'refunded')),
    payment_deadline INTEGER NOT NULL, -- the hold's deadline
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    -- An order is refunded exactly when its payment came late and found the seats gone.
    CHECK ((status = 'refunded') = (late_payment = 'refunded')),
    CHECK (late_payment <> 'reclaimed' OR status IN ('confirmed', 'cancelled'))
) STRICT;
-- A hold is paid for by at most one order at a time: a declined or expired one may be followed
-- by another.
CREATE UNIQUE INDEX orders_one_live_per_hold ON orders (hold_id) WHERE status IN ('pending', 'confirmed');
CREATE INDEX orders_user ON orders (user_id, created_at DESC, id DESC);
CREATE INDEX orders_pending_deadline ON orders (payment_deadline) WHERE status = 'pending';
CREATE INDEX orders_confirmed_screening ON orders (screening_id) WHERE status = 'confirmed';

CREATE TABLE payments (
    id           TEXT    NOT NULL PRIMARY KEY, -- ours: the provider's idempotency key
    order_id     TEXT    NOT NULL UNIQUE REFERENCES orders (id),
    method       TEXT    NOT NULL,
    token        TEXT    NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('pending', 'succeeded', 'declined', 'cancelled')),
    provider_ref TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE tickets (
    id           TEXT    NOT NULL PRIMARY KEY,
    order_id     TEXT    NOT NULL REFERENCES orders (id),
    screening_id TEXT    NOT NULL REFERENCES screenings (id),
    seat_id      TEXT    NOT NULL,
    code         TEXT    NOT NULL UNIQUE,
    status       TEXT    NOT NULL CHECK (status IN ('valid', 'void')),
    created_at   INTEGER NOT NULL,
    UNIQUE (order_id, seat_id)
) STRICT;
-- No seat is admitted twice: at most one valid ticket per seat of a screening.
CREATE UNIQUE INDEX tickets_one_valid_per_seat ON tickets (screening_id, seat_id) WHERE status = 'valid';

CREATE TABLE refunds (
    id           TEXT    NOT NULL PRIMARY KEY, -- tickets.RefundID(order_id)
    order_id     TEXT    NOT NULL UNIQUE REFERENCES orders (id),
    screening_id TEXT    NOT NULL REFERENCES screenings (id),
    payment_id   TEXT    NOT NULL REFERENCES payments (id),
    method       TEXT    NOT NULL,
    amount       INTEGER NOT NULL CHECK (amount >= 0),
    currency     TEXT    NOT NULL,
    reason       TEXT    NOT NULL CHECK (reason IN
                     ('customer_cancelled', 'screening_cancelled', 'late_payment')),
    status       TEXT    NOT NULL CHECK (status IN ('pending', 'succeeded')),
    provider_ref TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    completed_at INTEGER,
    CHECK (id = 'refund_' || order_id),
    CHECK ((status = 'succeeded') = (completed_at IS NOT NULL))
) STRICT;
CREATE INDEX refunds_screening ON refunds (screening_id, created_at, id);
CREATE INDEX refunds_pending ON refunds (created_at, id) WHERE status = 'pending';

-- A request's idempotency key, scoped to its user, stored with the order it began. In flight,
-- it is the request's until lease_until; completed, it keeps the reply, byte for byte.
CREATE TABLE idempotency_keys (
    user_id            TEXT    NOT NULL,
    key                TEXT    NOT NULL,
    fingerprint        BLOB    NOT NULL,
    status             TEXT    NOT NULL CHECK (status IN ('in_flight', 'completed')),
    lease_until        INTEGER NOT NULL,
    order_id           TEXT    NOT NULL REFERENCES orders (id),
    reply_status       INTEGER NOT NULL DEFAULT 0,
    reply_content_type TEXT    NOT NULL DEFAULT '',
    reply_location     TEXT    NOT NULL DEFAULT '',
    reply_body         BLOB    NOT NULL DEFAULT x'',
    created_at         INTEGER NOT NULL, -- its first use: it is remembered KeyRetention from then
    completed_at       INTEGER,
    PRIMARY KEY (user_id, key),
    CHECK ((status = 'completed') = (completed_at IS NOT NULL))
) STRICT;
CREATE INDEX idempotency_keys_order ON idempotency_keys (order_id);
CREATE INDEX idempotency_keys_in_flight ON idempotency_keys (lease_until) WHERE status = 'in_flight';

-- seat_claims again, now that orders exist: a sold seat names its order (and keeps the hold it
-- was sold from), and only a sold seat names an order. SQLite cannot add constraints to a
-- table, so it is rebuilt; no table refers to it.
CREATE TABLE seat_claims_new (
    screening_id TEXT    NOT NULL REFERENCES screenings (id),
    seat_id      TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('free', 'held', 'sold', 'blocked')),
    hold_id      TEXT    REFERENCES holds (id) DEFERRABLE INITIALLY DEFERRED,
    order_id     TEXT    REFERENCES orders (id),
    expires_at   INTEGER,
    version      INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (screening_id, seat_id),
    CHECK (state <> 'held' OR (hold_id IS NOT NULL AND expires_at IS NOT NULL)),
    CHECK ((state = 'sold') = (order_id IS NOT NULL)),
    CHECK (state <> 'sold' OR expires_at IS NULL)
) STRICT;
INSERT INTO seat_claims_new (screening_id, seat_id, state, hold_id, order_id, expires_at, version, updated_at)
    SELECT screening_id, seat_id, state, hold_id, order_id, expires_at, version, updated_at FROM seat_claims;
DROP TABLE seat_claims;
ALTER TABLE seat_claims_new RENAME TO seat_claims;
CREATE INDEX seat_claims_hold ON seat_claims (hold_id) WHERE hold_id IS NOT NULL;
CREATE INDEX seat_claims_order ON seat_claims (order_id) WHERE order_id IS NOT NULL;

-- +goose Down
CREATE TABLE seat_claims_old (
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
INSERT INTO seat_claims_old (screening_id, seat_id, state, hold_id, order_id, expires_at, version, updated_at)
    SELECT screening_id, seat_id, state, hold_id, order_id, expires_at, version, updated_at FROM seat_claims;
DROP TABLE seat_claims;
ALTER TABLE seat_claims_old RENAME TO seat_claims;
CREATE INDEX seat_claims_hold ON seat_claims (hold_id) WHERE hold_id IS NOT NULL;
DROP TABLE idempotency_keys;
DROP TABLE refunds;
DROP TABLE tickets;
DROP TABLE payments;
DROP TABLE orders;
