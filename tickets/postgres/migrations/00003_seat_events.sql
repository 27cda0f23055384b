-- Seat events (live seat maps): an outbox of seat changes written by triggers on seat_claims in
-- the same transaction as each change (seat_events), numbered afterwards, one screening version
-- at a time, by one sequencer (sequence_seat_events) into an append-only log (seat_log).

-- +goose Up
-- Each screening's availability version (the version of its last numbered event) and the
-- version published through Redis so far.
CREATE TABLE seat_feed (
	screening_id text COLLATE "C" PRIMARY KEY REFERENCES screenings (id),
	version      bigint NOT NULL,
	published    bigint NOT NULL
);
CREATE INDEX seat_feed_unpublished ON seat_feed (screening_id) WHERE published < version;

-- seat_event_pos orders events: a transaction's event takes a value after each of its statements
-- that change the screening's claims, so after it has locked every claim row it changed. A
-- transaction that changes a claim row another one changed waited for that one to commit before
-- it could lock the row, so its position is higher: sorting events by position sorts the changes
-- of every seat in commit order, which is all a seat map needs (changes of different seats
-- commute). Claim transactions take no lock beyond their claim rows for this.
CREATE SEQUENCE seat_event_pos AS bigint;

-- The outbox: one row per transaction and screening, the new status of each seat it changed (a
-- JSON object seat ID → 'available', 'held', 'sold' or 'blocked'), until the sequencer moves it
-- to seat_log. A small, short-lived queue.
CREATE TABLE seat_events (
	xact         xid8 NOT NULL,
	screening_id text COLLATE "C" NOT NULL,
	pos          bigint NOT NULL,
	seats        jsonb NOT NULL,
	at           timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (xact, screening_id)
);
CREATE INDEX seat_events_pos ON seat_events (pos);

-- The numbered events, append-only: versions 1, 2, 3, … of each screening. Pruned after a
-- retention period, oldest versions first, so that what is left of a screening's events is a run
-- without gaps ending at its version.
CREATE TABLE seat_log (
	screening_id text COLLATE "C" NOT NULL,
	version      bigint NOT NULL,
	seats        jsonb NOT NULL,
	at           timestamptz NOT NULL,
	PRIMARY KEY (screening_id, version)
);
CREATE INDEX seat_log_at ON seat_log USING brin (at);

-- The version of a screening used to be the sum of its claim rows' versions: start from there so
-- that versions (and seat map ETags) keep growing across the upgrade.
INSERT INTO seat_feed (screening_id, version, published)
SELECT screening_id, sum(version)::bigint, sum(version)::bigint FROM seat_claims GROUP BY screening_id;

-- +goose StatementBegin
CREATE FUNCTION seat_claims_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	r record;
BEGIN
	FOR r IN
		SELECT n.screening_id, jsonb_object_agg(n.seat_id,
			CASE n.state WHEN 'free' THEN 'available' ELSE n.state END) AS seats
		FROM changed n GROUP BY n.screening_id
	LOOP
		INSERT INTO seat_events AS e (xact, screening_id, pos, seats)
		VALUES (pg_current_xact_id(), r.screening_id, nextval('seat_event_pos'), r.seats)
		ON CONFLICT (xact, screening_id) DO UPDATE SET seats = e.seats || excluded.seats, pos = excluded.pos;
	END LOOP;
	RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER seat_claims_inserted AFTER INSERT ON seat_claims
	REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION seat_claims_event();
CREATE TRIGGER seat_claims_updated AFTER UPDATE ON seat_claims
	REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION seat_claims_event();

-- sequence_seat_events moves up to p_limit committed events from the outbox to seat_log, in
-- position order, numbering each screening's from its seat_feed version + 1, and returns how
-- many. One sequencer at a time (advisory lock 1940/0; 1940/1 is the publisher's, 1937 holds
-- screenings, 1939 idempotency keys); a call made while another holds it returns 0. An event
-- another transaction has not committed yet is not visible and is numbered by a later call: it
-- touches none of the seats of the events numbered before it that it would have to follow (see
-- seat_event_pos).
-- +goose StatementBegin
CREATE FUNCTION sequence_seat_events(p_limit integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
	v_n integer;
BEGIN
	IF NOT pg_try_advisory_xact_lock(1940, 0) THEN
		RETURN 0;
	END IF;
	WITH picked AS (
		SELECT xact, screening_id FROM seat_events ORDER BY pos LIMIT p_limit
	), moved AS (
		DELETE FROM seat_events e USING picked p
		WHERE e.xact = p.xact AND e.screening_id = p.screening_id
		RETURNING e.screening_id, e.pos, e.seats, e.at
	), batch AS (
		SELECT m.*, row_number() OVER (PARTITION BY m.screening_id ORDER BY m.pos) AS rn
		FROM moved m
	), counts AS (
		SELECT b.screening_id, count(*) AS n FROM batch b GROUP BY b.screening_id
	), bumped AS (
		INSERT INTO seat_feed AS f (screening_id, version, published)
		SELECT c.screening_id, c.n, 0 FROM counts c ORDER BY c.screening_id
		ON CONFLICT (screening_id) DO UPDATE SET version = f.version + excluded.version
		RETURNING f.screening_id, f.version AS top
	), logged AS (
		INSERT INTO seat_log (screening_id, version, seats, at)
		SELECT b.screening_id, k.top - c.n + b.rn, b.seats, b.at
		FROM batch b JOIN counts c ON c.screening_id = b.screening_id
			JOIN bumped k ON k.screening_id = b.screening_id
		RETURNING 1
	)
	SELECT count(*) INTO v_n FROM logged;
	RETURN v_n;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION sequence_seat_events(integer);
DROP TRIGGER seat_claims_updated ON seat_claims;
DROP TRIGGER seat_claims_inserted ON seat_claims;
DROP FUNCTION seat_claims_event();
DROP TABLE seat_log;
DROP TABLE seat_events;
DROP SEQUENCE seat_event_pos;
DROP TABLE seat_feed;
