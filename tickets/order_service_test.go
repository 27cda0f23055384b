package tickets_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"boxoffice/tickets"
	"boxoffice/tickets/sqlite"
	"boxoffice/tickets/testpay"
	"boxoffice/tickets/ticketstest"
)

// clock is a settable clock shared by the SQLite store (the "database clock") and the service.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// countingPay is the test provider, counting refunds and able to fail them.
type countingPay struct {
	testpay.Provider
	mu          sync.Mutex
	refunds     map[string]int
	refundsDown bool
}

func (p *countingPay) Refund(ctx context.Context, r tickets.Refund) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.refundsDown {
		return "", errors.New("provider down")
	}
	p.refunds[r.ID]++
	return p.Provider.Refund(ctx, r)
}

type orderWorld struct {
	ctx   context.Context
	clk   *clock
	st    tickets.Store
	svc   *tickets.Service
	pay   *countingPay
	scr   tickets.Screening
	alice tickets.Owner
	bob   tickets.Owner
}

func newOrderWorld(t *testing.T) *orderWorld {
	t.Helper()
	clk := &clock{t: time.Now().Truncate(time.Millisecond)}
	st, err := sqlite.Open(t.Context(), "", sqlite.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	_, _, _, scr := ticketstest.Fixture(t, st, ticketstest.StartsAt(clk.Now().Add(6*time.Hour).Truncate(time.Second)))
	pay := &countingPay{Provider: testpay.Provider{Secret: []byte("whsec")}, refunds: map[string]int{}}
	svc := tickets.NewService(st, tickets.Config{Now: clk.Now, HoldTTL: 10 * time.Minute,
		Payments: map[string]tickets.PaymentProvider{"test": pay}})
	return &orderWorld{ctx: t.Context(), clk: clk, st: st, svc: svc, pay: pay, scr: scr,
		alice: tickets.Owner{UserID: "alice", SessionID: "s-alice"},
		bob:   tickets.Owner{UserID: "bob", SessionID: "s-bob"}}
}

func (w *orderWorld) hold(t *testing.T, o tickets.Owner, seats ...string) tickets.Hold {
	t.Helper()
	h, err := w.svc.Hold(w.ctx, o, w.scr.ID, tickets.Selection{SeatIDs: seats})
	if err != nil {
		t.Fatalf("hold %v: %v", seats, err)
	}
	return h
}

// render is what the API layer does, in miniature: the status and the order's ID and status.
func render(o tickets.Order) tickets.Reply {
	status := 201
	if o.Status == tickets.OrderDeclined {
		status = 402
	}
	return tickets.Reply{Status: status, ContentType: "text/plain", Body: []byte(o.ID + " " + o.Status)}
}

func (w *orderWorld) order(t *testing.T, o tickets.Owner, key, holdID, token string) (tickets.Reply, bool, error) {
	t.Helper()
	return w.svc.PlaceOrder(w.ctx, o, key, tickets.OrderRequest{HoldID: holdID, Method: "test", Token: token}, render)
}

func orderID(r tickets.Reply) string { return string(bytes.Fields(r.Body)[0]) }

// TestPlaceOrderReplaysAndRefuses: the reply of a key is stored and replayed byte for byte; the
// same key with another request is refused; a declined payment keeps the hold for another try.
func TestPlaceOrderReplaysAndRefuses(t *testing.T) {
	w := newOrderWorld(t)
	h := w.hold(t, w.alice, "A1", "A2")
	r, replayed, err := w.order(t, w.alice, "k-decline", h.ID, testpay.TokenDecline)
	if err != nil || replayed || r.Status != 402 {
		t.Fatalf("declined order = %d %q replayed=%v, %v; want a fresh 402", r.Status, r.Body, replayed, err)
	}
	again, replayed, err := w.order(t, w.alice, "k-decline", h.ID, testpay.TokenDecline)
	if err != nil || !replayed || !bytes.Equal(again.Body, r.Body) || again.Status != 402 {
		t.Fatalf("retry = %d %q replayed=%v, %v; want the stored 402 replayed", again.Status, again.Body, replayed, err)
	}
	if _, _, err := w.order(t, w.alice, "k-decline", h.ID, testpay.TokenSuccess); !errors.Is(err, tickets.ErrIdempotencyKeyReused) {
		t.Fatalf("same key, other token: %v; want ErrIdempotencyKeyReused", err)
	}
	if g, err := w.svc.GetHold(w.ctx, w.alice, h.ID); err != nil || g.Status != tickets.HoldActive {
		t.Fatalf("hold after a decline = %q, %v; want active", g.Status, err)
	}
	ok, _, err := w.order(t, w.alice, "k-pay", h.ID, testpay.TokenSuccess)
	if err != nil || ok.Status != 201 {
		t.Fatalf("paying with a new key = %d %q, %v; want 201", ok.Status, ok.Body, err)
	}
	ord, err := w.svc.GetOrder(w.ctx, w.alice, orderID(ok))
	if err != nil || ord.Status != tickets.OrderConfirmed || len(ord.Tickets) != 2 {
		t.Fatalf("order = %+v, %v; want confirmed with two tickets", ord, err)
	}
	if _, err := w.svc.GetOrder(w.ctx, w.bob, ord.ID); !errors.Is(err, tickets.ErrNotFound) {
		t.Fatalf("another user's order: %v; want ErrNotFound", err)
	}
	if _, _, err := w.order(t, w.alice, "k-third", h.ID, testpay.TokenSuccess); !errors.Is(err, tickets.ErrOrderExists) {
		t.Fatalf("a third order for a bought hold: %v; want ErrOrderExists", err)
	}
	if _, _, err := w.order(t, w.alice, "", h.ID, testpay.TokenSuccess); !errors.Is(err, tickets.ErrInvalidInput) {
		t.Fatalf("no key: %v; want FieldErrors", err)
	}
}

// TestProviderOutageThenTakeOver: a provider that cannot be reached leaves the key in flight
// (409 with Retry-After) until its lease ends; then a retry drives the same order again.
func TestProviderOutageThenTakeOver(t *testing.T) {
	w := newOrderWorld(t)
	h := w.hold(t, w.alice, "B1", "B2")
	if _, _, err := w.order(t, w.alice, "k", h.ID, testpay.TokenError); !errors.Is(err, tickets.ErrUnavailable) {
		t.Fatalf("provider down: %v; want ErrUnavailable", err)
	}
	var inFlight *tickets.InFlightError
	if _, _, err := w.order(t, w.alice, "k", h.ID, testpay.TokenError); !errors.As(err, &inFlight) || inFlight.RetryAfter < time.Second {
		t.Fatalf("retry within the lease: %v; want *InFlightError with RetryAfter >= 1s", err)
	}
	w.clk.Add(w.svc.Config().KeyLease + time.Millisecond)
	if _, _, err := w.order(t, w.alice, "k", h.ID, testpay.TokenError); !errors.Is(err, tickets.ErrUnavailable) {
		t.Fatalf("retry after the lease, provider still down: %v; want ErrUnavailable", err)
	}
	list, _, err := w.svc.Orders(w.ctx, w.alice, "", 0)
	if err != nil || len(list) != 1 || list[0].Status != tickets.OrderPending {
		t.Fatalf("orders = %+v, %v; want the one pending order, driven twice", list, err)
	}
}

// TestJanitorSettlesStalledOrders: an order whose request died after begin_order is driven by
// the janitor once its lease ends; an async payment nobody completes is cancelled after its
// deadline plus the grace; a refund the provider did not take is resent.
func TestJanitorSettlesStalledOrders(t *testing.T) {
	w := newOrderWorld(t)
	j := &tickets.Janitor{Service: w.svc}

	// A crash after BeginOrder: the order is pending, its key in flight.
	h := w.hold(t, w.alice, "C1", "C2")
	begun, err := w.st.BeginOrder(w.ctx, tickets.BeginOrderTx{
		Key:   tickets.IdempotencyKey{UserID: "alice", Key: "crashed", Fingerprint: []byte("fp")},
		Lease: time.Second,
		Order: tickets.Order{ID: "order_crashed", UserID: "alice", SessionID: "s-alice", HoldID: h.ID,
			Payment: tickets.Payment{ID: "pay_crashed", Method: "test", Token: testpay.TokenSuccess}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// An async payment that never completes.
	h2 := w.hold(t, w.bob, "A5", "A6")
	r, _, err := w.order(t, w.bob, "async", h2.ID, testpay.TokenAsync)
	if err != nil || r.Status != 201 {
		t.Fatalf("async order = %d, %v", r.Status, err)
	}
	if err := j.Once(w.ctx); err != nil {
		t.Fatal(err)
	}
	if o, _ := w.st.Order(w.ctx, begun.Order.ID); o.Status != tickets.OrderPending {
		t.Fatalf("crashed order within its lease = %q; want pending (its request may still finish)", o.Status)
	}
	w.clk.Add(2 * time.Second)
	if err := j.Once(w.ctx); err != nil {
		t.Fatal(err)
	}
	if o, _ := w.st.Order(w.ctx, begun.Order.ID); o.Status != tickets.OrderConfirmed || len(o.Tickets) != 2 {
		t.Fatalf("crashed order after its lease = %q with %d tickets; want confirmed by the janitor", o.Status, len(o.Tickets))
	}
	if o, _ := w.st.Order(w.ctx, orderID(r)); o.Status != tickets.OrderPending {
		t.Fatalf("async order before its deadline = %q; want pending", o.Status)
	}
	w.clk.Add(10*time.Minute + w.svc.Config().PaymentGrace)
	if err := j.Once(w.ctx); err != nil {
		t.Fatal(err)
	}
	if o, _ := w.st.Order(w.ctx, orderID(r)); o.Status != tickets.OrderExpired || o.Payment.Status != tickets.PaymentCancelled {
		t.Fatalf("async order past deadline+grace = %q (payment %q); want expired, payment cancelled", o.Status, o.Payment.Status)
	}

	// The payment succeeds after all (the provider changed its mind): the seats are still free,
	// so they are re-claimed. Then the buyer cancels while the provider is down: the refund waits
	// for the janitor.
	o, _ := w.st.Order(w.ctx, orderID(r))
	body := testpay.EventBody("evt_1", testpay.EventSucceeded, o.Payment.ID)
	got, err := w.svc.PaymentWebhook(w.ctx, testpay.Sign([]byte("whsec"), body, w.clk.Now()), body)
	if err != nil || got.Status != tickets.OrderConfirmed || got.LatePayment != tickets.LateReclaimed {
		t.Fatalf("late success = %q/%q, %v; want confirmed, reclaimed", got.Status, got.LatePayment, err)
	}
	if _, err := w.svc.PaymentWebhook(w.ctx, testpay.Sign([]byte("other"), body, w.clk.Now()), body); !errors.Is(err, tickets.ErrInvalidSignature) {
		t.Fatalf("wrong secret: %v; want ErrInvalidSignature", err)
	}
	w.pay.refundsDown = true
	c, err := w.svc.CancelOrder(w.ctx, w.bob, got.ID)
	if err != nil || c.Status != tickets.OrderCancelled || c.Refund == nil || c.Refund.Status != tickets.RefundPending {
		t.Fatalf("cancel with the provider down = %+v, %v; want cancelled with a pending refund", c, err)
	}
	w.pay.refundsDown = false
	w.clk.Add(10 * time.Second)
	if err := j.Once(w.ctx); err != nil {
		t.Fatal(err)
	}
	if o, _ := w.st.Order(w.ctx, got.ID); o.Refund == nil || o.Refund.Status != tickets.RefundSucceeded || w.pay.refunds[o.Refund.ID] != 1 {
		t.Fatalf("refund after a janitor round = %+v (sent %d times); want succeeded, sent once", o.Refund, w.pay.refunds[tickets.RefundID(got.ID)])
	}
}

// TestCancelCutoffOnTheApplicationClock: a buyer may cancel until CancelCutoff before the show.
func TestCancelCutoffOnTheApplicationClock(t *testing.T) {
	w := newOrderWorld(t)
	buy := func(key string, seats ...string) string {
		r, _, err := w.order(t, w.alice, key, w.hold(t, w.alice, seats...).ID, testpay.TokenSuccess)
		if err != nil || r.Status != 201 {
			t.Fatalf("order %s = %d, %v", key, r.Status, err)
		}
		return orderID(r)
	}
	first := buy("one", "B5", "B6")
	c, err := w.svc.CancelOrder(w.ctx, w.alice, first)
	if err != nil || c.Status != tickets.OrderCancelled || c.Refund == nil || c.Refund.Status != tickets.RefundSucceeded {
		t.Fatalf("cancel 6h before = %+v, %v; want cancelled and refunded", c, err)
	}
	if _, err := w.svc.CancelOrder(w.ctx, w.bob, first); !errors.Is(err, tickets.ErrNotFound) {
		t.Fatalf("another user cancels: %v; want ErrNotFound", err)
	}
	second := buy("two", "B5", "B6")     // the seats are available again
	w.clk.Add(4*time.Hour + time.Second) // 2h before the show, minus a second
	if _, err := w.svc.CancelOrder(w.ctx, w.alice, second); !errors.Is(err, tickets.ErrCancellationClosed) {
		t.Fatalf("cancel inside the cut-off: %v; want ErrCancellationClosed", err)
	}
	if o, _ := w.st.Order(w.ctx, second); o.Status != tickets.OrderConfirmed || o.Refund != nil {
		t.Fatalf("refused cancellation left %q, refund %+v; want it unchanged", o.Status, o.Refund)
	}
	rep, err := w.svc.RefundReport(w.ctx, w.scr.ID)
	if err != nil || len(rep.Refunds) != 1 || rep.Total.Amount != c.Total.Amount || rep.Pending != 0 {
		t.Fatalf("refund report = %+v, %v; want the one refund", rep, err)
	}
}

// TestJanitorGoesOnPastAFailingProvider: an order the provider cannot settle does not keep the
// janitor from its other work (a dead session's hold is still ended), and once its deadline and
// grace have passed the payment is cancelled.
func TestJanitorGoesOnPastAFailingProvider(t *testing.T) {
	w := newOrderWorld(t)
	chk := &checker{ended: map[string]bool{"s-bob": true}}
	w.svc = tickets.NewService(w.st, tickets.Config{Now: w.clk.Now, Sessions: chk,
		Payments: map[string]tickets.PaymentProvider{"test": w.pay}})
	h := w.hold(t, w.alice, "A1", "A2")
	if _, _, err := w.order(t, w.alice, "k", h.ID, testpay.TokenError); !errors.Is(err, tickets.ErrUnavailable) {
		t.Fatalf("provider down: %v; want ErrUnavailable", err)
	}
	bobs := w.hold(t, w.bob, "B5", "B6")
	w.clk.Add(w.svc.Config().KeyLease + time.Second)
	j := &tickets.Janitor{Service: w.svc}
	if err := j.Once(w.ctx); !errors.Is(err, tickets.ErrUnavailable) {
		t.Fatalf("janitor round with the provider down for one order: %v; want its ErrUnavailable", err)
	}
	if g, err := w.st.GetHold(w.ctx, bobs.ID); err != nil || g.Status != tickets.HoldRevoked {
		t.Fatalf("the dead session's hold = %q, %v; want revoked in the same round", g.Status, err)
	}
	w.clk.Add(10*time.Minute + w.svc.Config().PaymentGrace)
	if err := j.Once(w.ctx); err != nil {
		t.Fatalf("janitor round past the deadline: %v", err)
	}
	list, _, err := w.svc.Orders(w.ctx, w.alice, "", 0)
	if err != nil || len(list) != 1 || list[0].Status != tickets.OrderExpired {
		t.Fatalf("orders = %+v, %v; want the one order expired", list, err)
	}
}

// TestJanitorJudgesDeadlinesOnTheStoreClock: an instance whose clock runs an hour ahead of the
// database still drives (does not cancel) a crashed async order whose hold keeps its seats.
func TestJanitorJudgesDeadlinesOnTheStoreClock(t *testing.T) {
	w := newOrderWorld(t)
	ahead := func() time.Time { return w.clk.Now().Add(time.Hour) }
	svc := tickets.NewService(w.st, tickets.Config{Now: ahead, Payments: map[string]tickets.PaymentProvider{"test": w.pay}})
	h := w.hold(t, w.alice, "A1", "A2")
	if _, err := w.st.BeginOrder(w.ctx, tickets.BeginOrderTx{
		Key:   tickets.IdempotencyKey{UserID: "alice", Key: "crashed", Fingerprint: []byte("fp")},
		Lease: time.Second,
		Order: tickets.Order{ID: "order_async", UserID: "alice", SessionID: "s-alice", HoldID: h.ID,
			Payment: tickets.Payment{ID: "pay_async", Method: "test", Token: testpay.TokenAsync}},
	}); err != nil {
		t.Fatal(err)
	}
	w.clk.Add(2 * time.Second) // the lease has ended; the hold's deadline is 10 minutes away
	if err := (&tickets.Janitor{Service: svc}).Once(w.ctx); err != nil {
		t.Fatal(err)
	}
	o, err := w.st.Order(w.ctx, "order_async")
	if err != nil || o.Status != tickets.OrderPending || o.Payment.Status != tickets.PaymentPending ||
		o.Payment.ProviderRef == "" {
		t.Fatalf("order = %q, payment %q (ref %q), %v; want pending, asked again, not cancelled",
			o.Status, o.Payment.Status, o.Payment.ProviderRef, err)
	}
}
