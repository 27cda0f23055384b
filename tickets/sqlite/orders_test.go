package sqlite

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"boxoffice/tickets"
)

const lease = 15 * time.Second

// beginTx begins order id for user's hold under key, with a fingerprint of the hold.
func beginTx(id, holdID, user, key string) tickets.BeginOrderTx {
	return tickets.BeginOrderTx{
		Key:   tickets.IdempotencyKey{UserID: user, Key: key, Fingerprint: []byte("fp:" + holdID)},
		Lease: lease,
		Order: tickets.Order{ID: id, UserID: user, SessionID: "sess-" + user, HoldID: holdID,
			Payment: tickets.Payment{ID: "pay-" + id, Method: "test", Token: "tok"}},
	}
}

func mustBegin(t *testing.T, s *Store, btx tickets.BeginOrderTx) tickets.Order {
	t.Helper()
	r, err := s.BeginOrder(t.Context(), btx)
	if err != nil || r.Replay != nil || r.TakenOver {
		t.Fatalf("BeginOrder %s = %+v, %v", btx.Order.ID, r, err)
	}
	return r.Order
}

// render is the reply an API would store for an order.
func render(o tickets.Order) tickets.Reply {
	return tickets.Reply{Status: 201, ContentType: "application/json", Location: "/v1/orders/" + o.ID,
		Body: []byte(o.ID + " " + o.Status)}
}

// ticketsFor makes order id's tickets for seats, in reverse order (the store puts them in seat
// order).
func ticketsFor(id string, seats []string) []tickets.Ticket {
	var out []tickets.Ticket
	for _, seat := range slices.Backward(seats) {
		out = append(out, tickets.Ticket{ID: "tk-" + id + "-" + seat, SeatID: seat, Code: "CODE" + id + seat,
			Status: tickets.TicketValid})
	}
	return out
}

// finish records a payment status for order o, completing its key with render.
func finish(t *testing.T, s *Store, o tickets.Order, status string) tickets.FinishOrderResult {
	t.Helper()
	res, err := s.FinishOrder(t.Context(), tickets.FinishOrderTx{OrderID: o.ID,
		Payment: tickets.Payment{Status: status, ProviderRef: "ref-" + o.ID},
		Tickets: ticketsFor(o.ID, o.SeatIDs), Reply: render})
	if err != nil {
		t.Fatalf("FinishOrder %s %s: %v", o.ID, status, err)
	}
	return res
}

func getOrder(t *testing.T, s *Store, id string) tickets.Order {
	t.Helper()
	o, err := s.Order(t.Context(), id)
	if err != nil {
		t.Fatalf("Order %s: %v", id, err)
	}
	return o
}

// claimRow is a seat_claims row as stored.
type claimRow struct {
	state           string
	holdID, orderID sql.NullString
	expires         sql.NullInt64
	version         int64
}

func claimOf(t *testing.T, s *Store, screeningID, seatID string) claimRow {
	t.Helper()
	var c claimRow
	if err := s.db.QueryRowContext(t.Context(), `
		SELECT state, hold_id, order_id, expires_at, version FROM seat_claims WHERE screening_id = ? AND seat_id = ?`,
		screeningID, seatID).Scan(&c.state, &c.holdID, &c.orderID, &c.expires, &c.version); err != nil {
		t.Fatalf("claim %s: %v", seatID, err)
	}
	return c
}

func count(t *testing.T, s *Store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.db.QueryRowContext(t.Context(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestBeginOrderStoresAPendingOrder(t *testing.T) {
	clock := newFakeClock()
	s := openMem(t, clock)
	w := seed(t, s, clock)
	h := mustHold(t, s, holdTx("h1", w.scr.ID, "u1", 10*time.Minute, "A2", "A1"))
	clock.Advance(time.Second)
	o := mustBegin(t, s, beginTx("o1", "h1", "u1", "k1"))
	want := tickets.Order{ID: "o1", UserID: "u1", SessionID: "sess-u1", HoldID: "h1", ScreeningID: w.scr.ID,
		SeatIDs: []string{"A1", "A2"}, Total: tickets.Money{Amount: 2000, Currency: "EUR"}, Status: tickets.OrderPending,
		Payment:         tickets.Payment{ID: "pay-o1", Method: "test", Token: "tok", Status: tickets.PaymentPending},
		PaymentDeadline: h.ExpiresAt, Tickets: []tickets.Ticket{}, CreatedAt: clock.Now(), UpdatedAt: clock.Now(), ServerTime: clock.Now()}
	if fmt.Sprint(o) != fmt.Sprint(want) || o.Tickets == nil || o.Refund != nil {
		t.Fatalf("BeginOrder =\n %+v\nwant\n %+v", o, want)
	}
	if got := getOrder(t, s, "o1"); fmt.Sprint(got) != fmt.Sprint(o) {
		t.Fatalf("Order = %+v; want %+v", got, o)
	}
	if got, err := s.OrderByPayment(t.Context(), "pay-o1"); err != nil || got.ID != "o1" {
		t.Fatalf("OrderByPayment = %+v, %v", got, err)
	}
	for name, err := range map[string]error{
		"Order":          func() error { _, err := s.Order(t.Context(), "nope"); return err }(),
		"OrderByPayment": func() error { _, err := s.OrderByPayment(t.Context(), "nope"); return err }(),
	} {
		if err != tickets.ErrNotFound {
			t.Errorf("%s of an unknown ID: %v", name, err)
		}
	}
	// The hold and its seats are untouched until the payment succeeds.
	if got := status(t, s, "h1"); got != tickets.HoldActive {
		t.Fatalf("hold of a pending order: %s", got)
	}
	if a := available(t, s, w.scr.ID); a.Taken["A1"].State != tickets.Held || a.Taken["A1"].HoldID != "h1" {
		t.Fatalf("seats of a pending order: %+v", a.Taken)
	}
}

func TestBeginOrderRefusalsStoreNothing(t *testing.T) {
	clock := newFakeClock()
	s := openMem(t, clock)
	w := seed(t, s, clock)
	ctx := t.Context()
	mustHold(t, s, holdTx("h1", w.scr.ID, "u1", 10*time.Minute, "A1"))
	mustHold(t, s, holdTx("h2", w.scr.ID, "u2", 10*time.Minute, "A2"))
	mustHold(t, s, holdTx("h3", w.scr.ID, "u3", time.Minute, "A3"))
	mustHold(t, s, holdTx("h4", w.scr.ID, "u4", 10*time.Minute, "A4"))
	if _, err := s.ReleaseHold(ctx, "h4", "u4"); err != nil {
		t.Fatal(err)
	}
	mustBegin(t, s, beginTx("o2", "h2", "u2", "k2"))
	clock.Advance(time.Minute) // h3's deadline
	dupOrder, dupPayment := beginTx("o2", "h1", "u1", "k1"), beginTx("o9", "h1", "u1", "k1")
	dupPayment.Order.Payment.ID = "pay-o2"
	noLease := beginTx("o1", "h1", "u1", "k1")
	noLease.Lease = 0
	for name, c := range map[string]struct {
		btx  tickets.BeginOrderTx
		want error
	}{
		"unknown hold":       {beginTx("o1", "nope", "u1", "k1"), tickets.ErrNotFound},
		"another's hold":     {beginTx("o1", "h1", "u2", "k1"), tickets.ErrNotFound},
		"ordered hold":       {beginTx("o1", "h2", "u2", "k1"), tickets.ErrOrderExists},
		"at its deadline":    {beginTx("o1", "h3", "u3", "k1"), tickets.ErrHoldExpired},
		"released":           {beginTx("o1", "h4", "u4", "k1"), tickets.ErrHoldExpired},
		"order ID taken":     {dupOrder, tickets.ErrConflict},
		"payment ID taken":   {dupPayment, tickets.ErrConflict},
		"no lease":           {noLease, tickets.ErrInvalidInput},
		"key used elsewhere": {beginTx("o1", "h1", "u2", "k2"), tickets.ErrIdempotencyKeyReused},
	} {
		_, err := s.BeginOrder(ctx, c.btx)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", name, err, c.want)
		}
		var oe *tickets.OrderExistsError
		if c.want == tickets.ErrOrderExists && (!errors.As(err, &oe) || oe.OrderID != "o2") {
			t.Errorf("%s: err = %#v; want an OrderExistsError naming o2", name, err)
		}
	}
	if n := count(t, s, `SELECT count(*) FROM orders`); n != 1 {
		t.Fatalf("%d orders stored; want only o2", n)
	}
	if n := count(t, s, `SELECT count(*) FROM idempotency_keys`); n != 1 {
		t.Fatalf("%d keys stored; want only o2's", n)
	}
	// The key the refusals used is still free.
	mustBegin(t, s, beginTx("o1", "h1", "u1", "k1"))
}

func TestIdempotencyKeyLeaseTakeOverAndReplay(t *testing.T) {
	clock := newFakeClock()
	s := openMem(t, clock)
	w := seed(t, s, clock)
	ctx := t.Context()
	mustHold(t, s, holdTx("h1", w.scr.ID, "u1", 10*time.Minute, "A1", "A2"))
	btx := beginTx("o1", "h1", "u1", "k1")
	mustBegin(t, s, btx)
	retry := beginTx("o1-retry", "h1", "u1", "k1") // a retry makes new IDs; the key decides
	inFlight := func(want time.Duration) {
		t.Helper()
		_, err := s.BeginOrder(ctx, retry)
		var ie *tickets.InFlightError
		if !errors.As(err, &ie) || !errors.Is(err, tickets.ErrIdempotencyInFlight) || ie.RetryAfter != want {
			t.Fatalf("retry in flight: err = %v; want InFlightError retrying after %v", err, want)
		}
	}
	inFlight(15 * time.Second)
	clock.Advance(time.Millisecond)
	inFlight(15 * time.Second) // 14.999 s left: rounded up
	clock.Advance(14 * time.Second)
	inFlight(time.Second) // 0.999 s
	clock.Advance(998 * time.Millisecond)
	inFlight(time.Second) // 1 ms: at least a second
	other := beginTx("o1-other", "h1", "u1", "k1")
	other.Key.Fingerprint = []byte("another request")
	if _, err := s.BeginOrder(ctx, other); err != tickets.ErrIdempotencyKeyReused {
		t.Fatalf("same key, other request: %v", err)
	}

	clock.Advance(time.Millisecond) // the lease ends
	r, err := s.BeginOrder(ctx, retry)
	if err != nil || !r.TakenOver || r.Replay != nil || r.Order.ID != "o1" || r.Order.Status != tickets.OrderPending {
		t.Fatalf("retry after the lease = %+v, %v; want o1 taken over", r, err)
	}
	inFlight(15 * time.Second) // the lease was renewed for the taker
	if n := count(t, s, `SELECT count(*) FROM orders`); n != 1 {
		t.Fatalf("%d orders; a retry must not begin another", n)
	}

	// A FinishOrder without a reply leaves the key in flight; with one, it completes it.
	res, err := s.FinishOrder(ctx, tickets.FinishOrderTx{OrderID: "o1",
		Payment: tickets.Payment{Status: tickets.PaymentPending, ProviderRef: "ch_1"}})
	if err != nil || res.Reply != nil || res.Order.Payment.ProviderRef != "ch_1" || res.Order.Status != tickets.OrderPending {
		t.Fatalf("FinishOrder pending, no reply = %+v, %v", res, err)
	}
	inFlight(15 * time.Second)
	res = finish(t, s, r.Order, tickets.PaymentSucceeded)
	if res.Reply == nil || string(res.Reply.Body) != "o1 confirmed" {
		t.Fatalf("FinishOrder reply = %+v", res.Reply)
	}
	for range 2 {
		r, err = s.BeginOrder(ctx, retry)
		if err != nil || r.Replay == nil || r.TakenOver || r.Replay.Status != 201 || r.Replay.Location != "/v1/orders/o1" ||
			r.Replay.ContentType != "application/json" || !bytes.Equal(r.Replay.Body, []byte("o1 confirmed")) {
			t.Fatalf("replay = %+v, %v", r, err)
		}
	}
	// Recording the success again changes nothing and gives the stored reply.
	v := available(t, s, w.scr.ID).Version
	res, err = s.FinishOrder(ctx, tickets.FinishOrderTx{OrderID: "o1", Payment: tickets.Payment{Status: tickets.PaymentSucceeded},
		Tickets: ticketsFor("again", []string{"A1", "A2"}),
		Reply:   func(tickets.Order) tickets.Reply { return tickets.Reply{Status: 500} }})
	if err != nil || res.Reply == nil || string(res.Reply.Body) != "o1 confirmed" || res.Order.Tickets[0].ID != "tk-o1-A1" {
		t.Fatalf("second success = %+v, %v", res, err)
	}
	if a := available(t, s, w.scr.ID); a.Version != v {
		t.Fatalf("a second success took version %d (was %d)", a.Version, v)
	}
}

// A key is remembered for tickets.KeyRetention after its first use, then overwritten in place
// by the next request that uses it; its old order stays.
func TestIdempotencyKeyRetention(t *testing.T) {
	clock := newFakeClock()
	s := openMem(t, clock)
	w := seed(t, s, clock)
	ctx := t.Context()
	later := w.scr
	later.ID, later.StartsAt, later.EndsAt = "scr-later", later.StartsAt.Add(72*time.Hour), later.EndsAt.Add(72*time.Hour)
	if err := s.CreateScreening(ctx, later); err != nil {
		t.Fatal(err)
	}
	mustHold(t, s, holdTx("h1", later.ID, "u1", 10*time.Minute, "A1"))
	o1 := mustBegin(t, s, beginTx("o1", "h1", "u1", "k"))
	finish(t, s, o1, tickets.PaymentDeclined)

	clock.Advance(tickets.KeyRetention)
	mustHold(t, s, holdTx("h2", later.ID, "u1", 10*time.Minute, "A2"))
	if _, err := s.BeginOrder(ctx, beginTx("o2", "h2", "u1", "k")); err != tickets.ErrIdempotencyKeyReused {
		t.Fatalf("reusing the key at exactly KeyRetention: %v", err)
	}
	clock.Advance(time.Millisecond)
	o2 := mustBegin(t, s, beginTx("o2", "h2", "u1", "k"))
	if o2.ID != "o2" || o2.Status != tickets.OrderPending {
		t.Fatalf("order under a forgotten key: %+v", o2)
	}
	if n := count(t, s, `SELECT count(*) FROM idempotency_keys WHERE order_id = 'o2' AND status = 'in_flight'`); n != 1 {
		t.Fatal("the forgotten key was not overwritten")
	}
	if got := getOrder(t, s, "o1"); got.Status != tickets.OrderDeclined {
		t.Fatalf("the old order: %+v", got)
	}
	// The old order has no key any more: finishing it stores no reply under the new request.
	res, err := s.FinishOrder(ctx, tickets.FinishOrderTx{OrderID: "o1", Reply: render})
	if err != nil || res.Reply != nil {
		t.Fatalf("FinishOrder of the old order = %+v, %v; want no reply", res, err)
	}
	if _, err := s.BeginOrder(ctx, beginTx("o3", "h2", "u1", "k")); !errors.Is(err, tickets.ErrIdempotencyInFlight) {
		t.Fatalf("the new request's key: %v; want in flight", err)
	}
}

func TestFinishOrderInTimeSellsTheSeats(t *testing.T) {
	clock := newFakeClock()
	s := openMem(t, clock)
	w := seed(t, s, clock)
	ctx := t.Context()
	mustHold(t, s, holdTx("h1", w.scr.ID, "u1", 10*time.Minute, "A1", "A2"))
	mustHold(t, s, holdTx("h2", w.scr.ID, "u2", 10*time.Minute, "A3"))
	o := mustBegin(t, s, beginTx("o1", "h1", "u1", "k1"))
	v := available(t, s, w.scr.ID).Version
	clock.Advance(time.Second)

	bad := tickets.FinishOrderTx{OrderID: "o1", Payment: tickets.Payment{Status: tickets.PaymentSucceeded},
		Tickets: ticketsFor("o1", []string{"A1"}), Reply: render}
	if _, err := s.FinishOrder(ctx, bad); !errors.Is(err, tickets.ErrInvalidInput) {
		t.Fatalf("a ticket short: %v", err)
	}
	bad.Payment.Status = "refunded"
	if _, err := s.FinishOrder(ctx, bad); !errors.Is(err, tickets.ErrInvalidInput) {
		t.Fatalf("unknown payment status: %v", err)
	}
	bad.OrderID = "nope"
	if _, err := s.FinishOrder(ctx, bad); err != tickets.ErrNotFound {
		t.Fatalf("unknown order: %v", err)
	}
	if got := getOrder(t, s, "o1"); got.Status != tickets.OrderPending || got.Payment.Status != tickets.PaymentPending {
		t.Fatalf("after refused FinishOrders: %+v", got)
	}

	res := finish(t, s, o, tickets.PaymentSucceeded)
	got := res.Order
	wantTickets := []tickets.Ticket{
		{ID: "tk-o1-A1", SeatID: "A1", Code: "CODEo1A1", Status: tickets.TicketValid},
		{ID: "tk-o1-A2", SeatID: "A2", Code: "CODEo1A2", Status: tickets.TicketValid},
	}
	if got.Status != tickets.OrderConfirmed || got.LatePayment != "" || !slices.Equal(got.Tickets, wantTickets) ||
		got.Payment.Status != tickets.PaymentSucceeded || got.Payment.ProviderRef != "ref-o1" || got.Refund != nil ||
		!got.UpdatedAt.Equal(clock.Now()) || got.CreatedAt.Equal(got.UpdatedAt) {
		t.Fatalf("confirmed order = %+v", got)
	}
	h, err := s.GetHold(ctx, "h1")
	if err != nil || h.Status != tickets.HoldConfirmed {
		t.Fatalf("paid hold = %+v, %v; want confirmed", h, err)
	}
	a := available(t, s, w.scr.ID)
	if a.Version <= v || a.Taken["A1"] != (tickets.Claim{SeatID: "A1", State: tickets.Sold}) ||
		a.Taken["A2"].State != tickets.Sold || a.Taken["A3"].HoldID != "h2" {
		t.Fatalf("availability after the sale: version %d (was %d), %+v", a.Version, v, a.Taken)
	}
	for _, seat := range []string{"A1", "A2"} {
		c := claimOf(t, s, w.scr.ID, seat)
		if c.state != "sold" || c.orderID.String != "o1" || c.holdID.String != "h1" || c.expires.Valid || c.version != a.Version {
			t.Fatalf("claim %s = %+v; want sold to o1 from h1 at version %d", seat, c, a.Version)
		}
	}
	if c := claimOf(t, s, w.scr.ID, "A3"); c.version >= a.Version {
		t.Fatalf("a seat the sale did not touch took its version: %+v", c)
	}
	// Sold seats outlive the hold's deadline and Sweep; nobody can hold or block them.
	clock.Advance(time.Hour)
	if _, err := s.Sweep(ctx, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Hold(ctx, holdTx("h3", w.scr.ID, "u3", time.Minute, "A1")); !errors.Is(err, tickets.ErrSeatsUnavailable) {
		t.Fatalf("holding a sold seat: %v", err)
	}
	if err := s.SetBlocked(ctx, w.scr.ID, []string{"A2"}, true); !errors.Is(err, tickets.ErrSeatsUnavailable) {
		t.Fatalf("blocking a sold seat: %v", err)
	}
	if sc, err := s.Screening(ctx, w.scr.ID); err != nil || sc.SeatsAvailable != 6 {
		t.Fatalf("SeatsAvailable = %d, %v; want 6", sc.SeatsAvailable, err)
	}
	// Once confirmed, a decline or a cancellation changes nothing.
	for _, st := range []string{tickets.PaymentDeclined, tickets.PaymentCancelled} {
		if res := finish(t, s, o, st); res.Order.Status != tickets.OrderConfirmed || res.Order.Payment.Status != tickets.PaymentSucceeded {
			t.Fatalf("%s after the success: %+v", st, res.Order)
		}
	}
}

func TestFinishOrderDeclinedAndExpired(t *testing.T) {
	clock := newFakeClock()
	s := openMem(t, clock)
	w := seed(t, s, clock)
	mustHold(t, s, holdTx("h1", w.scr.ID, "u1", 10*time.Minute, "A1"))
	o1 := mustBegin(t, s, beginTx("o1", "h1", "u1", "k1"))
	v := available(t, s, w.scr.ID).Version
	if got := finish(t, s, o1, tickets.PaymentDeclined).Order; got.Status != tickets.OrderDeclined ||
		got.Payment.Status != tickets.PaymentDeclined || len(got.Tickets) != 0 {
		t.Fatalf("declined = %+v", got)
	}
	if got := status(t, s, "h1"); got != tickets.HoldActive || available(t, s, w.scr.ID).Version != v {
		t.Fatalf("a decline touched the hold (%s) or the seats", got)
	}
	// The hold can be paid for again, under another key.
	o2 := mustBegin(t, s, beginTx("o2", "h1", "u1", "k2"))
	if got := finish(t, s, o2, tickets.PaymentCancelled).Order; got.Status != tickets.OrderExpired ||
		got.Payment.Status != tickets.PaymentCancelled {
		t.Fatalf("cancelled payment = %+v", got)
	}
	o3 := mustBegin(t, s, beginTx("o3", "h1", "u1", "k3"))
	// The first attempt is paid after all while the third is pending: the hold is the third's,
	// so the money is returned.
	got := finish(t, s, o1, tickets.PaymentSucceeded).Order
	if got.Status != tickets.OrderRefunded || got.LatePayment != tickets.LateRefunded || got.Refund == nil ||
		got.Refund.Reason != tickets.RefundLate {
		t.Fatalf("success of a declined attempt while another is pending = %+v", got)
	}
	if got := finish(t, s, o3, tickets.PaymentSucceeded).Order; got.Status != tickets.OrderConfirmed {
		t.Fatalf("the live attempt = %+v", got)
	}
	// With the hold confirmed and the seats sold to o3, the second attempt's success is refunded.
	if got := finish(t, s, o2, tickets.PaymentSucceeded).Order; got.Status != tickets.OrderRefunded {
		t.Fatalf("success of an expired attempt after the sale = %+v", got)
	}
	if a := available(t, s, w.scr.ID); a.Taken["A1"].State != tickets.Sold || claimOf(t, s, w.scr.ID, "A1").orderID.String != "o3" {
		t.Fatalf("A1 after three attempts: %+v", a.Taken)
	}
}

func TestSchemaKeepsSalesConsistent(t *testing.T) {
	clock := newFakeClock()
	s := openMem(t, clock)
	w := seed(t, s, clock)
	ctx := t.Context()
	mustHold(t, s, holdTx("h1", w.scr.ID, "u1", 10*time.Minute, "A1"))
	finish(t, s, mustBegin(t, s, beginTx("o1", "h1", "u1", "k1")), tickets.PaymentSucceeded)
	mustHold(t, s, holdTx("h2", w.scr.ID, "u2", 10*time.Minute, "A2"))
	mustBegin(t, s, beginTx("o2", "h2", "u2", "k2"))
	for name, stmt := range map[string]string{
		"sold without an order":     `UPDATE seat_claims SET state = 'sold', expires_at = NULL WHERE seat_id = 'A2'`,
		"an order on a free seat":   `UPDATE seat_claims SET state = 'free', hold_id = NULL WHERE seat_id = 'A1'`,
		"sold to an unknown order":  `UPDATE seat_claims SET order_id = 'nope' WHERE seat_id = 'A1'`,
		"a second valid ticket":     `INSERT INTO tickets VALUES ('t2', 'o2', 'scr-1', 'A1', 'C2', 'valid', 0)`,
		"a second live order":       `INSERT INTO orders SELECT 'o3', user_id, session_id, hold_id, screening_id, seat_ids, amount, currency, 'pending', '', payment_deadline, created_at, updated_at FROM orders WHERE id = 'o2'`,
		"refunded in time":          `UPDATE orders SET status = 'refunded' WHERE id = 'o2'`,
		"a refund with another ID":  `INSERT INTO refunds VALUES ('r', 'o1', 'scr-1', 'pay-o1', 'test', 1, 'EUR', 'late_payment', 'pending', '', 0, NULL)`,
		"a key in an unknown state": `UPDATE idempotency_keys SET status = 'done'`,
	} {
		if _, err := s.db.ExecContext(ctx, stmt); err == nil {
			t.Errorf("%s: the schema allowed it", name)
		}
	}
}

// Concurrent requests for one hold take turns: one order is begun, the others see it; the
// request and a webhook recording the same success issue one set of tickets.
func TestConcurrentOrdersForOneHold(t *testing.T) {
	clock := newFakeClock()
	s := openMem(t, clock)
	w := seed(t, s, clock)
	mustHold(t, s, holdTx("h1", w.scr.ID, "u1", 10*time.Minute, "A1", "A2"))
	const n = 10
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		key := fmt.Sprint("k", i%2) // two keys, five requests each
		wg.Go(func() { _, errs[i] = s.BeginOrder(t.Context(), beginTx(fmt.Sprint("o", i), "h1", "u1", key)) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, tickets.ErrOrderExists) && !errors.Is(err, tickets.ErrIdempotencyInFlight):
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if won != 1 || count(t, s, `SELECT count(*) FROM orders`) != 1 {
		t.Fatalf("%d BeginOrders won; want 1", won)
	}
	var id string
	if err := s.db.QueryRow(`SELECT id FROM orders`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	o := getOrder(t, s, id)
	results := make([]tickets.FinishOrderResult, n)
	for i := range n {
		wg.Go(func() {
			results[i], errs[i] = s.FinishOrder(t.Context(), tickets.FinishOrderTx{OrderID: id,
				Payment: tickets.Payment{Status: tickets.PaymentSucceeded}, Tickets: ticketsFor(fmt.Sprint(i), o.SeatIDs)})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil || results[i].Order.Status != tickets.OrderConfirmed || len(results[i].Order.Tickets) != 2 {
			t.Fatalf("FinishOrder %d = %+v, %v", i, results[i], err)
		}
	}
	if n := count(t, s, `SELECT count(*) FROM tickets`); n != 2 {
		t.Fatalf("%d tickets issued; want 2", n)
	}
}
