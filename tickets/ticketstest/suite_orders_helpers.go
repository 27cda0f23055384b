package ticketstest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"boxoffice/tickets"
)

// orderMethod is the payment method of the suite's orders (the store only records it).
const orderMethod = "test"

// keyLease is the idempotency-key lease of the suite's requests unless a case needs another.
const keyLease = time.Minute

// beginTx is a first request of c to pay for holdID: a fresh idempotency key and fingerprint,
// and fresh order and payment IDs, as tickets.Service.PlaceOrder draws them.
func beginTx(c customer, holdID string) tickets.BeginOrderTx {
	fp := make([]byte, 32)
	rand.Read(fp)
	return tickets.BeginOrderTx{
		Key:   tickets.IdempotencyKey{UserID: c.user, Key: "key-" + newID(), Fingerprint: fp},
		Lease: keyLease,
		Order: tickets.Order{ID: newID(), UserID: c.user, SessionID: c.session, HoldID: holdID,
			Payment: tickets.Payment{ID: newID(), Method: orderMethod, Token: "tok_" + newID()}},
	}
}

// retry is in sent again (same key, fingerprint, hold and token): the service draws new order
// and payment IDs for every request, and gives the lease of its configuration.
func retry(in tickets.BeginOrderTx) tickets.BeginOrderTx {
	out := in
	out.Key.Fingerprint = slices.Clone(in.Key.Fingerprint)
	out.Lease = keyLease
	out.Order.ID, out.Order.Payment.ID = newID(), newID()
	return out
}

// otherRequest is another request (another fingerprint) of in's user with in's key.
func otherRequest(in tickets.BeginOrderTx, holdID string) tickets.BeginOrderTx {
	out := beginTx(customer{user: in.Order.UserID, session: in.Order.SessionID}, holdID)
	out.Key.Key = in.Key.Key
	return out
}

// begin runs in, which must begin a fresh order for h, and returns the order.
func begin(t *testing.T, s tickets.Store, in tickets.BeginOrderTx, h tickets.Hold) tickets.Order {
	t.Helper()
	r, err := s.BeginOrder(t.Context(), in)
	return wantBegun(t, r, err, in, h, "BeginOrder with a fresh key")
}

// beginFor begins an order of c for h with a fresh key and returns it with its request.
func beginFor(t *testing.T, s tickets.Store, c customer, h tickets.Hold) (tickets.Order, tickets.BeginOrderTx) {
	t.Helper()
	in := beginTx(c, h.ID)
	return begin(t, s, in, h), in
}

// beginShort holds seatIDs for c with a hold of ttl and begins an order for it with a fresh
// key. On a busy machine the hold may expire before BeginOrder runs: then it holds again with
// twice the time (up to a minute), so that the case never depends on how fast the machine is.
func beginShort(t *testing.T, s tickets.Store, c customer, screeningID string, ttl time.Duration, seatIDs ...string) (tickets.Order, tickets.BeginOrderTx) {
	t.Helper()
	for {
		h := hold(t, s, c, screeningID, seatIDs, ttl)
		in := beginTx(c, h.ID)
		r, err := s.BeginOrder(t.Context(), in)
		if errors.Is(err, tickets.ErrHoldExpired) && ttl < time.Minute {
			ttl *= 2
			continue
		}
		return wantBegun(t, r, err, in, h, "BeginOrder with a fresh key"), in
	}
}

// wantBegun fails unless BeginOrder returned a fresh order for in (no replay, not taken over):
// pending, with the hold's screening, seats, total and deadline, and in's payment, pending.
func wantBegun(t *testing.T, r tickets.BeginOrderResult, err error, in tickets.BeginOrderTx, h tickets.Hold, why string) tickets.Order {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", why, err)
	}
	if r.Replay != nil || r.TakenOver {
		t.Fatalf("%s: Replay %+v, TakenOver %v; want a fresh order", why, r.Replay, r.TakenOver)
	}
	o := r.Order
	want := tickets.Order{ID: in.Order.ID, UserID: in.Order.UserID, SessionID: in.Order.SessionID, HoldID: h.ID,
		ScreeningID: h.ScreeningID, SeatIDs: h.SeatIDs, Total: h.Total, Status: tickets.OrderPending,
		Payment: tickets.Payment{ID: in.Order.Payment.ID, Method: in.Order.Payment.Method, Token: in.Order.Payment.Token,
			Status: tickets.PaymentPending},
		PaymentDeadline: h.ExpiresAt, CreatedAt: o.CreatedAt}
	if o.CreatedAt.IsZero() {
		t.Fatalf("%s: CreatedAt is zero", why)
	}
	wantSameOrder(t, o, want, why+" (the hold's screening, seats, total and deadline; the payment pending)")
	return o
}

// renderer is FinishOrderTx.Reply: it renders a reply whose body is JSON as no database JSON
// type would keep it (spacing, key order, a trailing newline) followed by a byte that is not
// UTF-8, so that only a byte-for-byte copy replays it.
type renderer struct {
	status int
	calls  int
	saw    tickets.Order // the order the last reply was rendered for
	last   tickets.Reply
}

func (r *renderer) render(o tickets.Order) tickets.Reply {
	r.calls++
	r.saw = o
	body := fmt.Appendf(nil, "{\"status\":  %q, \"id\":%q,\n \"hall\": \"Saal \u00fc\"}\n\xff", o.Status, o.ID)
	r.last = tickets.Reply{Status: r.status, ContentType: "application/json; charset=utf-8",
		Location: "/v1/orders/" + o.ID, Body: body}
	return r.last
}

// newTickets makes one valid ticket per seat, in the seats' order, with fresh IDs and codes.
func newTickets(seatIDs []string) []tickets.Ticket {
	out := make([]tickets.Ticket, len(seatIDs))
	for i, id := range seatIDs {
		out[i] = tickets.Ticket{ID: newID(), SeatID: id, Code: strings.ToUpper(newID()), Status: tickets.TicketValid}
	}
	return out
}

// finishTx reports status (and the provider's ref) for o, with fresh tickets for its seats and
// r's render as the reply (none when r is nil).
func finishTx(o tickets.Order, status, ref string, r *renderer) tickets.FinishOrderTx {
	tx := tickets.FinishOrderTx{OrderID: o.ID, Payment: tickets.Payment{Status: status, ProviderRef: ref},
		Tickets: newTickets(o.SeatIDs)}
	if r != nil {
		tx.Reply = r.render
	}
	return tx
}

func finish(t *testing.T, s tickets.Store, tx tickets.FinishOrderTx) tickets.FinishOrderResult {
	t.Helper()
	res, err := s.FinishOrder(t.Context(), tx)
	if err != nil {
		t.Fatalf("FinishOrder(%s, payment %q): %v", tx.OrderID, tx.Payment.Status, err)
	}
	if res.Order.ID != tx.OrderID {
		t.Fatalf("FinishOrder(%s) returned order %q", tx.OrderID, res.Order.ID)
	}
	return res
}

// confirmed has c hold seatIDs at screeningID and pay for them: it returns the confirmed
// order with its key completed, and the reply stored with the key.
func confirmed(t *testing.T, s tickets.Store, c customer, screeningID string, seatIDs ...string) (tickets.Order, tickets.Reply) {
	t.Helper()
	h := hold(t, s, c, screeningID, seatIDs)
	o, _ := beginFor(t, s, c, h)
	r := &renderer{status: 201}
	tx := finishTx(o, tickets.PaymentSucceeded, "ch_"+newID(), r)
	res := finish(t, s, tx)
	wantConfirmed(t, res.Order, o, tx.Tickets, "order paid in time")
	return res.Order, r.last
}

// wantConfirmed fails unless got is begun confirmed by a succeeded payment with one valid
// ticket per seat (IDs and codes from tks, in seat order) and no refund.
func wantConfirmed(t *testing.T, got, begun tickets.Order, tks []tickets.Ticket, why string) {
	t.Helper()
	if got.Status != tickets.OrderConfirmed || got.Payment.Status != tickets.PaymentSucceeded || got.Refund != nil {
		t.Fatalf("%s: order %s is %q, payment %q, refund %+v; want %q, %q, no refund", why, got.ID, got.Status,
			got.Payment.Status, got.Refund, tickets.OrderConfirmed, tickets.PaymentSucceeded)
	}
	want := slices.Clone(tks)
	slices.SortFunc(want, func(a, b tickets.Ticket) int { return strings.Compare(a.SeatID, b.SeatID) })
	if !slices.Equal(got.Tickets, want) {
		t.Fatalf("%s: order %s has tickets\n\t%+v\nwant one valid ticket per seat, in seat order, as given:\n\t%+v", why, got.ID, got.Tickets, want)
	}
	wantSameFields(t, got, begun, why)
}

// wantSameFields fails unless got keeps what begun was created with.
func wantSameFields(t *testing.T, got, begun tickets.Order, why string) {
	t.Helper()
	if got.ID != begun.ID || got.UserID != begun.UserID || got.SessionID != begun.SessionID || got.HoldID != begun.HoldID ||
		got.ScreeningID != begun.ScreeningID || !slices.Equal(got.SeatIDs, begun.SeatIDs) || got.Total != begun.Total ||
		got.Payment.ID != begun.Payment.ID || got.Payment.Method != begun.Payment.Method || got.Payment.Token != begun.Payment.Token ||
		!near(got.PaymentDeadline, begun.PaymentDeadline, sameInstant) || !near(got.CreatedAt, begun.CreatedAt, sameInstant) {
		t.Fatalf("%s: order changed what it was created with:\n\tgot   %+v\n\tbegun %+v", why, got, begun)
	}
}

// wantRefund fails unless o has a refund of its whole payment with reason and status.
func wantRefund(t *testing.T, o tickets.Order, reason, status, why string) tickets.Refund {
	t.Helper()
	rf := o.Refund
	if rf == nil {
		t.Fatalf("%s: order %s (%s) has no refund, want a %s one (%s)", why, o.ID, o.Status, status, reason)
	}
	if rf.ID != tickets.RefundID(o.ID) || rf.OrderID != o.ID || rf.ScreeningID != o.ScreeningID || rf.PaymentID != o.Payment.ID ||
		rf.Method != o.Payment.Method || rf.Amount != o.Total || rf.Reason != reason || rf.Status != status ||
		rf.CreatedAt.IsZero() || rf.CompletedAt.IsZero() != (status == tickets.RefundPending) {
		t.Fatalf("%s: order %s has refund\n\t%+v\nwant ID %q, its screening, payment and total, reason %q, status %q, CreatedAt set, CompletedAt set iff not pending",
			why, o.ID, *rf, tickets.RefundID(o.ID), reason, status)
	}
	return *rf
}

// wantReply fails unless got is want, byte for byte.
func wantReply(t *testing.T, got *tickets.Reply, want tickets.Reply, why string) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: no reply, want %d %q", why, want.Status, want.Body)
	}
	if got.Status != want.Status || got.ContentType != want.ContentType || got.Location != want.Location || !bytes.Equal(got.Body, want.Body) {
		t.Fatalf("%s: reply\n\t%d %q %q %q\nwant, byte for byte,\n\t%d %q %q %q", why, got.Status, got.ContentType, got.Location,
			got.Body, want.Status, want.ContentType, want.Location, want.Body)
	}
}

// wantReplay fails unless in, sent again, replays want and stores nothing.
func wantReplay(t *testing.T, s tickets.Store, in tickets.BeginOrderTx, want tickets.Reply, why string) {
	t.Helper()
	again := retry(in)
	r, err := s.BeginOrder(t.Context(), again)
	if err != nil {
		t.Fatalf("%s: BeginOrder again with the same key and fingerprint: %v; want the stored reply", why, err)
	}
	if r.TakenOver {
		t.Fatalf("%s: BeginOrder again with a completed key: TakenOver", why)
	}
	wantReply(t, r.Replay, want, why+": replay")
	wantNoOrder(t, s, again, why+": a replayed request")
}

// wantInFlight fails unless err is *InFlightError with a RetryAfter of at least a second and
// at most lease.
func wantInFlight(t *testing.T, err error, lease time.Duration, why string) {
	t.Helper()
	var ife *tickets.InFlightError
	if !errors.As(err, &ife) || !errors.Is(err, tickets.ErrIdempotencyInFlight) {
		t.Fatalf("%s: err = %v, want *tickets.InFlightError matching ErrIdempotencyInFlight", why, err)
	}
	if ife.RetryAfter < time.Second || ife.RetryAfter > max(lease, time.Second)+ttlSlack {
		t.Fatalf("%s: RetryAfter %v, want what is left of the lease %v, and at least a second", why, ife.RetryAfter, lease)
	}
}

// wantOrderExists fails unless err is *OrderExistsError naming orderID.
func wantOrderExists(t *testing.T, err error, orderID, why string) {
	t.Helper()
	var oe *tickets.OrderExistsError
	if !errors.As(err, &oe) || !errors.Is(err, tickets.ErrOrderExists) {
		t.Fatalf("%s: err = %v, want *tickets.OrderExistsError matching ErrOrderExists", why, err)
	}
	if oe.OrderID != orderID {
		t.Fatalf("%s: OrderExistsError names %q, want the hold's order %q", why, oe.OrderID, orderID)
	}
}
