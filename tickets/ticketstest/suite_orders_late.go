package ticketstest

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"boxoffice/tickets"
)

// pendingOrder has c hold seatIDs (for ttl) and begin paying for them; the provider answers
// "pending" and the key is completed with that reply.
func pendingOrder(t *testing.T, s tickets.Store, c customer, screeningID string, ttl time.Duration, seatIDs ...string) (tickets.Order, tickets.BeginOrderTx, tickets.Reply) {
	t.Helper()
	o, in := beginShort(t, s, c, screeningID, ttl, seatIDs...)
	r := &renderer{status: 202}
	res := finish(t, s, finishTx(o, tickets.PaymentPending, "pi_"+o.ID, r))
	want := o
	want.Payment.ProviderRef = "pi_" + o.ID
	wantSameOrder(t, res.Order, want, "FinishOrder(pending)")
	wantReply(t, res.Reply, r.last, "FinishOrder(pending) with the key in flight")
	return res.Order, in, r.last
}

func testOrderPendingThenSucceeded(t *testing.T, s tickets.Store) {
	_, _, _, scr := Fixture(t, s)
	u := newCustomer()
	o, in, pending := pendingOrder(t, s, u, scr.ID, 10*time.Minute, "B3", "B4")
	wantStored(t, s, o, "an order whose payment is pending")
	wantStatus(t, s, o.HoldID, tickets.HoldActive, "the hold of a pending order")
	h := getHold(t, s, o.HoldID)
	wantTaken(t, "while the payment is pending", availability(t, s, scr.ID), heldBy(h))
	wantReplay(t, s, in, pending, "a retry while the payment is pending")
	v := version(t, s, scr.ID)

	// The webhook: no Reply; the key keeps the pending reply.
	ftx := finishTx(o, tickets.PaymentSucceeded, o.Payment.ProviderRef, nil)
	res := finish(t, s, ftx)
	wantConfirmed(t, res.Order, o, ftx.Tickets, "a pending payment that succeeded in time")
	if res.Order.LatePayment != "" {
		t.Fatalf("a payment that succeeded in time: LatePayment %q, want \"\"", res.Order.LatePayment)
	}
	wantReply(t, res.Reply, pending, "FinishOrder on a completed key (its stored reply)")
	wantStored(t, s, res.Order, "after the webhook")
	a := availability(t, s, scr.ID)
	wantTaken(t, "after the pending payment succeeded", a, sold("B3", "B4"))
	if a.Version <= v {
		t.Fatalf("version %d after seats were sold, was %d", a.Version, v)
	}
	wantStatus(t, s, o.HoldID, tickets.HoldConfirmed, "a hold paid for in time")
	wantReplay(t, s, in, pending, "a retry after the webhook (the reply stays the first one)")
	wantOrderInvariants(t, s, "after a pending payment succeeded", []string{scr.ID}, u)
}

func testLateReclaimed(t *testing.T, s tickets.Store) {
	_, _, _, scr := Fixture(t, s)
	u, u2 := newCustomer(), newCustomer()
	// o2's hold expires and is swept (its seats' claims freed); o's expires unswept.
	o2, in2, reply2 := pendingOrder(t, s, u2, scr.ID, time.Second, "B1", "B2")
	waitExpired(t, s, o2.HoldID)
	if _, err := s.Sweep(t.Context(), 100); err != nil {
		t.Fatal(err)
	}
	o, in, reply := pendingOrder(t, s, u, scr.ID, time.Second, "A1", "A2")
	waitExpired(t, s, o.HoldID)
	wantTaken(t, "once the holds of pending orders are past their deadline", availability(t, s, scr.ID), nil)
	v := version(t, s, scr.ID)

	for _, c := range []struct {
		o     tickets.Order
		in    tickets.BeginOrderTx
		reply tickets.Reply
		what  string
	}{{o, in, reply, "a late payment, hold not swept"}, {o2, in2, reply2, "a late payment, hold swept"}} {
		ftx := finishTx(c.o, tickets.PaymentSucceeded, c.o.Payment.ProviderRef, nil)
		res := finish(t, s, ftx)
		wantConfirmed(t, res.Order, c.o, ftx.Tickets, c.what+" with the seats free")
		if res.Order.LatePayment != tickets.LateReclaimed {
			t.Fatalf("%s with the seats free: LatePayment %q, want %q", c.what, res.Order.LatePayment, tickets.LateReclaimed)
		}
		wantReply(t, res.Reply, c.reply, c.what+": the key's stored reply")
		wantStored(t, s, res.Order, c.what)
		wantReplay(t, s, c.in, c.reply, c.what+": a retry")
	}
	a := availability(t, s, scr.ID)
	wantTaken(t, "after late payments re-claimed the seats", a, sold("A1", "A2", "B1", "B2"))
	if a.Version <= v {
		t.Fatalf("version %d after late payments sold seats, was %d", a.Version, v)
	}
	wantOrderInvariants(t, s, "after late payments re-claimed their seats", []string{scr.ID}, u, u2)
}

func testLateRefunded(t *testing.T, s tickets.Store) {
	_, _, _, scr := Fixture(t, s)
	u, u2, u3, u4 := newCustomer(), newCustomer(), newCustomer(), newCustomer()
	o, in, reply := pendingOrder(t, s, u, scr.ID, time.Second, "A1", "A2")
	o3, _, _ := pendingOrder(t, s, u3, scr.ID, time.Second, "B1", "B2")
	waitExpired(t, s, o.HoldID, o3.HoldID)
	theirs := hold(t, s, u2, scr.ID, []string{"A2", "A3"}) // re-held by another user
	bought, _ := confirmed(t, s, u4, scr.ID, "B2")         // bought by another user
	v := version(t, s, scr.ID)

	var refunds []tickets.Refund
	for _, c := range []struct {
		o    tickets.Order
		what string
	}{{o, "a late payment, a seat re-held"}, {o3, "a late payment, a seat sold"}} {
		ftx := finishTx(c.o, tickets.PaymentSucceeded, "ch_"+c.o.ID, nil)
		res := finish(t, s, ftx)
		got := res.Order
		if got.Status != tickets.OrderRefunded || got.LatePayment != tickets.LateRefunded ||
			got.Payment.Status != tickets.PaymentSucceeded || len(got.Tickets) != 0 {
			t.Fatalf("%s: order %q, late %q, payment %q, tickets %v; want %q, %q, %q, none", c.what, got.Status,
				got.LatePayment, got.Payment.Status, got.Tickets, tickets.OrderRefunded, tickets.LateRefunded, tickets.PaymentSucceeded)
		}
		wantSameFields(t, got, c.o, c.what)
		refunds = append(refunds, wantRefund(t, got, tickets.RefundLate, tickets.RefundPending, c.what))
		wantStored(t, s, got, c.what)

		// Twice: nothing more.
		again := finish(t, s, finishTx(c.o, tickets.PaymentSucceeded, "ch_"+c.o.ID, nil))
		wantSameOrder(t, again.Order, got, c.what+", recorded twice")
	}
	wantReplay(t, s, in, reply, "a retry of a refunded order (the reply stays the first one)")
	a := availability(t, s, scr.ID)
	wantTaken(t, "after late payments that were refunded (nothing claimed)", a, heldBy(theirs).and(sold("B2")))
	if a.Version < v {
		t.Fatalf("version went down from %d to %d", v, a.Version)
	}
	wantStored(t, s, bought, "the other user's order")
	list, err := s.Refunds(t.Context(), scr.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantRefundIDs(t, list, "Refunds after two late payments", refunds...)
	wantOrderInvariants(t, s, "after late payments that were refunded", []string{scr.ID}, u, u2, u3, u4)
}

// testSucceededAfterDecline: money always ends in tickets or a refund, also when a provider
// changes its mind about a declined payment. Whether such a success counts as in time or late
// is left open; which of two orders of one hold wins is too, but never both.
func testSucceededAfterDecline(t *testing.T, s tickets.Store) {
	_, _, _, scr := Fixture(t, s)
	u, u2 := newCustomer(), newCustomer()
	h := hold(t, s, u, scr.ID, []string{"A1", "A2"})
	o, _ := beginFor(t, s, u, h)
	finish(t, s, finishTx(o, tickets.PaymentDeclined, "", nil))
	ftx := finishTx(o, tickets.PaymentSucceeded, "ch_1", nil)
	wantConfirmed(t, finish(t, s, ftx).Order, o, ftx.Tickets, "a declined payment that succeeded after all, the hold still active")
	wantTaken(t, "after a declined payment succeeded", availability(t, s, scr.ID), sold("A1", "A2"))

	// Declined, ordered again with another key, then both payments succeed.
	h2 := hold(t, s, u2, scr.ID, []string{"B1", "B2"})
	first, _ := beginFor(t, s, u2, h2)
	finish(t, s, finishTx(first, tickets.PaymentDeclined, "", nil))
	second, _ := beginFor(t, s, u2, h2)
	for _, x := range []tickets.Order{first, second} {
		res := finish(t, s, finishTx(x, tickets.PaymentSucceeded, "ch_"+x.ID, nil))
		if st := res.Order.Status; st != tickets.OrderConfirmed && st != tickets.OrderRefunded {
			t.Fatalf("a succeeded payment of one of two orders for a hold: order %s is %q, want confirmed or refunded", x.ID, st)
		}
	}
	a, b := getOrder(t, s, first.ID), getOrder(t, s, second.ID)
	if (a.Status == tickets.OrderConfirmed) == (b.Status == tickets.OrderConfirmed) {
		t.Fatalf("two orders of one hold, both paid: %q and %q; want one confirmed and the other refunded", a.Status, b.Status)
	}
	wantTaken(t, "after both orders of a hold were paid", availability(t, s, scr.ID), sold("A1", "A2", "B1", "B2"))
	wantOrderInvariants(t, s, "after payments that succeeded after a decline", []string{scr.ID}, u, u2)
}

func testFinishTwice(t *testing.T, s tickets.Store) {
	_, _, _, scr := Fixture(t, s)
	u := newCustomer()
	h := hold(t, s, u, scr.ID, []string{"C3", "C4"})
	o, in := beginFor(t, s, u, h)
	r := &renderer{status: 201}
	first := finish(t, s, finishTx(o, tickets.PaymentSucceeded, "ch_1", r)).Order
	v := version(t, s, scr.ID)

	for _, c := range []struct{ status, ref string }{
		{tickets.PaymentSucceeded, "ch_1"},
		{tickets.PaymentSucceeded, "ch_other"},
		{tickets.PaymentDeclined, "ch_1"},
		{tickets.PaymentCancelled, "ch_1"},
		{tickets.PaymentPending, "ch_1"},
		{"", ""},
	} {
		why := "FinishOrder(" + c.status + ") on a confirmed order"
		res := finish(t, s, finishTx(o, c.status, c.ref, &renderer{status: 500}))
		wantSameOrder(t, res.Order, first, why)
		wantReply(t, res.Reply, r.last, why+": the key's stored reply")
		wantStored(t, s, first, why)
	}
	a := availability(t, s, scr.ID)
	wantTaken(t, "after news about a confirmed order", a, sold("C3", "C4"))
	if a.Version != v {
		t.Fatalf("version %d after FinishOrders that changed nothing, was %d", a.Version, v)
	}
	wantReplay(t, s, in, r.last, "a retry after repeated news")
	wantOrderInvariants(t, s, "after repeated news", []string{scr.ID}, u)
}

func testConcurrentFinishes(t *testing.T, s tickets.Store) {
	_, _, _, scr := Fixture(t, s)
	u := newCustomer()
	h := hold(t, s, u, scr.ID, []string{"A3", "A4"})
	o, _ := beginFor(t, s, u, h)
	const n = 8
	txs := make([]tickets.FinishOrderTx, n)
	results := make([]tickets.FinishOrderResult, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range txs {
		txs[i] = finishTx(o, tickets.PaymentSucceeded, "ch_1", &renderer{status: 201})
		wg.Go(func() {
			<-start
			results[i], errs[i] = s.FinishOrder(t.Context(), txs[i])
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, tx := range txs {
		if errs[i] != nil {
			t.Fatalf("concurrent FinishOrder(succeeded) #%d: %v", i, errs[i])
		}
		if slices.Equal(results[i].Order.Tickets, tx.Tickets) {
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("no concurrent FinishOrder's tickets were kept: %+v", results[0].Order.Tickets)
	}
	wantConfirmed(t, getOrder(t, s, o.ID), o, txs[winner].Tickets, "after concurrent FinishOrders")
	if results[winner].Reply == nil {
		t.Fatalf("concurrent FinishOrder whose tickets were kept returned no reply (its key was in flight, it gave a Reply)")
	}
	for i := range results {
		wantSameOrder(t, results[i].Order, results[winner].Order, "concurrent FinishOrder's result")
		wantReply(t, results[i].Reply, *results[winner].Reply, "concurrent FinishOrder's reply (the one stored)")
	}
	wantTaken(t, "after concurrent FinishOrders", availability(t, s, scr.ID), sold("A3", "A4"))
	wantOrderInvariants(t, s, "after concurrent FinishOrders", []string{scr.ID}, u)
}

// wantRefundIDs fails unless list is exactly want, oldest first by (CreatedAt, ID).
func wantRefundIDs(t *testing.T, list []tickets.Refund, why string, want ...tickets.Refund) {
	t.Helper()
	want = slices.Clone(want)
	slices.SortStableFunc(want, func(a, b tickets.Refund) int {
		switch {
		case refundBefore(a, b):
			return -1
		case refundBefore(b, a):
			return 1
		}
		return 0
	})
	if len(list) != len(want) {
		t.Fatalf("%s: %d refunds %+v, want %d: %+v", why, len(list), list, len(want), want)
	}
	for i := range list {
		if !sameRefund(&list[i], &want[i]) {
			t.Fatalf("%s: refund #%d is\n\t%+v\nwant (oldest first)\n\t%+v", why, i, list[i], want[i])
		}
	}
}

// testTicketsMustMatch: a success whose tickets do not name every seat of the order once is
// FieldErrors, and records nothing: no seat sold, the payment still pending.
func testTicketsMustMatch(t *testing.T, s tickets.Store) {
	_, _, _, scr := Fixture(t, s)
	u := newCustomer()
	h := hold(t, s, u, scr.ID, []string{"A1", "A2"})
	o, _ := beginFor(t, s, u, h)
	v := version(t, s, scr.ID)
	for name, tks := range map[string][]tickets.Ticket{
		"none":      nil,
		"one short": newTickets([]string{"A1"}),
		"wrong":     newTickets([]string{"A1", "B1"}),
		"twice":     newTickets([]string{"A1", "A1"}),
	} {
		tx := finishTx(o, tickets.PaymentSucceeded, "ch_1", &renderer{status: 201})
		tx.Tickets = tks
		if _, err := s.FinishOrder(t.Context(), tx); !errors.Is(err, tickets.ErrInvalidInput) {
			t.Fatalf("tickets %s: %v, want FieldErrors", name, err)
		}
	}
	wantStored(t, s, o, "after successes refused for their tickets")
	wantTaken(t, "after successes refused for their tickets", availability(t, s, scr.ID), heldBy(h))
	if got := version(t, s, scr.ID); got != v {
		t.Fatalf("version %d after refused successes, was %d", got, v)
	}
	wantOrderInvariants(t, s, "after refused successes", []string{scr.ID}, u)
}
