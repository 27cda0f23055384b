-- Catalogue, screenings, seat claims and holds (Tickets I). Orders, payments, refunds, tickets
-- and idempotency keys (Tickets II) come in a later migration and reference holds and
-- seat_claims.
--
-- Identifiers, names and titles use the "C" collation: lists are ordered by byte, as Go and the
-- SQLite adapter order them, whatever the database's locale.

-- +goose Up
CREATE EXTENSION IF NOT EXISTS btree_gist; -- hall_id WITH = in the screenings exclusion constraint

CREATE TABLE movies (
	id               text COLLATE "C" PRIMARY KEY,
	title            text COLLATE "C" NOT NULL,
	synopsis         text NOT NULL DEFAULT '',
	duration_minutes integer NOT NULL CHECK (duration_minutes >= 0),
	rating           text NOT NULL DEFAULT '',
	genres           text[] NOT NULL DEFAULT '{}',
	created_at       timestamptz NOT NULL DEFAULT now(),
	updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX movies_title_id ON movies (title, id);

CREATE TABLE cinemas (
	id         text COLLATE "C" PRIMARY KEY,
	name       text COLLATE "C" NOT NULL,
	city       text NOT NULL,
	time_zone  text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE halls (
	id               text COLLATE "C" PRIMARY KEY,
	cinema_id        text COLLATE "C" NOT NULL REFERENCES cinemas (id),
	name             text COLLATE "C" NOT NULL,
	cleaning_minutes integer NOT NULL DEFAULT 15 CHECK (cleaning_minutes >= 0),
	created_at       timestamptz NOT NULL DEFAULT now(),
	updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX halls_cinema ON halls (cinema_id, name, id);

-- A hall's layout; replaced whole by PutHall while no screening to come uses the hall.
CREATE TABLE seats (
	hall_id    text COLLATE "C" NOT NULL REFERENCES halls (id),
	id         text COLLATE "C" NOT NULL,
	label      text NOT NULL,
	row_label  text NOT NULL,
	number     integer NOT NULL,
	x          integer NOT NULL,
	y          integer NOT NULL,
	category   text COLLATE "C" NOT NULL,
	accessible boolean NOT NULL DEFAULT false,
	group_id   text COLLATE "C", -- NULL for a seat sold alone
	PRIMARY KEY (hall_id, id)
);

-- busy_until = ends_at + the hall's cleaning time when the screening was created. The
-- exclusion constraint is what refuses overlapping screenings (SQLSTATE 23P01).
CREATE TABLE screenings (
	id           text COLLATE "C" PRIMARY KEY,
	movie_id     text COLLATE "C" NOT NULL REFERENCES movies (id),
	hall_id      text COLLATE "C" NOT NULL REFERENCES halls (id),
	starts_at    timestamptz NOT NULL,
	ends_at      timestamptz NOT NULL,
	busy_until   timestamptz NOT NULL,
	status       text NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled')),
	created_at   timestamptz NOT NULL DEFAULT now(),
	cancelled_at timestamptz,
	CHECK (starts_at < ends_at AND ends_at <= busy_until),
	CONSTRAINT screenings_hall_busy EXCLUDE USING gist
		(hall_id WITH =, tstzrange(starts_at, busy_until) WITH &&) WHERE (status = 'scheduled')
);
CREATE INDEX screenings_starts ON screenings (starts_at, id);
CREATE INDEX screenings_movie ON screenings (movie_id, starts_at, id);
CREATE INDEX screenings_hall ON screenings (hall_id, ends_at);

CREATE TABLE screening_prices (
	screening_id text COLLATE "C" NOT NULL REFERENCES screenings (id),
	category     text COLLATE "C" NOT NULL,
	amount       bigint NOT NULL CHECK (amount >= 0),
	currency     text NOT NULL,
	PRIMARY KEY (screening_id, category)
);

-- Holds are never deleted; status moves from 'active' to how the hold ended. At most one
-- active hold per user and screening.
CREATE TABLE holds (
	id           text COLLATE "C" PRIMARY KEY,
	screening_id text COLLATE "C" NOT NULL REFERENCES screenings (id),
	user_id      text COLLATE "C" NOT NULL,
	session_id   text COLLATE "C" NOT NULL,
	seat_ids     text[] NOT NULL, -- sorted
	status       text NOT NULL CHECK (status IN
		('active', 'released', 'replaced', 'expired', 'revoked', 'cancelled', 'confirmed')),
	amount       bigint NOT NULL,
	currency     text NOT NULL,
	created_at   timestamptz NOT NULL,
	expires_at   timestamptz NOT NULL,
	ended_at     timestamptz,
	CHECK ((status = 'active') = (ended_at IS NULL))
);
CREATE UNIQUE INDEX holds_active_user ON holds (user_id, screening_id) WHERE status = 'active';
CREATE INDEX holds_active_screening ON holds (screening_id) WHERE status = 'active';
CREATE INDEX holds_active_session ON holds (session_id) WHERE status = 'active';
CREATE INDEX holds_active_expiry ON holds (expires_at) WHERE status = 'active';

-- One row per seat ever claimed at a screening, never deleted: a freed seat goes back to
-- 'free'. Every change of a row sets version to a fresh nextval('claim_version'), taken after
-- the row is locked, so a row's version only grows and a screening's availability version
-- (the sum of its rows' versions) grows with every committed change, in commit order. The
-- only index is the primary key, so that claim updates can be HOT.
CREATE SEQUENCE claim_version AS bigint;

CREATE TABLE seat_claims (
	screening_id text COLLATE "C" NOT NULL REFERENCES screenings (id),
	seat_id      text COLLATE "C" NOT NULL,
	state        text NOT NULL CHECK (state IN ('free', 'held', 'sold', 'blocked')),
	hold_id      text COLLATE "C" REFERENCES holds (id),
	order_id     text COLLATE "C",
	expires_at   timestamptz,
	version      bigint NOT NULL,
	updated_at   timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (screening_id, seat_id),
	CHECK (state <> 'held' OR (hold_id IS NOT NULL AND expires_at IS NOT NULL))
) WITH (fillfactor = 70);

-- seats_taken aborts the transaction with SQLSTATE BX001 when some seats could not be claimed,
-- naming them (a JSON array) in the detail: a claim statement can then be followed by COMMIT in
-- the same round trip.
-- +goose StatementBegin
CREATE FUNCTION seats_taken(missing text[]) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	IF cardinality(missing) > 0 THEN
		RAISE EXCEPTION 'seats taken' USING ERRCODE = 'BX001', DETAIL = array_to_json(missing)::text;
	END IF;
	RETURN true;
END
$$;
-- +goose StatementEnd

-- take_hold runs steps 3 to 5 of a hold (tickets.HoldTx) once the caller has locked the
-- screening (FOR KEY SHARE) and the user's previous active hold p_prev ('' for none; FOR
-- UPDATE), and planned the seats p_seats (sorted, distinct): it ends the previous hold
-- ('replaced', or 'expired' past its deadline), stores the new hold, claims its seats in one
-- statement in sorted order, and frees the previous hold's other seats (p_prev_seats). Every
-- changed claim row takes nextval('claim_version') once it is locked.
--
-- When a planned seat cannot be claimed, all of that is undone (a subtransaction) and the seats
-- that were taken come back in out_missing, sorted, without an error: the caller's COMMIT
-- travels in the same round trip, and refused holds leave nothing in the server's log.
-- +goose StatementBegin
CREATE FUNCTION take_hold(p_id text, p_screening text, p_user text, p_session text, p_seats text[],
	p_amount bigint, p_currency text, p_ttl interval, p_prev text, p_prev_seats text[])
RETURNS TABLE (out_missing text[], out_created timestamptz, out_expires timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
	v_expires timestamptz := now() + p_ttl;
	v_claimed text[];
BEGIN
	out_missing := '{}';
	BEGIN
		IF p_prev <> '' THEN
			UPDATE holds h SET status = CASE WHEN h.expires_at <= now() THEN 'expired' ELSE 'replaced' END,
				ended_at = least(h.expires_at, now())
			WHERE h.id = p_prev AND h.status = 'active';
		END IF;
		INSERT INTO holds (id, screening_id, user_id, session_id, seat_ids, status, amount, currency,
			created_at, expires_at)
		VALUES (p_id, p_screening, p_user, p_session, p_seats, 'active', p_amount, p_currency, now(), v_expires);
		WITH claimed AS (
			INSERT INTO seat_claims AS c (screening_id, seat_id, state, hold_id, expires_at, version, updated_at)
			SELECT p_screening, u.seat_id, 'held', p_id, v_expires, nextval('claim_version'), now()
			FROM unnest(p_seats) WITH ORDINALITY AS u(seat_id, n) ORDER BY u.n
			ON CONFLICT (screening_id, seat_id) DO UPDATE SET state = 'held', hold_id = excluded.hold_id,
				order_id = NULL, expires_at = excluded.expires_at, version = nextval('claim_version'),
				updated_at = excluded.updated_at
			WHERE c.state = 'free' OR (c.state = 'held' AND (c.expires_at <= now() OR c.hold_id = p_prev))
			RETURNING c.seat_id
		)
		SELECT array_agg(claimed.seat_id) INTO v_claimed FROM claimed;
		out_missing := ARRAY(SELECT s FROM unnest(p_seats) AS s
			EXCEPT SELECT s FROM unnest(v_claimed) AS s ORDER BY 1);
		IF cardinality(out_missing) > 0 THEN
			RAISE EXCEPTION USING ERRCODE = 'BX001';
		END IF;
		IF p_prev <> '' THEN
			UPDATE seat_claims c SET state = 'free', hold_id = NULL, expires_at = NULL,
				version = nextval('claim_version'), updated_at = now()
			WHERE c.screening_id = p_screening AND c.seat_id = ANY (p_prev_seats) AND c.hold_id = p_prev
				AND c.state = 'held';
		END IF;
	EXCEPTION WHEN SQLSTATE 'BX001' THEN
		RETURN NEXT; -- out_missing names the seats; everything in the block is undone
		RETURN;
	END;
	out_created := now();
	out_expires := v_expires;
	RETURN NEXT;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION take_hold(text, text, text, text, text[], bigint, text, interval, text, text[]);
DROP FUNCTION seats_taken(text[]);
DROP TABLE seat_claims;
DROP SEQUENCE claim_version;
DROP TABLE holds;
DROP TABLE screening_prices;
DROP TABLE screenings;
DROP TABLE seats;
DROP TABLE halls;
DROP TABLE cinemas;
DROP TABLE movies;
