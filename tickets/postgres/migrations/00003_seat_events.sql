-- Seat events (live seat maps): an outbox of seat changes written by triggers on seat_claims in
-- the same transaction as each change, and each screening's availability version.

-- +goose Up
-- One row per screening whose seats ever changed: its availability version, and the transaction
-- that last took a version (so that one transaction takes one version however many statements
-- it runs). Writers take the screening's feed lock first (lock_seat_feed) and hold it until they
-- commit; the trigger below updates this row after every statement that changes seat_claims, so
-- versions of a screening are taken one after another, in commit order, without gaps.
CREATE TABLE seat_feed (
	screening_id text COLLATE "C" PRIMARY KEY REFERENCES screenings (id),
	version      bigint NOT NULL,
	xact         xid8 NOT NULL
);

-- One row per transaction and screening: the new status of each seat it changed (a JSON object
-- seat ID → 'available', 'held', 'sold' or 'blocked'). Rows are inserted unpublished, marked
-- published once by the publisher, and pruned after a retention period (oldest first, so that
-- what is left of a screening's events is a run without gaps).
CREATE TABLE seat_events (
	screening_id text COLLATE "C" NOT NULL,
	version      bigint NOT NULL,
	seats        jsonb NOT NULL,
	at           timestamptz NOT NULL DEFAULT now(),
	published    boolean NOT NULL DEFAULT false,
	PRIMARY KEY (screening_id, version)
);
CREATE INDEX seat_events_unpublished ON seat_events (screening_id, version) WHERE NOT published;
CREATE INDEX seat_events_at ON seat_events (at);

-- The version of a screening used to be the sum of its claim rows' versions: start from there so
-- that versions (and seat map ETags) keep growing across the upgrade.
INSERT INTO seat_feed (screening_id, version, xact)
SELECT screening_id, sum(version)::bigint, '0'::xid8 FROM seat_claims GROUP BY screening_id;

-- lock_seat_feed takes the feed locks of the given screenings: transaction-level advisory locks
-- (namespace 1941, keyed by hashtext of the screening ID, taken in key order so that two
-- transactions locking several screenings cannot deadlock). Every transaction that changes
-- seat_claims calls it first, before it locks any claim row, and holds it until it commits:
-- the transactions that change one screening's seats take turns from there to their commit, so
-- the versions the trigger below takes are in commit order (a transaction-level lock is released
-- after the commit is visible), and no two of them can each hold claim rows the other waits for
-- while waiting for the feed (a deadlock). The stores send it in the same round trip as the
-- change and COMMIT, so the lock covers the server's work and the commit, never a network round
-- trip. It is an advisory lock rather than a lock on the seat_feed row: waiters for a row lock
-- that every holder updates must each follow the row's update chain, which measured an order of
-- magnitude slower on a hot screening.
-- +goose StatementBegin
CREATE FUNCTION lock_seat_feed(p_screenings text[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	k integer;
BEGIN
	FOR k IN SELECT DISTINCT hashtext(id) FROM unnest(p_screenings) AS id ORDER BY 1 LOOP
		PERFORM pg_advisory_xact_lock(1941, k);
	END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION seat_claims_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	r record;
	v bigint;
BEGIN
	-- Screenings in sorted order, so that two transactions changing several screenings lock
	-- their feed rows in the same order.
	FOR r IN
		SELECT n.screening_id, jsonb_object_agg(n.seat_id,
			CASE n.state WHEN 'free' THEN 'available' ELSE n.state END) AS seats
		FROM changed n GROUP BY n.screening_id ORDER BY n.screening_id
	LOOP
		INSERT INTO seat_feed AS f (screening_id, version, xact)
		VALUES (r.screening_id, 1, pg_current_xact_id())
		ON CONFLICT (screening_id) DO UPDATE
			SET version = f.version + CASE WHEN f.xact = excluded.xact THEN 0 ELSE 1 END, xact = excluded.xact
		RETURNING f.version INTO v;
		INSERT INTO seat_events AS e (screening_id, version, seats)
		VALUES (r.screening_id, v, r.seats)
		ON CONFLICT (screening_id, version) DO UPDATE SET seats = e.seats || excluded.seats;
	END LOOP;
	RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER seat_claims_inserted AFTER INSERT ON seat_claims
	REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION seat_claims_event();
CREATE TRIGGER seat_claims_updated AFTER UPDATE ON seat_claims
	REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION seat_claims_event();

-- +goose Down
DROP TRIGGER seat_claims_updated ON seat_claims;
DROP TRIGGER seat_claims_inserted ON seat_claims;
DROP FUNCTION seat_claims_event();
DROP FUNCTION lock_seat_feed(text[]);
DROP TABLE seat_events;
DROP TABLE seat_feed;
