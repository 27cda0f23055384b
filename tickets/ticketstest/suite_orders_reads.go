package ticketstest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"boxoffice/tickets"
)

// wantNoOrder fails unless nothing of in's order was stored.
func wantNoOrder(t *testing.T, s tickets.Store, in tickets.BeginOrderTx, why string) {
	t.Helper()
	if o, err := s.Order(t.Context(), in.Order.ID); !errors.Is(err, tickets.ErrNotFound) {
		t.Fatalf("%s: Order(%s) = %+v, %v; want ErrNotFound (nothing stored)", why, in.Order.ID, o, err)
	}
	if o, err := s.OrderByPayment(t.Context(), in.Order.Payment.ID); !errors.Is(err, tickets.ErrNotFound) {
		t.Fatalf("%s: OrderByPayment(%s) = %+v, %v; want ErrNotFound (nothing stored)", why, in.Order.Payment.ID, o, err)
	}
}

func getOrder(t *testing.T, s tickets.Store, id string) tickets.Order {
	t.Helper()
	o, err := s.Order(t.Context(), id)
	if err != nil {
		t.Fatalf("Order(%s): %v", id, err)
	}
	return o
}

// wantStored fails unless Order and OrderByPayment read o back as it is.
func wantStored(t *testing.T, s tickets.Store, o tickets.Order, why string) {
	t.Helper()
	got := getOrder(t, s, o.ID)
	wantSameOrder(t, got, o, why+": Order")
	if !near(got.ServerTime, time.Now(), ttlSlack) { // the store's clock follows the host's
		t.Fatalf("%s: Order's ServerTime %v, want the store's clock now (%v)", why, got.ServerTime, time.Now())
	}
	byPayment, err := s.OrderByPayment(t.Context(), o.Payment.ID)
	if err != nil {
		t.Fatalf("%s: OrderByPayment(%s): %v", why, o.Payment.ID, err)
	}
	wantSameOrder(t, byPayment, o, why+": OrderByPayment")
}

// wantSameOrder fails unless got has every field of want (times to the stored precision; nil
// and empty slices alike), UpdatedAt aside.
func wantSameOrder(t *testing.T, got, want tickets.Order, why string) {
	t.Helper()
	if got.ID != want.ID || got.UserID != want.UserID || got.SessionID != want.SessionID || got.HoldID != want.HoldID ||
		got.ScreeningID != want.ScreeningID || !slices.Equal(got.SeatIDs, want.SeatIDs) || got.Total != want.Total ||
		got.Status != want.Status || got.LatePayment != want.LatePayment || got.Payment != want.Payment ||
		!near(got.PaymentDeadline, want.PaymentDeadline, sameInstant) || !slices.Equal(got.Tickets, want.Tickets) ||
		!sameRefund(got.Refund, want.Refund) || !near(got.CreatedAt, want.CreatedAt, sameInstant) {
		t.Fatalf("%s:\n\tgot  %s\n\twant %s", why, showOrder(got), showOrder(want))
	}
}

func sameRefund(a, b *tickets.Refund) bool {
	if a == nil || b == nil {
		return a == b
	}
	x, y := *a, *b
	if !near(x.CreatedAt, y.CreatedAt, sameInstant) || !near(x.CompletedAt, y.CompletedAt, sameInstant) ||
		x.CompletedAt.IsZero() != y.CompletedAt.IsZero() {
		return false
	}
	x.CreatedAt, y.CreatedAt, x.CompletedAt, y.CompletedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return x == y
}

func showOrder(o tickets.Order) string {
	rf := "<nil>"
	if o.Refund != nil {
		rf = fmt.Sprintf("%+v", *o.Refund)
	}
	return fmt.Sprintf("{ID:%s User:%s Session:%s Hold:%s Screening:%s Seats:%v Total:%+v Status:%s Late:%q Payment:%+v Deadline:%v Tickets:%+v Refund:%s Created:%v}",
		o.ID, o.UserID, o.SessionID, o.HoldID, o.ScreeningID, o.SeatIDs, o.Total, o.Status, o.LatePayment, o.Payment,
		o.PaymentDeadline, o.Tickets, rf, o.CreatedAt)
}

// sold is the claims of sold seats.
func sold(seatIDs ...string) claims {
	out := claims{}
	for _, id := range seatIDs {
		out[id] = tickets.Claim{SeatID: id, State: tickets.Sold}
	}
	return out
}

// allOrders pages through a user's orders (a few at a time), checking that they come newest
// first, and returns them.
func allOrders(t *testing.T, s tickets.Store, userID string) []tickets.Order {
	t.Helper()
	const page = 3
	q := tickets.OrderQuery{UserID: userID, Limit: page}
	var out []tickets.Order
	for {
		list, err := s.Orders(t.Context(), q)
		if err != nil {
			t.Fatalf("Orders(%+v): %v", q, err)
		}
		if len(list) > page {
			t.Fatalf("Orders(%+v) returned %d orders, more than the limit", q, len(list))
		}
		out = append(out, list...)
		if len(list) < page {
			break
		}
		last := list[len(list)-1]
		q.BeforeAt, q.BeforeID = last.CreatedAt, last.ID
	}
	for i := 1; i < len(out); i++ {
		if !newerThan(out[i-1], out[i]) {
			t.Fatalf("Orders of user %s: %s (created %v) listed before %s (created %v); want newest first by (CreatedAt, ID), each once",
				userID, out[i-1].ID, out[i-1].CreatedAt, out[i].ID, out[i].CreatedAt)
		}
	}
	return out
}

// newerThan reports whether a comes before b in Orders: (CreatedAt, ID) descending.
func newerThan(a, b tickets.Order) bool {
	if !a.CreatedAt.Equal(b.CreatedAt) {
		return a.CreatedAt.After(b.CreatedAt)
	}
	return a.ID > b.ID
}

// wantOrderIDs fails unless the user's orders are exactly ids, in any order.
func wantOrderIDs(t *testing.T, s tickets.Store, userID string, why string, ids ...string) {
	t.Helper()
	var got []string
	for _, o := range allOrders(t, s, userID) {
		got = append(got, o.ID)
	}
	if !slices.Equal(sorted(got), sorted(ids)) {
		t.Fatalf("%s: user %s has orders %v, want %v", why, userID, sorted(got), sorted(ids))
	}
}

// waitStoreClock sleeps in small steps until the store's clock (Availability.Now at
// screeningID) reads after until. It fails after 30 s.
func waitStoreClock(t *testing.T, s tickets.Store, screeningID string, until time.Time) {
	t.Helper()
	const patience = 30 * time.Second
	deadline := time.Now().Add(patience)
	for {
		now := availability(t, s, screeningID).Now
		if now.After(until) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v of waiting the store's clock reads %v, still before %v; does it follow the host's?", patience, now, until)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// leaseEnd is a moment safely after the lease of the key that began o ended.
func leaseEnd(o tickets.Order, lease time.Duration) time.Time {
	return o.CreatedAt.Add(lease + 10*time.Millisecond)
}
