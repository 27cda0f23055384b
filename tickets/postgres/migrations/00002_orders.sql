-- Orders, payments, tickets, refunds and idempotency keys (Tickets II). Nothing here is ever
-- deleted; an idempotency key older than tickets.KeyRetention may be overwritten in place by a
-- new request with the same key.

-- +goose Up
CREATE TABLE orders (
	id               text COLLATE "C" PRIMARY KEY,
	user_id          text COLLATE "C" NOT NULL,
	session_id       text COLLATE "C" NOT NULL,
	hold_id          text COLLATE "C" NOT NULL REFERENCES holds (id),
	screening_id     text COLLATE "C" NOT NULL REFERENCES screenings (id),
	seat_ids         text[] NOT NULL, -- sorted: the hold's seats
	amount           bigint NOT NULL,
	currency         text NOT NULL,
	status           text NOT NULL CHECK (status IN
		('pending', 'confirmed', 'declined', 'expired', 'refunded', 'cancelled')),
	late_payment     text NOT NULL DEFAULT '' CHECK (late_payment IN ('', 'reclaimed', 'refunded')),
	payment_deadline timestamptz NOT NULL,
	created_at       timestamptz NOT NULL,
	updated_at       timestamptz NOT NULL
);
-- A hold is bought at most once: one order at a time may be paying for it or own its seats.
CREATE UNIQUE INDEX orders_live_hold ON orders (hold_id) WHERE status IN ('pending', 'confirmed');
CREATE INDEX orders_user ON orders (user_id, created_at DESC, id DESC);
CREATE INDEX orders_screening ON orders (screening_id) WHERE status = 'confirmed';
CREATE INDEX orders_pending ON orders (payment_deadline) WHERE status = 'pending';

CREATE TABLE payments (
	id           text COLLATE "C" PRIMARY KEY,
	order_id     text COLLATE "C" NOT NULL UNIQUE REFERENCES orders (id),
	method       text NOT NULL,
	token        text NOT NULL,
	status       text NOT NULL CHECK (status IN ('pending', 'succeeded', 'declined', 'cancelled')),
	provider_ref text NOT NULL DEFAULT '',
	created_at   timestamptz NOT NULL,
	updated_at   timestamptz NOT NULL
);

CREATE TABLE tickets (
	id           text COLLATE "C" PRIMARY KEY,
	order_id     text COLLATE "C" NOT NULL REFERENCES orders (id),
	screening_id text COLLATE "C" NOT NULL,
	seat_id      text COLLATE "C" NOT NULL,
	code         text NOT NULL UNIQUE,
	status       text NOT NULL CHECK (status IN ('valid', 'void')),
	created_at   timestamptz NOT NULL,
	updated_at   timestamptz NOT NULL
);
CREATE INDEX tickets_order ON tickets (order_id, seat_id);
-- A seat has at most one valid ticket per screening: the last net under the claims.
CREATE UNIQUE INDEX tickets_valid_seat ON tickets (screening_id, seat_id) WHERE status = 'valid';

CREATE TABLE refunds (
	id           text COLLATE "C" PRIMARY KEY, -- 'refund_' || order_id
	order_id     text COLLATE "C" NOT NULL UNIQUE REFERENCES orders (id),
	screening_id text COLLATE "C" NOT NULL,
	payment_id   text COLLATE "C" NOT NULL REFERENCES payments (id),
	method       text NOT NULL,
	amount       bigint NOT NULL,
	currency     text NOT NULL,
	reason       text NOT NULL CHECK (reason IN ('customer_cancelled', 'screening_cancelled', 'late_payment')),
	status       text NOT NULL CHECK (status IN ('pending', 'succeeded')),
	provider_ref text NOT NULL DEFAULT '',
	created_at   timestamptz NOT NULL,
	completed_at timestamptz
);
CREATE INDEX refunds_screening ON refunds (screening_id, created_at, id);
CREATE INDEX refunds_pending ON refunds (created_at) WHERE status = 'pending';

-- The answer to a request with an Idempotency-Key, stored in the transactions that make the
-- order: 'in_flight' (lease_until says until when the request owns it) then 'completed' with
-- the reply, byte for byte.
CREATE TABLE idempotency_keys (
	user_id            text COLLATE "C" NOT NULL,
	key                text COLLATE "C" NOT NULL,
	fingerprint        bytea NOT NULL,
	status             text NOT NULL CHECK (status IN ('in_flight', 'completed')),
	lease_until        timestamptz NOT NULL,
	order_id           text COLLATE "C" NOT NULL REFERENCES orders (id),
	reply_status       integer,
	reply_content_type text,
	reply_location     text,
	reply_body         bytea,
	created_at         timestamptz NOT NULL,
	completed_at       timestamptz,
	PRIMARY KEY (user_id, key),
	CHECK ((status = 'completed') = (reply_status IS NOT NULL))
);
CREATE INDEX idempotency_keys_order ON idempotency_keys (order_id);
CREATE INDEX idempotency_keys_stalled ON idempotency_keys (lease_until) WHERE status = 'in_flight';

-- begin_order is tickets.OrderStore.BeginOrder in one statement (its own transaction). Requests
-- with one key take turns on an advisory lock (1939), orders for one hold on the hold's row.
-- outcome: 'new' | 'replay' | 'reused' | 'in_flight' | 'taken_over' | 'not_found' |
-- 'order_exists' | 'hold_expired'. Refusals return before writing anything.
-- +goose StatementBegin
CREATE FUNCTION begin_order(p_user text, p_key text, p_fingerprint bytea, p_lease interval,
	p_retention interval, p_order text, p_session text, p_hold text, p_payment text, p_method text,
	p_token text)
RETURNS TABLE (outcome text, order_id text, retry_after interval, reply_status integer,
	reply_content_type text, reply_location text, reply_body bytea, screening_id text,
	seat_ids text[], amount bigint, currency text, payment_deadline timestamptz,
	created_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
	k idempotency_keys%ROWTYPE;
	h holds%ROWTYPE;
	v_live text;
BEGIN
	PERFORM pg_advisory_xact_lock(1939, hashtext(p_user || '/' || p_key));
	-- Locked, so that a finish_order completing the key commits before we read its status.
	SELECT * INTO k FROM idempotency_keys ik WHERE ik.user_id = p_user AND ik.key = p_key FOR UPDATE;
	IF FOUND AND k.created_at >= now() - p_retention THEN
		order_id := k.order_id;
		IF k.fingerprint <> p_fingerprint THEN
			outcome := 'reused';
		ELSIF k.status = 'completed' THEN
			outcome := 'replay';
			reply_status := k.reply_status; reply_content_type := k.reply_content_type;
			reply_location := k.reply_location; reply_body := k.reply_body;
		ELSIF k.lease_until > now() THEN
			outcome := 'in_flight';
			retry_after := k.lease_until - now();
		ELSE
			outcome := 'taken_over';
			UPDATE idempotency_keys ik SET lease_until = now() + p_lease
			WHERE ik.user_id = p_user AND ik.key = p_key AND ik.status = 'in_flight';
		END IF;
		RETURN NEXT;
		RETURN;
	END IF;

	SELECT * INTO h FROM holds WHERE id = p_hold FOR UPDATE;
	IF NOT FOUND OR h.user_id <> p_user THEN
		outcome := 'not_found';
		RETURN NEXT;
		RETURN;
	END IF;
	SELECT o.id INTO v_live FROM orders o
	WHERE o.hold_id = p_hold AND o.status IN ('pending', 'confirmed') LIMIT 1;
	IF FOUND THEN
		outcome := 'order_exists';
		order_id := v_live;
		RETURN NEXT;
		RETURN;
	END IF;
	IF h.status <> 'active' OR h.expires_at <= now() THEN
		outcome := 'hold_expired';
		RETURN NEXT;
		RETURN;
	END IF;

	INSERT INTO orders (id, user_id, session_id, hold_id, screening_id, seat_ids, amount, currency,
		status, payment_deadline, created_at, updated_at)
	VALUES (p_order, p_user, p_session, p_hold, h.screening_id, h.seat_ids, h.amount, h.currency,
		'pending', h.expires_at, now(), now());
	INSERT INTO payments (id, order_id, method, token, status, created_at, updated_at)
	VALUES (p_payment, p_order, p_method, p_token, 'pending', now(), now());
	INSERT INTO idempotency_keys AS ik (user_id, key, fingerprint, status, lease_until, order_id,
		created_at)
	VALUES (p_user, p_key, p_fingerprint, 'in_flight', now() + p_lease, p_order, now())
	ON CONFLICT (user_id, key) DO UPDATE SET fingerprint = excluded.fingerprint, status = 'in_flight',
		lease_until = excluded.lease_until, order_id = excluded.order_id, reply_status = NULL,
		reply_content_type = NULL, reply_location = NULL, reply_body = NULL,
		created_at = excluded.created_at, completed_at = NULL; -- a key past retention, reused
	outcome := 'new';
	order_id := p_order;
	screening_id := h.screening_id;
	seat_ids := h.seat_ids;
	amount := h.amount;
	currency := h.currency;
	payment_deadline := h.expires_at;
	created_at := now();
	RETURN NEXT;
END
$$;
-- +goose StatementEnd

-- finish_order records a payment's outcome for an order (tickets.FinishOrderTx) inside the
-- caller's transaction; the caller then reads the order back and completes its key. Seats are
-- locked in sorted order; a sale that cannot take every seat is undone (a subtransaction) and
-- the order refunded instead. It raises BX002 when the order does not exist.
-- +goose StatementBegin
CREATE FUNCTION finish_order(p_order text, p_status text, p_ref text, p_ticket_ids text[],
	p_ticket_seats text[], p_codes text[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	o orders%ROWTYPE;
	pay payments%ROWTYPE;
	h holds%ROWTYPE;
	v_screening text;
	v_scr_status text;
	v_started boolean;
	v_in_time boolean;
	v_sold boolean := false;
	v_n integer;
BEGIN
	-- Locks: the screening (shared, against a cancellation), the order, its payment, its hold,
	-- then the order's seats in sorted order. A hold replacing another locks its new seats, then
	-- the old ones, so a deadlock with it is possible (rare: the late order's seats must overlap
	-- both); PostgreSQL then aborts one side and the store runs it again.
	SELECT x.screening_id INTO v_screening FROM orders x WHERE x.id = p_order;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'order % not found', p_order USING ERRCODE = 'BX002';
	END IF;
	PERFORM pg_advisory_xact_lock_shared(1937, hashtext(v_screening));
	SELECT * INTO o FROM orders WHERE id = p_order FOR UPDATE;
	SELECT * INTO pay FROM payments WHERE order_id = p_order FOR UPDATE;
	IF p_status = '' THEN
		RETURN;
	ELSIF p_status = 'pending' THEN
		UPDATE payments SET provider_ref = coalesce(nullif(p_ref, ''), provider_ref), updated_at = now()
		WHERE id = pay.id AND status = 'pending';
		RETURN;
	ELSIF p_status IN ('declined', 'cancelled') THEN
		IF o.status = 'pending' THEN
			UPDATE payments SET status = p_status, provider_ref = coalesce(nullif(p_ref, ''), provider_ref),
				updated_at = now() WHERE id = pay.id;
			UPDATE orders SET status = CASE p_status WHEN 'declined' THEN 'declined' ELSE 'expired' END,
				updated_at = now() WHERE id = p_order;
		END IF;
		RETURN;
	ELSIF p_status <> 'succeeded' OR pay.status = 'succeeded' THEN
		RETURN; -- money already recorded: nothing more to do
	END IF;

	-- One ticket per seat of the order, or nothing is recorded: money never goes without tickets.
	IF cardinality(p_ticket_ids) <> cardinality(o.seat_ids) OR cardinality(p_codes) <> cardinality(o.seat_ids)
		OR ARRAY(SELECT x FROM unnest(p_ticket_seats) AS x ORDER BY x COLLATE "C") <> o.seat_ids THEN
		RAISE EXCEPTION 'order %: the tickets do not match its seats', p_order USING ERRCODE = '22023';
	END IF;
	UPDATE payments SET status = 'succeeded', provider_ref = coalesce(nullif(p_ref, ''), provider_ref),
		updated_at = now() WHERE id = pay.id;
	SELECT s.status, s.starts_at <= now() INTO v_scr_status, v_started FROM screenings s
	WHERE s.id = o.screening_id;
	SELECT * INTO h FROM holds WHERE id = o.hold_id FOR UPDATE;
	v_in_time := h.status = 'active' AND h.expires_at > now();
	IF v_scr_status = 'scheduled' AND (v_in_time OR NOT v_started) AND NOT EXISTS (
		SELECT 1 FROM orders x WHERE x.hold_id = o.hold_id AND x.id <> o.id
			AND x.status IN ('pending', 'confirmed')) THEN
		BEGIN
			WITH locked AS (
				SELECT c.seat_id FROM seat_claims c
				WHERE c.screening_id = o.screening_id AND c.seat_id = ANY (o.seat_ids)
				ORDER BY c.seat_id FOR UPDATE
			), sold AS (
				UPDATE seat_claims c SET state = 'sold', hold_id = o.hold_id, order_id = o.id,
					expires_at = NULL, version = nextval('claim_version'), updated_at = now()
				FROM locked
				WHERE c.screening_id = o.screening_id AND c.seat_id = locked.seat_id
					AND (c.state = 'free' OR (c.state = 'held' AND (c.hold_id = o.hold_id OR c.expires_at <= now())))
				RETURNING 1
			)
			SELECT count(*) INTO v_n FROM sold;
			IF v_n < cardinality(o.seat_ids) THEN
				RAISE EXCEPTION USING ERRCODE = 'BX001';
			END IF;
			v_sold := true;
		EXCEPTION WHEN SQLSTATE 'BX001' THEN
			v_sold := false; -- the sale is undone; the order is refunded below
		END;
	END IF;

	IF h.status = 'active' THEN
		UPDATE holds SET status = CASE WHEN v_in_time AND v_sold THEN 'confirmed' ELSE 'expired' END,
			ended_at = CASE WHEN v_in_time THEN now() ELSE h.expires_at END
		WHERE id = h.id AND (v_sold OR NOT v_in_time);
	END IF;
	IF v_sold THEN
		UPDATE orders SET status = 'confirmed', late_payment = CASE WHEN v_in_time THEN '' ELSE 'reclaimed' END,
			updated_at = now() WHERE id = o.id;
		INSERT INTO tickets (id, order_id, screening_id, seat_id, code, status, created_at, updated_at)
		SELECT t.id, o.id, o.screening_id, t.seat_id, t.code, 'valid', now(), now()
		FROM unnest(p_ticket_ids, p_ticket_seats, p_codes) AS t(id, seat_id, code);
	ELSE
		UPDATE orders SET status = 'refunded', late_payment = 'refunded', updated_at = now() WHERE id = o.id;
		INSERT INTO refunds (id, order_id, screening_id, payment_id, method, amount, currency, reason,
			status, created_at)
		VALUES ('refund_' || o.id, o.id, o.screening_id, pay.id, pay.method, o.amount, o.currency,
			'late_payment', 'pending', now());
	END IF;
END
$$;
-- +goose StatementEnd

-- cancel_refund cancels a confirmed order in the caller's transaction: the order, its tickets
-- and seats, and a pending refund for the given reason.
-- +goose StatementBegin
CREATE FUNCTION cancel_refund(p_order text, p_reason text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	UPDATE orders SET status = 'cancelled', updated_at = now() WHERE id = p_order AND status = 'confirmed';
	UPDATE tickets SET status = 'void', updated_at = now() WHERE order_id = p_order AND status = 'valid';
	UPDATE seat_claims c SET state = 'free', hold_id = NULL, order_id = NULL, expires_at = NULL,
		version = nextval('claim_version'), updated_at = now()
	FROM (SELECT x.screening_id, x.seat_id FROM seat_claims x JOIN orders o ON o.id = p_order
		WHERE x.screening_id = o.screening_id AND x.seat_id = ANY (o.seat_ids) AND x.order_id = p_order
		ORDER BY x.seat_id FOR UPDATE OF x) l
	WHERE c.screening_id = l.screening_id AND c.seat_id = l.seat_id AND c.order_id = p_order;
	INSERT INTO refunds (id, order_id, screening_id, payment_id, method, amount, currency, reason,
		status, created_at)
	SELECT 'refund_' || o.id, o.id, o.screening_id, p.id, p.method, o.amount, o.currency, p_reason,
		'pending', now()
	FROM orders o JOIN payments p ON p.order_id = o.id WHERE o.id = p_order
	ON CONFLICT (id) DO NOTHING;
END
$$;
-- +goose StatementEnd

-- cancel_order is tickets.OrderStore.CancelOrder in the caller's transaction. It returns 'ok',
-- 'not_found', 'already' (cancelled before), 'not_cancellable' or 'closed'.
-- +goose StatementBegin
CREATE FUNCTION cancel_order(p_order text, p_user text, p_starts_after timestamptz)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	v_screening text;
	v_status text;
	v_user text;
	v_starts timestamptz;
BEGIN
	SELECT x.screening_id INTO v_screening FROM orders x WHERE x.id = p_order;
	IF NOT FOUND THEN
		RETURN 'not_found';
	END IF;
	PERFORM pg_advisory_xact_lock_shared(1937, hashtext(v_screening));
	SELECT o.status, o.user_id, s.starts_at INTO v_status, v_user, v_starts
	FROM orders o JOIN screenings s ON s.id = o.screening_id WHERE o.id = p_order FOR UPDATE OF o;
	IF v_user <> p_user THEN
		RETURN 'not_found';
	ELSIF v_status = 'cancelled' THEN
		RETURN 'already';
	ELSIF v_status <> 'confirmed' THEN
		RETURN 'not_cancellable';
	ELSIF v_starts <= p_starts_after THEN
		RETURN 'closed';
	END IF;
	PERFORM cancel_refund(p_order, 'customer_cancelled');
	RETURN 'ok';
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION cancel_order(text, text, timestamptz);
DROP FUNCTION cancel_refund(text, text);
DROP FUNCTION finish_order(text, text, text, text[], text[], text[]);
DROP FUNCTION begin_order(text, text, bytea, interval, interval, text, text, text, text, text, text);
DROP TABLE idempotency_keys;
DROP TABLE refunds;
DROP TABLE tickets;
DROP TABLE payments;
DROP TABLE orders;
