package tests

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"boxoffice/session/sessiontest"
	"boxoffice/tickets/testpay"
)

// The end-to-end tests of orders (Tickets II): the ticketing deployment of
// tickets_harness_test.go (real instances, one throwaway PostgreSQL database, one Redis), with
// the built-in test payment provider and a webhook secret the tests sign with
// (testpay.Sign), usually behind the reference nginx. Every exchange is validated against
// openapi.yaml (client.do, oxSend). The helpers here are prefixed ox.

// oxWebhookSecret signs the test provider's webhooks in every order deployment.
const oxWebhookSecret = "whsec-e2e-0123456789abcdef0123456789abcdef"

// oxLease is the idempotency lease of the order deployments, and oxRequestTimeout their
// request deadline (the lease must exceed it). A duplicate that arrives while the first
// request runs is told to come back after what is left of the lease: short enough that the
// tests honouring Retry-After do not wait long, long enough for a slow machine.
const (
	oxRequestTimeout = "10s"
	oxLease          = "12s"
	oxLeaseSeconds   = 12
)

// oxSettings is the environment of order deployments, overridden by extra.
func oxSettings(extra map[string]string) map[string]string {
	env := map[string]string{
		"BOXOFFICE_TEST_PAYMENTS":          "true",
		"BOXOFFICE_PAYMENT_WEBHOOK_SECRET": oxWebhookSecret,
		"BOXOFFICE_REQUEST_TIMEOUT":        oxRequestTimeout,
		"BOXOFFICE_IDEMPOTENCY_LEASE":      oxLease,
		"BOXOFFICE_TRUSTED_PROXIES":        "127.0.0.1",
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// oxSQLBug is what an instance logs when PostgreSQL refused a statement as malformed (SQLSTATE
// class 42: syntax error or access rule violation, e.g. an operator that does not exist): never
// transient, always a bug, even in a background round (the janitor's) that answers no request.
const oxSQLBug = "(SQLSTATE 42"

// oxEnv is an order deployment: the ticketing deployment, the environment its instances were
// started with (to start more of them: oxEnv.extra) and, when behind nginx, the load balancer.
type oxEnv struct {
	*ticketEnv
	env   map[string]string // the instances' environment, DATABASE_URL included
	nginx *nginx            // nil without
	lb    viaNginx          // nginx, when there is one
}

// oxDeployment starts n instances with oxSettings(extra) over a fresh database and Redis,
// with the catalogue; withNginx puts the reference nginx in front of them (the test is skipped
// without nginx, except in CI).
func oxDeployment(t *testing.T, n int, withNginx bool, extra map[string]string) *oxEnv {
	t.Helper()
	if withNginx {
		sessiontest.RequireBinary(t, "nginx", "Debian package nginx") // before starting anything
	}
	o := oxDeploymentOn(t, n, nil, extra)
	if withNginx {
		var addrs []string
		for _, p := range o.d.procs {
			addrs = append(addrs, strings.TrimPrefix(p.base, "http://"))
		}
		o.nginx = startNginx(t, addrs)
		o.lb = viaNginx{o.nginx.base}
	}
	return o
}

// oxDeploymentOn is oxDeployment without nginx, over the Redis r the test started itself (nil:
// a fresh one).
func oxDeploymentOn(t *testing.T, n int, r *sessiontest.Redis, extra map[string]string) *oxEnv {
	t.Helper()
	env := oxSettings(extra)
	var dbURL string
	e := ticketDeploymentWith(t, n, env, func(u string) string { dbURL = u; return u }, r)
	full := map[string]string{"DATABASE_URL": dbURL, "BOXOFFICE_DEMO_DATA": "false",
		"BOXOFFICE_REGISTER_MAX_PER_IP": "0", "BOXOFFICE_LOGIN_MAX_PER_IP": "100000"}
	for k, v := range env {
		full[k] = v
	}
	o := &oxEnv{ticketEnv: e, env: full}
	t.Cleanup(func() { e.d.checkLogs(t, oxSQLBug) })
	return o
}

// extra starts n more instances over the same database and Redis, with the deployment's
// environment overridden by env; they are stopped (and their logs checked) when the test ends.
func (o *oxEnv) extra(t *testing.T, n int, env map[string]string) *deployment {
	t.Helper()
	full := map[string]string{}
	for k, v := range o.env {
		full[k] = v
	}
	for k, v := range env {
		full[k] = v
	}
	d := deploy(t, n, o.redis.URL(), full)
	t.Cleanup(func() {
		d.checkLogs(t, "DATA RACE", "panic:", "fatal error", oxSQLBug)
		if t.Failed() {
			d.dumpLogs(os.Stderr)
		}
	})
	return d
}

// oxOrder is an order as the API returns it.
type oxOrder struct {
	ID          string   `json:"id"`
	Status      string   `json:"status"`
	ScreeningID string   `json:"screening_id"`
	HoldID      string   `json:"hold_id"`
	SeatIDs     []string `json:"seat_ids"`
	Total       struct {
		Amount   int64  `json:"amount"`
		Currency string `json:"currency"`
	} `json:"total"`
	LatePayment *string `json:"late_payment"`
	Payment     struct {
		ID     string `json:"id"`
		Method string `json:"method"`
		Status string `json:"status"`
	} `json:"payment"`
	PaymentDeadline time.Time `json:"payment_deadline"`
	Tickets         []struct {
		ID     string `json:"id"`
		SeatID string `json:"seat_id"`
		Code   string `json:"code"`
		Status string `json:"status"`
	} `json:"tickets"`
	Refund *struct {
		ID     string `json:"id"`
		Amount struct {
			Amount   int64  `json:"amount"`
			Currency string `json:"currency"`
		} `json:"amount"`
		Reason      string     `json:"reason"`
		Status      string     `json:"status"`
		CreatedAt   time.Time  `json:"created_at"`
		CompletedAt *time.Time `json:"completed_at"`
	} `json:"refund"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// late returns late_payment, "" for null.
func (o oxOrder) late() string {
	if o.LatePayment == nil {
		return ""
	}
	return *o.LatePayment
}

// ticketSeats returns the seats of the order's tickets with the status, sorted.
func (o oxOrder) ticketSeats(status string) []string {
	var out []string
	for _, k := range o.Tickets {
		if k.Status == status {
			out = append(out, k.SeatID)
		}
	}
	slices.Sort(out)
	return out
}

// oxRefundReport is GET /v1/admin/screenings/{id}/refunds.
type oxRefundReport struct {
	ScreeningID string `json:"screening_id"`
	Refunds     []struct {
		ID      string `json:"id"`
		OrderID string `json:"order_id"`
		Amount  struct {
			Amount   int64  `json:"amount"`
			Currency string `json:"currency"`
		} `json:"amount"`
		Reason string `json:"reason"`
		Status string `json:"status"`
	} `json:"refunds"`
	Total struct {
		Amount   int64  `json:"amount"`
		Currency string `json:"currency"`
	} `json:"total"`
	Pending int `json:"pending"`
}

// oxKey returns a fresh idempotency key (a bare token, as most clients send it).
func oxKey() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "key-" + hex.EncodeToString(b[:])
}

// oxBody is the body of POST /v1/orders.
func oxBody(holdID, token string) map[string]any {
	return map[string]any{"hold_id": holdID, "payment": map[string]any{"method": "test", "token": token}}
}

// place sends POST /v1/orders through c with an Idempotency-Key (none when key is "").
func oxPlace(t *testing.T, c *client, token, key, holdID, payToken string) reply {
	t.Helper()
	var h []string
	if key != "" {
		h = []string{"Idempotency-Key", key}
	}
	return c.do(t, "POST", "/v1/orders", token, oxBody(holdID, payToken), h...)
}

// oxCreated checks a 201 order reply (its Location, its hold, status) and returns the order.
func oxCreated(t *testing.T, r reply, holdID, status string) oxOrder {
	t.Helper()
	expect(t, r, 201, "")
	var o oxOrder
	r.decode(t, &o)
	if loc := r.header.Get("Location"); loc != "/v1/orders/"+o.ID {
		t.Fatalf("201 order with Location %q, want /v1/orders/%s", loc, o.ID)
	}
	if o.HoldID != holdID || o.Status != status || o.Payment.Method != "test" {
		t.Fatalf("order for hold %s, want status %s: %s", holdID, status, r.body)
	}
	return o
}

// oxMustOrder holds the seats through c and pays for the hold with payToken under a fresh key;
// it returns the hold and the order, which must have status. With a short hold TTL, a machine
// too slow to order before the hold expires (410 hold_expired) tries again with a new hold,
// a few times.
func oxMustOrder(t *testing.T, c *client, token, screening, payToken, status string, seats ...string) (tkHold, oxOrder) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		h := mustHold(t, c, token, screening, seats...)
		r := oxPlace(t, c, token, oxKey(), h.ID, payToken)
		if r.status == 410 && attempt < 5 {
			expect(t, r, 410, "hold_expired")
			t.Logf("attempt %d: the hold of %v expired before its order (a slow machine); holding again", attempt, seats)
			continue
		}
		o := oxCreated(t, r, h.ID, status)
		if !slices.Equal(o.SeatIDs, sortedCopy(seats)) || o.ScreeningID != screening || o.Total != h.Total {
			t.Fatalf("order of hold %s (%v, total %+v): %s", h.ID, h.SeatIDs, h.Total, r.body)
		}
		if !o.PaymentDeadline.Equal(h.ExpiresAt) {
			t.Fatalf("order's payment_deadline %s, want the hold's deadline %s", o.PaymentDeadline, h.ExpiresAt)
		}
		return h, o
	}
}

// oxGet reads an order through c.
func oxGet(t *testing.T, c *client, token, id string) oxOrder {
	t.Helper()
	r := c.do(t, "GET", "/v1/orders/"+id, token, nil)
	expect(t, r, 200, "")
	var o oxOrder
	r.decode(t, &o)
	if o.ID != id {
		t.Fatalf("GET /v1/orders/%s: %s", id, r.body)
	}
	return o
}

// oxAwaitOrder polls an order until cond holds (bounded by the guard) and returns it.
func oxAwaitOrder(t *testing.T, c *client, token, id, what string, cond func(oxOrder) bool) oxOrder {
	t.Helper()
	deadline := time.Now().Add(guard)
	for {
		o := oxGet(t, c, token, id)
		if cond(o) {
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %s is not %s after %s: status %s, payment %s, late %q", id, what, guard, o.Status, o.Payment.Status, o.late())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// oxAwaitHoldEnded polls a hold through c until it is no longer active (bounded by the guard)
// and returns it.
func oxAwaitHoldEnded(t *testing.T, c *client, token, id string) tkHold {
	t.Helper()
	deadline := time.Now().Add(guard)
	for {
		h := getHold(t, c, token, id)
		if h.Status != "active" {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatalf("hold %s still active after %s (expires_at %s)", id, guard, h.ExpiresAt)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// oxWebhook sends the test provider's signed webhook for a payment through c ("payment.succeeded"
// or "payment.declined"), signed now with secret.
func oxWebhook(t *testing.T, c *client, secret, eventID, eventType, paymentID string) reply {
	t.Helper()
	body := testpay.EventBody(eventID, eventType, paymentID)
	sig := testpay.Sign([]byte(secret), body, time.Now())
	return c.do(t, "POST", "/v1/payments/webhook", "", string(body), testpay.SignatureHeader, sig)
}

// oxWebhookAck is the webhook's answer.
type oxWebhookAck struct {
	Received    bool   `json:"received"`
	OrderID     string `json:"order_id"`
	OrderStatus string `json:"order_status"`
}

// oxSend is client.exchange with request headers and a raw JSON body (nil: none), for other
// goroutines: validated against openapi.yaml the same way (a violation is reported with
// t.Errorf), a transport error returned. ctx may cancel it.
func (c *client) oxSend(ctx context.Context, t *testing.T, hc *http.Client, method, path, token string, raw []byte, headers ...string) (reply, error) {
	var rd io.Reader
	if raw != nil {
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return reply{}, err
	}
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := hc.Do(req)
	if err != nil {
		return reply{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, fmt.Errorf("%s %s: reading the body: %w", method, path, err)
	}
	if err := spec.check(req, raw, resp, b); err != nil {
		t.Errorf("contract: %v", err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// oxRetried is the end of oxRetry: the final answer, and the answers it retried after.
type oxRetried struct {
	final       reply
	inFlight    int // 409 idempotency_key_in_flight answers
	unavailable int // 503 answers
	attempts    int
	waited      time.Duration // the Retry-After times honoured, summed
}

// oxRetry sends POST /v1/orders with the key and body as a client that honours Retry-After
// would: attempt n goes through via(n); a 409 idempotency_key_in_flight or a 503 (both with
// Retry-After) is retried after the time it says, at most max attempts in all. Any other answer
// is final. A transport error is returned.
func oxRetry(t *testing.T, hc *http.Client, via func(n int) *client, token, key string, body []byte, max int) (oxRetried, error) {
	var out oxRetried
	for n := 1; ; n++ {
		out.attempts = n
		r, err := via(n).oxSend(context.Background(), t, hc, "POST", "/v1/orders", token, body, "Idempotency-Key", key)
		if err != nil {
			return out, err
		}
		inFlight := r.status == 409 && r.code() == "idempotency_key_in_flight"
		if (!inFlight && r.status != 503) || n == max {
			out.final = r
			return out, nil
		}
		wait, err := oxRetryAfter(r)
		if err != nil {
			return out, err
		}
		if inFlight {
			out.inFlight++
		} else {
			out.unavailable++
		}
		out.waited += wait
		time.Sleep(wait)
	}
}

// oxRetryAfter reads the Retry-After of a 409 idempotency_key_in_flight or a 503 (whole
// seconds): it must be there, at least 1, and no more than the lease.
func oxRetryAfter(r reply) (time.Duration, error) {
	v := r.header.Get("Retry-After")
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > oxLeaseSeconds+1 {
		return 0, fmt.Errorf("409 %s with Retry-After %q: want whole seconds from 1 to the lease (%s)", r.code(), v, oxLease)
	}
	return time.Duration(n) * time.Second, nil
}

// Kinds of broken order invariants.
const (
	vSoldNoOrder    = "sql: a seat is sold without a confirmed order holding a valid ticket for it"
	vOrderNotSold   = "sql: a confirmed order lacks one of its seats sold to it"
	vTicketCount    = "sql: a confirmed order does not have one valid ticket per seat"
	vStrayTicket    = "sql: a valid ticket belongs to an order that is not confirmed"
	vMoneyLost      = "sql: a payment and its order disagree (money without tickets or refund)"
	vOrderPayments  = "sql: an order does not have exactly one payment"
	vTwoLiveOrders  = "sql: a hold has two pending or confirmed orders"
	vKeyOrderAbsent = "sql: an idempotency key names no order, or two keys one order"
)

// oxInvariantQueries are the order invariants over the whole database (one test's): each
// query returns one line per violation.
var oxInvariantQueries = []struct{ kind, sql string }{
	{vSoldNoOrder, `
		SELECT c.screening_id || '/' || c.seat_id || ' sold to ' || coalesce(c.order_id, '-') || ' ('
			|| coalesce(o.status, 'no such order') || ')'
		FROM seat_claims c LEFT JOIN orders o ON o.id = c.order_id
		WHERE c.state = 'sold' AND (o.id IS NULL OR o.status <> 'confirmed' OR o.screening_id <> c.screening_id
			OR NOT c.seat_id = ANY (o.seat_ids) OR NOT EXISTS (
				SELECT 1 FROM tickets k WHERE k.order_id = o.id AND k.screening_id = c.screening_id
					AND k.seat_id = c.seat_id AND k.status = 'valid'))`},
	{vOrderNotSold, `
		SELECT o.id || ' seat ' || s || ': ' || coalesce(c.state, 'no claim') || ' for ' || coalesce(c.order_id, '-')
		FROM orders o CROSS JOIN LATERAL unnest(o.seat_ids) AS s
		LEFT JOIN seat_claims c ON c.screening_id = o.screening_id AND c.seat_id = s
		WHERE o.status = 'confirmed' AND (c.seat_id IS NULL OR c.state <> 'sold' OR c.order_id IS DISTINCT FROM o.id)`},
	{vTicketCount, `
		SELECT o.id || ': ' || count(k.id) || ' valid tickets (' || count(DISTINCT k.seat_id) || ' seats) for '
			|| cardinality(o.seat_ids) || ' seats'
		FROM orders o LEFT JOIN tickets k ON k.order_id = o.id AND k.status = 'valid'
			AND k.screening_id = o.screening_id AND k.seat_id = ANY (o.seat_ids)
		WHERE o.status = 'confirmed'
		GROUP BY o.id, o.seat_ids
		HAVING count(k.id) <> cardinality(o.seat_ids) OR count(DISTINCT k.seat_id) <> cardinality(o.seat_ids)`},
	{vStrayTicket, `
		SELECT k.id || ' (' || k.seat_id || ') valid for ' || o.id || ' (' || o.status || ')'
		FROM tickets k JOIN orders o ON o.id = k.order_id
		WHERE k.status = 'valid' AND o.status <> 'confirmed'`},
	{vMoneyLost, `
		SELECT o.id || ' (' || o.status || ') payment ' || p.status || ', refund ' || coalesce(r.reason, 'none')
		FROM orders o JOIN payments p ON p.order_id = o.id LEFT JOIN refunds r ON r.order_id = o.id
		WHERE (o.status = 'confirmed' AND p.status <> 'succeeded')
			OR (p.status = 'succeeded' AND o.status NOT IN ('confirmed', 'cancelled', 'refunded'))
			OR (o.status IN ('cancelled', 'refunded') AND (r.id IS NULL OR p.status <> 'succeeded'))
			OR (r.id IS NOT NULL AND (r.amount <> o.amount OR r.currency <> o.currency))`},
	{vOrderPayments, `
		SELECT o.id || ': ' || count(p.id) || ' payments'
		FROM orders o LEFT JOIN payments p ON p.order_id = o.id
		GROUP BY o.id HAVING count(p.id) <> 1`},
	{vTwoLiveOrders, `
		SELECT hold_id || ': ' || string_agg(id, ', ' ORDER BY id)
		FROM orders WHERE status IN ('pending', 'confirmed')
		GROUP BY hold_id HAVING count(*) > 1`},
	{vKeyOrderAbsent, `
		SELECT coalesce(k.key, '-') || ' -> ' || coalesce(o.id, 'no order')
		FROM idempotency_keys k FULL JOIN orders o ON o.id = k.order_id
		WHERE k.key IS NULL OR o.id IS NULL
		UNION ALL
		SELECT order_id || ': ' || count(*) || ' keys' FROM idempotency_keys GROUP BY order_id HAVING count(*) > 1`},
}

// oxInvariantsIn runs the order invariants in tx (a snapshot).
func oxInvariantsIn(ctx context.Context, tx pgx.Tx) ([]violation, error) {
	var out []violation
	for _, q := range oxInvariantQueries {
		rows, err := tx.Query(ctx, q.sql)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", q.kind, err)
		}
		details, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", q.kind, err)
		}
		for _, d := range details {
			out = append(out, violation{q.kind, d})
		}
	}
	return out, nil
}

// invariants runs the order invariants on one snapshot of the database.
func (o *oxEnv) invariants(t *testing.T) []violation {
	t.Helper()
	vs, err := o.invariantsNow()
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

// invariantsNow runs the order invariants on one snapshot, returning errors (for goroutines).
func (o *oxEnv) invariantsNow() ([]violation, error) {
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	tx, err := o.db.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
	return oxInvariantsIn(ctx, tx)
}

// mustHoldInvariants fails the test on any broken order invariant.
func (o *oxEnv) mustHoldInvariants(t *testing.T, when string) {
	t.Helper()
	vs := o.invariants(t)
	for i, v := range vs {
		if i == 20 {
			t.Errorf("... and %d more", len(vs)-i)
			break
		}
		t.Errorf("%s: %s: %s", when, v.kind, v.detail)
	}
	if len(vs) > 0 {
		t.FailNow()
	}
}

// oxQueryStrings runs a query returning one text column.
func (o *oxEnv) strings(t *testing.T, sql string, args ...any) []string {
	t.Helper()
	rows, err := o.db.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// count runs a query returning one integer.
func (o *oxEnv) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := o.db.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// soldTo returns, for each seat of a screening that is sold, "seat=order", sorted.
func (o *oxEnv) soldTo(t *testing.T, screening string) []string {
	t.Helper()
	return o.strings(t, `SELECT seat_id || '=' || coalesce(order_id, '-') FROM seat_claims
		WHERE screening_id = $1 AND state = 'sold' ORDER BY seat_id`, screening)
}

// validTickets returns, for each valid ticket of a screening, "seat=order", sorted.
func (o *oxEnv) validTickets(t *testing.T, screening string) []string {
	t.Helper()
	return o.strings(t, `SELECT seat_id || '=' || order_id FROM tickets
		WHERE screening_id = $1 AND status = 'valid' ORDER BY seat_id, order_id`, screening)
}

// seatsOf renders "seat=order" for each seat, sorted by seat.
func seatsOf(order string, seats ...string) []string {
	var out []string
	for _, s := range sortedCopy(seats) {
		out = append(out, s+"="+order)
	}
	return out
}

// TestOrdersInvariantsCatchCorruption proves the order invariant queries can fail: on a real
// database with a confirmed order, each kind of corruption (made inside a transaction that is
// rolled back) is reported by the query that guards against it, and the clean state by none.
func TestOrdersInvariantsCatchCorruption(t *testing.T) {
	o := oxDeployment(t, 1, false, nil)
	c := o.d.inst(0)
	sc := o.newScreening(t)
	u := signIn(t, c).tk.AccessToken
	_, ord := oxMustOrder(t, c, u, sc.ID, testpay.TokenSuccess, "confirmed", "A1", "A2")
	_, async := oxMustOrder(t, c, u, sc.ID, testpay.TokenAsync, "pending", "B1", "B2")
	o.mustHoldInvariants(t, "a confirmed and a pending order")

	ctx := context.Background()
	for _, tc := range []struct {
		kind string
		sql  string
	}{
		{vSoldNoOrder, `INSERT INTO seat_claims (screening_id, seat_id, state, version) VALUES ($1, 'E1', 'sold', nextval('claim_version'))
			ON CONFLICT (screening_id, seat_id) DO UPDATE SET state = 'sold', hold_id = NULL, order_id = NULL, expires_at = NULL`},
		{vOrderNotSold, `UPDATE seat_claims SET state = 'free', hold_id = NULL, order_id = NULL WHERE screening_id = $1 AND seat_id = 'A2'`},
		{vTicketCount, `UPDATE tickets SET status = 'void' WHERE screening_id = $1 AND seat_id = 'A1'`},
		{vStrayTicket, `UPDATE orders SET status = 'cancelled' WHERE screening_id = $1 AND id = '` + ord.ID + `'`},
		{vMoneyLost, `UPDATE payments SET status = 'succeeded' WHERE id = '` + async.Payment.ID + `' AND $1 <> ''`},
		{vOrderPayments, `DELETE FROM payments WHERE id = '` + async.Payment.ID + `' AND $1 <> ''`},
		{vKeyOrderAbsent, `UPDATE idempotency_keys SET order_id = '` + ord.ID + `' WHERE order_id = '` + async.ID + `' AND $1 <> ''`},
	} {
		tx, err := o.db.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, err = tx.Exec(ctx, tc.sql, sc.ID)
		var found []violation
		if err == nil {
			found, err = oxInvariantsIn(ctx, tx)
		}
		_ = tx.Rollback(ctx)
		if err != nil {
			t.Fatalf("%s: %v", tc.kind, err)
		}
		kinds := map[string]bool{}
		for _, v := range found {
			kinds[v.kind] = true
		}
		if !kinds[tc.kind] {
			t.Errorf("corruption %q went unreported (found %v)", tc.kind, found)
		}
	}
	o.mustHoldInvariants(t, "after the rolled-back corruptions")
}
