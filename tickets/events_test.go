package tickets_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"boxoffice/audit"
	"boxoffice/tickets"
	"boxoffice/tickets/postgres"
	"boxoffice/tickets/testpay"
	"boxoffice/tickets/ticketstest"
)

// tape keeps every audit event recorded.
type tape struct {
	mu     sync.Mutex
	events []audit.Event
}

func (r *tape) Record(ctx context.Context, e audit.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, audit.Fill(ctx, e, time.Now))
}

// take returns "type/outcome/reason/user/session/target" per event recorded since the last
// take.
func (r *tape) take() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var parts []string
	for _, e := range r.events {
		parts = append(parts, fmt.Sprintf("%s/%s/%s/%s/%s/%s", e.Type, e.Outcome, e.Reason, e.UserID, e.SessionID, e.Target))
	}
	r.events = nil
	return strings.Join(parts, " ")
}

// auditWorld is newOrderWorld whose service records on a tape.
func auditWorld(t *testing.T) (*orderWorld, *tape) {
	w := newOrderWorld(t)
	rec := &tape{}
	w.svc = tickets.NewService(w.st, tickets.Config{Now: w.clk.Now, HoldTTL: 10 * time.Minute,
		Payments: map[string]tickets.PaymentProvider{"test": w.pay}, Audit: rec})
	return w, rec
}

func (w *orderWorld) webhook(t *testing.T, event string, o tickets.Order) tickets.Order {
	t.Helper()
	body := testpay.EventBody("evt_"+o.ID+event, event, o.Payment.ID)
	got, err := w.svc.PaymentWebhook(w.ctx, testpay.Sign([]byte("whsec"), body, w.clk.Now()), body)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestOrderEvents: each movement of an order's money is recorded once, by the call that made
// it — placing (paid, declined), a webhook, the janitor, a cancellation — and replays,
// repeated webhooks and repeated cancellations record nothing.
func TestOrderEvents(t *testing.T) {
	w, rec := auditWorld(t)
	h := w.hold(t, w.alice, "A1", "A2")
	r, _, err := w.order(t, w.alice, "k-decline", h.ID, testpay.TokenDecline)
	if err != nil {
		t.Fatal(err)
	}
	declined := orderID(r)
	w.clk.Add(time.Millisecond)
	r, _, err = w.order(t, w.alice, "k-pay", h.ID, testpay.TokenSuccess)
	if err != nil {
		t.Fatal(err)
	}
	paid := orderID(r)
	w.clk.Add(time.Millisecond)
	if _, replayed, err := w.order(t, w.alice, "k-pay", h.ID, testpay.TokenSuccess); err != nil || !replayed {
		t.Fatalf("replay: %v %v", replayed, err)
	}
	if got, want := rec.take(), "order_cancelled/failure/payment_failed/alice/s-alice/"+declined+
		" order_paid/success//alice/s-alice/"+paid; got != want {
		t.Fatalf("placing:\n got %s\nwant %s", got, want)
	}

	// The buyer cancels, from another session; twice.
	other := tickets.Owner{UserID: "alice", SessionID: "s-alice-phone"}
	for range 2 {
		w.clk.Add(time.Millisecond)
		if _, err := w.svc.CancelOrder(w.ctx, other, paid); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := rec.take(), "order_cancelled/success/buyer/alice/s-alice-phone/"+paid; got != want {
		t.Fatalf("cancelling:\n got %s\nwant %s", got, want)
	}

	// An async payment: the webhook confirms it, twice.
	h2 := w.hold(t, w.bob, "B1", "B2")
	r, _, err = w.order(t, w.bob, "k-async", h2.ID, testpay.TokenAsync)
	if err != nil {
		t.Fatal(err)
	}
	async, _ := w.st.Order(w.ctx, orderID(r))
	for range 2 {
		w.clk.Add(time.Millisecond)
		w.webhook(t, testpay.EventSucceeded, async)
	}
	if got, want := rec.take(), "order_paid/success//bob/s-bob/"+async.ID; got != want {
		t.Fatalf("webhook:\n got %s\nwant %s", got, want)
	}

	// Another async payment never completes: the janitor cancels it; it succeeds after all,
	// late, and its seats are free: paid, late.
	h3 := w.hold(t, w.bob, "B5", "B6")
	r, _, err = w.order(t, w.bob, "k-late", h3.ID, testpay.TokenAsync)
	if err != nil {
		t.Fatal(err)
	}
	late, _ := w.st.Order(w.ctx, orderID(r))
	w.clk.Add(10*time.Minute + w.svc.Config().PaymentGrace + time.Second)
	j := &tickets.Janitor{Service: w.svc}
	for range 2 {
		if err := j.Once(w.ctx); err != nil {
			t.Fatal(err)
		}
		w.clk.Add(time.Millisecond)
	}
	w.webhook(t, testpay.EventSucceeded, late)
	if got, want := rec.take(), "order_cancelled/failure/expired/bob/s-bob/"+late.ID+
		" order_paid/success/late_payment/bob/s-bob/"+late.ID; got != want {
		t.Fatalf("late payment:\n got %s\nwant %s", got, want)
	}
}

// TestLateRefundAndScreeningEvents: a payment too late for its seats is refunded; cancelling a
// screening cancels each of its orders, once.
func TestLateRefundAndScreeningEvents(t *testing.T) {
	w, rec := auditWorld(t)
	h := w.hold(t, w.alice, "A5", "A6")
	r, _, err := w.order(t, w.alice, "k-async", h.ID, testpay.TokenAsync)
	if err != nil {
		t.Fatal(err)
	}
	stale, _ := w.st.Order(w.ctx, orderID(r))
	w.clk.Add(11 * time.Minute) // the hold expired; bob buys the seat
	h2 := w.hold(t, w.bob, "A5", "A6")
	r, _, err = w.order(t, w.bob, "k-pay", h2.ID, testpay.TokenSuccess)
	if err != nil {
		t.Fatal(err)
	}
	bobs := orderID(r)
	w.clk.Add(time.Millisecond)
	w.webhook(t, testpay.EventSucceeded, stale)
	if got, want := rec.take(), "order_paid/success//bob/s-bob/"+bobs+
		" order_refunded/success/late_payment/alice/s-alice/"+stale.ID; got != want {
		t.Fatalf("late refund:\n got %s\nwant %s", got, want)
	}

	admin := audit.WithRequest(w.ctx, audit.Request{ActorID: "admin"})
	for range 2 {
		w.clk.Add(time.Millisecond)
		if err := w.svc.CancelScreening(admin, w.scr.ID); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := rec.take(), "order_cancelled/success/screening_cancelled/bob/s-bob/"+bobs; got != want {
		t.Fatalf("screening cancelled:\n got %s\nwant %s", got, want)
	}
}

// TestOrderEventsPostgres: the same once-only events with PostgreSQL, whose clock cannot be
// moved: placing, replaying, a webhook twice, a cancellation twice, a screening's cancellation
// twice.
func TestOrderEventsPostgres(t *testing.T) {
	st, err := postgres.Open(t.Context(), ticketstest.PostgresURL(t), postgres.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	_, _, _, scr := ticketstest.Fixture(t, st, ticketstest.StartsAt(time.Now().Add(6*time.Hour).Truncate(time.Second)))
	rec := &tape{}
	pay := &countingPay{Provider: testpay.Provider{Secret: []byte("whsec")}, refunds: map[string]int{}}
	w := &orderWorld{ctx: t.Context(), clk: &clock{t: time.Now()}, st: st, pay: pay, scr: scr,
		alice: tickets.Owner{UserID: "alice", SessionID: "s-alice"}, bob: tickets.Owner{UserID: "bob", SessionID: "s-bob"},
		svc: tickets.NewService(st, tickets.Config{Payments: map[string]tickets.PaymentProvider{"test": pay}, Audit: rec})}
	h := w.hold(t, w.alice, "A1", "A2")
	r, _, err := w.order(t, w.alice, "k-pay", h.ID, testpay.TokenSuccess)
	if err != nil {
		t.Fatal(err)
	}
	paid := orderID(r)
	if _, replayed, err := w.order(t, w.alice, "k-pay", h.ID, testpay.TokenSuccess); err != nil || !replayed {
		t.Fatalf("replay: %v %v", replayed, err)
	}
	for range 2 {
		if _, err := w.svc.CancelOrder(w.ctx, w.alice, paid); err != nil {
			t.Fatal(err)
		}
	}
	h2 := w.hold(t, w.bob, "B1", "B2")
	r, _, err = w.order(t, w.bob, "k-async", h2.ID, testpay.TokenAsync)
	if err != nil {
		t.Fatal(err)
	}
	async, _ := w.st.Order(w.ctx, orderID(r))
	for range 2 {
		w.webhook(t, testpay.EventSucceeded, async)
	}
	for range 2 {
		if err := w.svc.CancelScreening(w.ctx, scr.ID); err != nil {
			t.Fatal(err)
		}
	}
	want := "order_paid/success//alice/s-alice/" + paid + " order_cancelled/success/buyer/alice/s-alice/" + paid +
		" order_paid/success//bob/s-bob/" + async.ID + " order_cancelled/success/screening_cancelled/bob/s-bob/" + async.ID
	if got := rec.take(); got != want {
		t.Fatalf("events:\n got %s\nwant %s", got, want)
	}
}
