package ticketstest

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"boxoffice/tickets"
)

func testStalledOrders(t *testing.T, s tickets.Store) {
	_, _, _, scr := Fixture(t, s)
	u1, u2, u3, u4, u5 := newCustomer(), newCustomer(), newCustomer(), newCustomer(), newCustomer()
	// late: pending, its key completed, its hold past its deadline.
	late, _, _ := pendingOrder(t, s, u1, scr.ID, time.Second, "A1")
	// declined: its hold past its deadline, but not pending.
	declined, _ := beginShort(t, s, u4, scr.ID, time.Second, "A2")
	finish(t, s, finishTx(declined, tickets.PaymentDeclined, "", &renderer{status: 402}))
	paid, _ := confirmed(t, s, u5, scr.ID, "B5")
	// crashed: pending, its key's lease ended in flight, its hold within its deadline.
	hc := hold(t, s, u2, scr.ID, []string{"B1"})
	in := beginTx(u2, hc.ID)
	in.Lease = time.Millisecond
	crashed := begin(t, s, in, hc)
	// driven: pending, its key in flight within its lease, its hold within its deadline.
	driven, _ := beginFor(t, s, u3, hold(t, s, u3, scr.ID, []string{"C3"}))
	waitExpired(t, s, late.HoldID, declined.HoldID)
	waitStoreClock(t, s, scr.ID, leaseEnd(crashed, in.Lease))

	stalled := func(grace time.Duration, limit int, why string, want ...tickets.Order) {
		t.Helper()
		got, err := s.StalledOrders(t.Context(), grace, limit)
		if err != nil {
			t.Fatalf("%s: StalledOrders(%v, %d): %v", why, grace, limit, err)
		}
		if len(got) != len(want) {
			var ids []string
			for _, o := range got {
				ids = append(ids, o.ID+" ("+o.Status+")")
			}
			t.Fatalf("%s: StalledOrders(%v, %d) = %v, want %d orders", why, grace, limit, ids, len(want))
		}
		for i := range got {
			wantSameOrder(t, got[i], want[i], why+": StalledOrders, oldest first")
		}
	}
	// late is older than crashed by creation and by deadline.
	stalled(0, 100, "past the deadline, or the lease ended", late, crashed)
	stalled(0, 1, "the oldest stalled order", late)
	stalled(time.Hour, 100, "within an hour's grace (only the lease ended)", crashed)
	wantStored(t, s, driven, "a pending order within its lease and deadline")
	wantStored(t, s, paid, "a confirmed order")

	// Settling them: the late payment is cancelled, the crashed one succeeds in time.
	finish(t, s, finishTx(late, tickets.PaymentCancelled, "", nil))
	ftx := finishTx(crashed, tickets.PaymentSucceeded, "ch_1", nil)
	wantConfirmed(t, finish(t, s, ftx).Order, crashed, ftx.Tickets, "a crashed order settled")
	stalled(0, 100, "once settled")
	wantOrderInvariants(t, s, "after settling stalled orders", []string{scr.ID}, u1, u2, u3, u4, u5)
}

func testOrdersPaging(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	_, _, _, scr := Fixture(t, s)
	u, u2 := newCustomer(), newCustomer()
	var want []tickets.Order
	for i, seat := range []string{"A1", "A2", "A3", "A4", "A5"} {
		h := hold(t, s, u, scr.ID, []string{seat}) // replaces the user's previous hold
		o, _ := beginFor(t, s, u, h)
		switch i % 3 {
		case 0:
			o = finish(t, s, finishTx(o, tickets.PaymentSucceeded, "ch_"+o.ID, nil)).Order
		case 1:
			o = finish(t, s, finishTx(o, tickets.PaymentDeclined, "", nil)).Order
		}
		want = append(want, o)
	}
	theirs, _ := confirmed(t, s, u2, scr.ID, "C5")
	slices.SortFunc(want, func(a, b tickets.Order) int {
		if newerThan(a, b) {
			return -1
		}
		return 1
	})

	all, err := s.Orders(ctx, tickets.OrderQuery{UserID: u.user, Limit: 100})
	if err != nil || len(all) != len(want) {
		t.Fatalf("Orders(limit 100) = %d orders, %v; want %d", len(all), err, len(want))
	}
	for i := range all {
		wantSameOrder(t, all[i], want[i], "Orders, newest first by (CreatedAt, ID)")
	}
	q := tickets.OrderQuery{UserID: u.user, Limit: 2}
	var paged []tickets.Order
	for page := 0; ; page++ {
		list, err := s.Orders(ctx, q)
		if err != nil {
			t.Fatalf("Orders(%+v): %v", q, err)
		}
		if wantLen := min(2, len(want)-len(paged)); len(list) != wantLen {
			t.Fatalf("page %d of Orders: %d orders, want %d", page, len(list), wantLen)
		}
		if len(list) == 0 {
			break
		}
		paged = append(paged, list...)
		q.BeforeAt, q.BeforeID = list[len(list)-1].CreatedAt, list[len(list)-1].ID
	}
	for i := range paged {
		wantSameOrder(t, paged[i], want[i], "Orders paged two at a time")
	}
	one, err := s.Orders(ctx, tickets.OrderQuery{UserID: u.user, BeforeAt: want[1].CreatedAt, BeforeID: want[1].ID, Limit: 1})
	if err != nil || len(one) != 1 || one[0].ID != want[2].ID {
		t.Fatalf("Orders before the second newest, limit 1 = %d orders, %v; want %s", len(one), err, want[2].ID)
	}
	wantOrderIDs(t, s, u2.user, "another user's orders", theirs.ID)
	wantOrderIDs(t, s, newID(), "a user with no orders")
	wantOrderInvariants(t, s, "after several orders", []string{scr.ID}, u, u2)
}

func testConcurrentSameKey(t *testing.T, s tickets.Store) {
	_, _, _, scr := Fixture(t, s)
	u := newCustomer()
	h := hold(t, s, u, scr.ID, []string{"A1", "A2"})
	first := beginTx(u, h.ID)
	const n = 16
	ins := make([]tickets.BeginOrderTx, n)
	results := make([]tickets.BeginOrderResult, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range ins {
		ins[i] = retry(first)
		wg.Go(func() {
			<-start
			results[i], errs[i] = s.BeginOrder(t.Context(), ins[i])
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i := range ins {
		if errs[i] == nil && results[i].Replay == nil {
			if winner >= 0 {
				t.Fatalf("two requests with one key both began an order: %s (taken over %v) and %s (taken over %v)",
					results[winner].Order.ID, results[winner].TakenOver, results[i].Order.ID, results[i].TakenOver)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("none of %d requests with one key began an order: %v", n, errs)
	}
	o := wantBegun(t, results[winner], errs[winner], ins[winner], h, "the request that won its key")
	for i := range ins {
		if i == winner {
			continue
		}
		if errs[i] != nil {
			wantInFlight(t, errs[i], keyLease, "a concurrent request with a key in flight")
		}
		wantNoOrder(t, s, ins[i], "a concurrent request that lost its key")
	}
	wantOrderIDs(t, s, u.user, "after concurrent requests with one key", o.ID)
	wantOrderInvariants(t, s, "after concurrent requests with one key", []string{scr.ID}, u)
}

func testConcurrentOneHold(t *testing.T, s tickets.Store) {
	_, _, _, scr := Fixture(t, s)
	u := newCustomer()
	h := hold(t, s, u, scr.ID, []string{"B3", "B4"})
	const n = 16
	ins := make([]tickets.BeginOrderTx, n)
	results := make([]tickets.BeginOrderResult, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range ins {
		ins[i] = beginTx(u, h.ID)
		wg.Go(func() {
			<-start
			results[i], errs[i] = s.BeginOrder(t.Context(), ins[i])
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i := range ins {
		if errs[i] == nil {
			if winner >= 0 {
				t.Fatalf("two keys began orders for one hold: %s and %s", results[winner].Order.ID, results[i].Order.ID)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("none of %d keys began an order for the hold: %v", n, errs)
	}
	o := wantBegun(t, results[winner], errs[winner], ins[winner], h, "the key that won the hold")
	loser := -1
	for i := range ins {
		if i == winner {
			continue
		}
		loser = i
		wantOrderExists(t, errs[i], o.ID, "a concurrent key for a hold another key ordered")
		wantNoOrder(t, s, ins[i], "a key that lost the hold")
	}
	wantOrderIDs(t, s, u.user, "after concurrent keys for one hold", o.ID)

	// The losers' keys were not stored: once the order is declined, one of them is fresh.
	finish(t, s, finishTx(o, tickets.PaymentDeclined, "", nil))
	o2 := begin(t, s, retry(ins[loser]), h)
	wantOrderIDs(t, s, u.user, "after a losing key was sent again", o.ID, o2.ID)
	if _, err := s.Order(t.Context(), ins[loser].Order.ID); !errors.Is(err, tickets.ErrNotFound) {
		t.Fatalf("the losing request's own order ID was stored: %v", err)
	}
	wantOrderInvariants(t, s, "after concurrent keys for one hold", []string{scr.ID}, u)
}
