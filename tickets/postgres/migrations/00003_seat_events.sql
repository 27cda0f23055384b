-- Seat events (live seat maps): an outbox of seat changes written by triggers on seat_claims in
-- the same transaction as each change, numbered afterwards, one screening version at a time,
-- by one sequencer (sequence_seat_events).

-- +goose Up
-- Each screening's availability version: the version of its last sequenced event.
CREATE TABLE seat_feed (
	screening_id text COLLATE "C" PRIMARY KEY REFERENCES screenings (id),
	version      bigint NOT NULL
);

-- seat_event_pos orders events: a transaction's event takes a value after each of its statements
-- that change the screening's claims, so after it has locked every claim row it changed. A
-- transaction that changes a claim row another one changed waited for that one to commit before
-- it could lock the row, so its position is higher: sorting events by position sorts the changes
-- of every seat in commit order, which is all a seat map needs (changes of different seats
-- commute). Claim transactions take no lock beyond their claim rows for this.
CREATE SEQUENCE seat_event_pos AS bigint;

-- One row per transaction and screening: the new status of each seat it changed (a JSON object
-- seat ID → 'available', 'held', 'sold' or 'blocked'). version is NULL until the sequencer
-- numbers the event (1, 2, 3, … per screening, in position order); published records that the
-- publisher sent it. Rows are pruned after a retention period, oldest versions first, so that
-- what is left of a screening's events is a run without gaps.
CREATE TABLE seat_events (
	xact         xid8 NOT NULL,
	screening_id text COLLATE "C" NOT NULL,
	pos          bigint NOT NULL,
	version      bigint,
	seats        jsonb NOT NULL,
	at           timestamptz NOT NULL DEFAULT now(),
	published    boolean NOT NULL DEFAULT false,
	PRIMARY KEY (xact, screening_id)
);
CREATE UNIQUE INDEX seat_events_version ON seat_events (screening_id, version);
CREATE INDEX seat_events_unsequenced ON seat_events (pos) WHERE version IS NULL;
CREATE INDEX seat_events_unpublished ON seat_events (screening_id, version)
	WHERE version IS NOT NULL AND NOT published;
CREATE INDEX seat_events_at ON seat_events (at);

-- The version of a screening used to be the sum of its claim rows' versions: start from there so
-- that versions (and seat map ETags) keep growing across the upgrade.
INSERT INTO seat_feed (screening_id, version)
SELECT screening_id, sum(version)::bigint FROM seat_claims GROUP BY screening_id;

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

-- sequence_seat_events numbers up to p_limit committed events that have no version yet, in
-- position order, each screening's from its seat_feed version + 1, and returns how many. One
-- sequencer at a time (advisory lock 1940, namespace of its own: 1937 holds screenings, 1939
-- idempotency keys); a call made while another holds it returns 0. An event another transaction
-- has not committed yet is not visible and is numbered by a later call: it touches none of the
-- seats of the events numbered before it that it would have to follow (see seat_event_pos).
-- +goose StatementBegin
CREATE FUNCTION sequence_seat_events(p_limit integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
	v_n integer;
BEGIN
	IF NOT pg_try_advisory_xact_lock(1940, 0) THEN
		RETURN 0;
	END IF;
	WITH batch AS (
		SELECT e.xact, e.screening_id,
			row_number() OVER (PARTITION BY e.screening_id ORDER BY e.pos) AS rn
		FROM (SELECT xact, screening_id, pos FROM seat_events WHERE version IS NULL
			ORDER BY pos LIMIT p_limit) e
	), counts AS (
		SELECT b.screening_id, count(*) AS n FROM batch b GROUP BY b.screening_id
	), bumped AS (
		INSERT INTO seat_feed AS f (screening_id, version)
		SELECT c.screening_id, c.n FROM counts c ORDER BY c.screening_id
		ON CONFLICT (screening_id) DO UPDATE SET version = f.version + excluded.version
		RETURNING f.screening_id, f.version AS top
	), numbered AS (
		UPDATE seat_events e SET version = k.top - c.n + b.rn
		FROM batch b JOIN counts c ON c.screening_id = b.screening_id
			JOIN bumped k ON k.screening_id = b.screening_id
		WHERE e.xact = b.xact AND e.screening_id = b.screening_id
		RETURNING 1
	)
	SELECT count(*) INTO v_n FROM numbered;
	RETURN v_n;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION sequence_seat_events(integer);
DROP TRIGGER seat_claims_updated ON seat_claims;
DROP TRIGGER seat_claims_inserted ON seat_claims;
DROP FUNCTION seat_claims_event();
DROP TABLE seat_events;
DROP SEQUENCE seat_event_pos;
DROP TABLE seat_feed;
