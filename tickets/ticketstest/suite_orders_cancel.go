package ticketstest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"boxoffice/tickets"
)

// voided is o cancelled: its tickets void, and refund rf.
func voided(o tickets.Order, rf tickets.Refund) tickets.Order {
	o.Status = tickets.OrderCancelled
	o.Tickets = slices.Clone(o.Tickets)
	for i := range o.Tickets {
		o.Tickets[i].Status = tickets.TicketVoid
	}
	o.Refund = &rf
	return o
}

func testCancelOrder(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	_, _, _, scr := Fixture(t, s) // starts in two hours
	u, u2, u3, u4 := newCustomer(), newCustomer(), newCustomer(), newCustomer()
	o, _ := confirmed(t, s, u, scr.ID, "A1", "A2")
	open := scr.StartsAt.Add(-time.Second) // the cut-off is before the start
	v := version(t, s, scr.ID)

	for _, c := range []struct {
		what, id, user string
		startsAfter    time.Time
		want           error
	}{
		{"another user's order", o.ID, u2.user, open, tickets.ErrNotFound},
		{"an unknown order", newID(), u.user, open, tickets.ErrNotFound},
		{"an order whose screening starts at the cut-off", o.ID, u.user, scr.StartsAt, tickets.ErrCancellationClosed},
		{"an order whose screening starts before the cut-off", o.ID, u.user, scr.StartsAt.Add(time.Hour), tickets.ErrCancellationClosed},
	} {
		got, err := s.CancelOrder(ctx, c.id, c.user, c.startsAfter)
		if !errors.Is(err, c.want) {
			t.Fatalf("CancelOrder of %s = %s, %v; want %v", c.what, showOrder(got), err, c.want)
		}
		wantStored(t, s, o, "after a refused CancelOrder of "+c.what)
	}
	wantTaken(t, "after refused cancellations", availability(t, s, scr.ID), sold("A1", "A2"))
	if got := version(t, s, scr.ID); got != v {
		t.Fatalf("version %d after refused cancellations, was %d", got, v)
	}

	got, err := s.CancelOrder(ctx, o.ID, u.user, open)
	if err != nil {
		t.Fatalf("CancelOrder before the cut-off: %v", err)
	}
	rf := wantRefund(t, got, tickets.RefundCustomer, tickets.RefundPending, "a cancelled order")
	wantSameOrder(t, got, voided(o, rf), "CancelOrder before the cut-off (tickets void, refunded)")
	wantStored(t, s, got, "a cancelled order")
	a := availability(t, s, scr.ID)
	wantTaken(t, "after the order was cancelled", a, nil)
	if a.Version <= v {
		t.Fatalf("version %d after a cancellation freed seats, was %d", a.Version, v)
	}
	wantSeatsAvailable(t, s, scr.ID, len(Layout()), "after the only order was cancelled")

	again, err := s.CancelOrder(ctx, o.ID, u.user, open)
	if err != nil {
		t.Fatalf("CancelOrder of a cancelled order: %v", err)
	}
	wantSameOrder(t, again, got, "CancelOrder of a cancelled order (unchanged)")
	again, err = s.CancelOrder(ctx, o.ID, u.user, scr.StartsAt.Add(time.Hour))
	if err != nil {
		t.Fatalf("CancelOrder of a cancelled order after the cut-off (a retry): %v", err)
	}
	wantSameOrder(t, again, got, "CancelOrder of a cancelled order after the cut-off (unchanged)")
	if got := version(t, s, scr.ID); got != a.Version {
		t.Fatalf("version %d after cancelling a cancelled order, was %d", got, a.Version)
	}
	list, err := s.Refunds(ctx, scr.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantRefundIDs(t, list, "Refunds after cancelling one order twice", rf)

	// The freed seats sell again; orders that are not confirmed cannot be cancelled.
	resold, _ := confirmed(t, s, u2, scr.ID, "A2", "A3")
	pending, _ := beginFor(t, s, u3, hold(t, s, u3, scr.ID, []string{"B1"}))
	declined, _ := beginFor(t, s, u4, hold(t, s, u4, scr.ID, []string{"B2"}))
	declined = finish(t, s, finishTx(declined, tickets.PaymentDeclined, "", &renderer{status: 402})).Order
	for _, c := range []struct {
		o    tickets.Order
		user string
	}{{pending, u3.user}, {declined, u4.user}} {
		got, err := s.CancelOrder(ctx, c.o.ID, c.user, open)
		if !errors.Is(err, tickets.ErrOrderNotCancellable) {
			t.Fatalf("CancelOrder of a %s order = %s, %v; want ErrOrderNotCancellable", c.o.Status, showOrder(got), err)
		}
		wantStored(t, s, c.o, "a "+c.o.Status+" order after CancelOrder")
	}
	wantStored(t, s, resold, "the order that bought a cancelled order's seat")
	wantTaken(t, "after refused cancellations of orders not confirmed", availability(t, s, scr.ID),
		sold("A2", "A3").and(heldBy(getHold(t, s, pending.HoldID), getHold(t, s, declined.HoldID))))
	wantOrderInvariants(t, s, "after cancellations", []string{scr.ID}, u, u2, u3, u4)
}

func testCancelScreeningOrders(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	m, _, hall, scr := Fixture(t, s)
	other := addScreening(t, s, m.ID, hall, scr.StartsAt.Add(3*time.Hour))
	u1, u2, u3, u4, u5 := newCustomer(), newCustomer(), newCustomer(), newCustomer(), newCustomer()
	users := []customer{u1, u2, u3, u4, u5}
	o1, _ := confirmed(t, s, u1, scr.ID, "A1", "A2")
	o2, _ := confirmed(t, s, u2, scr.ID, "B1")
	hp := hold(t, s, u3, scr.ID, []string{"C3"})
	pending, _ := beginFor(t, s, u3, hp)
	hd := hold(t, s, u5, scr.ID, []string{"C5"})
	declined, _ := beginFor(t, s, u5, hd)
	declined = finish(t, s, finishTx(declined, tickets.PaymentDeclined, "", nil)).Order
	kept, _ := confirmed(t, s, u4, other.ID, "A1")
	v := version(t, s, scr.ID)

	if err := s.CancelScreening(ctx, scr.ID); err != nil {
		t.Fatalf("CancelScreening: %v", err)
	}
	var refunds []tickets.Refund
	for _, o := range []tickets.Order{o1, o2} {
		got := getOrder(t, s, o.ID)
		rf := wantRefund(t, got, tickets.RefundScreening, tickets.RefundPending, "an order of a cancelled screening")
		wantSameOrder(t, got, voided(o, rf), "an order of a cancelled screening (tickets void, refunded)")
		refunds = append(refunds, rf)
	}
	check := func(why string) {
		t.Helper()
		wantStored(t, s, pending, why+": a pending order (it stays pending)")
		wantStored(t, s, declined, why+": a declined order")
		wantStatus(t, s, hp.ID, tickets.HoldCancelled, why+": the hold of a pending order")
		wantStatus(t, s, hd.ID, tickets.HoldCancelled, why+": the hold of a declined order")
		wantStored(t, s, kept, why+": an order for another screening")
		wantTaken(t, why, availability(t, s, scr.ID), nil)
		wantTaken(t, why+": the other screening", availability(t, s, other.ID), sold("A1"))
		list, err := s.Refunds(ctx, scr.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantRefundIDs(t, list, why+": Refunds", refunds...)
		if list, err := s.Refunds(ctx, other.ID); err != nil || len(list) != 0 {
			t.Fatalf("%s: Refunds(the other screening) = %+v, %v; want none", why, list, err)
		}
		wantOrderInvariants(t, s, why, []string{scr.ID, other.ID}, users...)
	}
	check("after cancelling the screening")
	vc := version(t, s, scr.ID)
	if vc <= v {
		t.Fatalf("version %d after cancelling a screening with sold seats, was %d", vc, v)
	}
	if err := s.CancelScreening(ctx, scr.ID); err != nil {
		t.Fatalf("CancelScreening again: %v", err)
	}
	check("after cancelling the screening twice")
	got, err := s.CancelOrder(ctx, o1.ID, u1.user, scr.StartsAt.Add(-time.Second))
	if err != nil {
		t.Fatalf("CancelOrder of an order its screening's cancellation cancelled: %v", err)
	}
	wantSameOrder(t, got, getOrder(t, s, o1.ID), "CancelOrder of a cancelled order (unchanged)")
	wantRefund(t, got, tickets.RefundScreening, tickets.RefundPending, "CancelOrder of an order cancelled with its screening")

	// The pending payment succeeds afterwards: refunded, nothing claimed.
	res := finish(t, s, finishTx(pending, tickets.PaymentSucceeded, "ch_late", nil))
	if res.Order.Status != tickets.OrderRefunded || res.Order.LatePayment != tickets.LateRefunded {
		t.Fatalf("a payment that succeeded after its screening was cancelled: order %q, late %q; want %q, %q",
			res.Order.Status, res.Order.LatePayment, tickets.OrderRefunded, tickets.LateRefunded)
	}
	refunds = append(refunds, wantRefund(t, res.Order, tickets.RefundLate, tickets.RefundPending, "a payment after the cancellation"))
	pending = res.Order
	check("after a payment succeeded at a cancelled screening")

	if list, err := s.Refunds(ctx, newID()); !errors.Is(err, tickets.ErrNotFound) {
		t.Fatalf("Refunds(unknown screening) = %+v, %v; want ErrNotFound", list, err)
	}
}

func testPendingRefunds(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	_, _, _, scr := Fixture(t, s)
	u1, u2, u3 := newCustomer(), newCustomer(), newCustomer()
	open := scr.StartsAt.Add(-time.Minute)
	if list, err := s.PendingRefunds(ctx, 0, 100); err != nil || len(list) != 0 {
		t.Fatalf("PendingRefunds with no refunds = %+v, %v; want none", list, err)
	}
	var refunds []tickets.Refund
	var orders []tickets.Order
	for _, c := range []struct {
		u    customer
		seat string
	}{{u1, "A1"}, {u2, "B1"}} {
		o, _ := confirmed(t, s, c.u, scr.ID, c.seat)
		o, err := s.CancelOrder(ctx, o.ID, c.u.user, open)
		if err != nil {
			t.Fatal(err)
		}
		orders = append(orders, o)
		refunds = append(refunds, wantRefund(t, o, tickets.RefundCustomer, tickets.RefundPending, "a cancelled order"))
	}
	kept, _ := confirmed(t, s, u3, scr.ID, "C5")

	pendingRefunds := func(minAge time.Duration, limit int, why string, want ...tickets.Refund) {
		t.Helper()
		list, err := s.PendingRefunds(ctx, minAge, limit)
		if err != nil {
			t.Fatalf("%s: PendingRefunds(%v, %d): %v", why, minAge, limit, err)
		}
		wantRefundIDs(t, list, why+": PendingRefunds", want...)
	}
	pendingRefunds(0, 100, "two refunds pending", refunds...)
	oldest := refunds[0]
	if refundBefore(refunds[1], refunds[0]) {
		oldest = refunds[1]
	}
	pendingRefunds(0, 1, "the oldest of two refunds", oldest)
	pendingRefunds(time.Hour, 100, "refunds younger than an hour")

	for i := range 2 {
		if err := s.RefundSucceeded(ctx, refunds[0].ID, "re_1"); err != nil {
			t.Fatalf("RefundSucceeded #%d: %v", i+1, err)
		}
		got := getOrder(t, s, orders[0].ID)
		done := wantRefund(t, got, tickets.RefundCustomer, tickets.RefundSucceeded, "a refund the provider returned")
		want := refunds[0]
		want.Status, want.ProviderRef, want.CompletedAt = tickets.RefundSucceeded, "re_1", done.CompletedAt
		if !sameRefund(&done, &want) {
			t.Fatalf("refund after RefundSucceeded #%d = %+v, want %+v", i+1, done, want)
		}
		wantSameOrder(t, got, voided(orders[0], want), "the order of a refund the provider returned")
		pendingRefunds(0, 100, "after one refund succeeded", refunds[1])
		refunds[0] = want
	}
	for _, id := range []string{newID(), tickets.RefundID(kept.ID)} {
		if err := s.RefundSucceeded(ctx, id, "re_x"); !errors.Is(err, tickets.ErrNotFound) {
			t.Fatalf("RefundSucceeded(%s, which does not exist): err = %v, want ErrNotFound", id, err)
		}
	}
	wantStored(t, s, kept, "a confirmed order whose refund ID was named")
	list, err := s.Refunds(ctx, scr.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantRefundIDs(t, list, "Refunds, one succeeded and one pending", refunds...)
	if err := s.RefundSucceeded(ctx, refunds[1].ID, "re_2"); err != nil {
		t.Fatal(err)
	}
	pendingRefunds(0, 100, "after both refunds succeeded")
	wantOrderInvariants(t, s, "after refunds", []string{scr.ID}, u1, u2, u3)
}
