package ticketstest

import (
	"errors"
	"testing"
	"time"

	"boxoffice/tickets"
)

func testOrderSucceeded(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	_, _, _, scr := Fixture(t, s)
	u, u2 := newCustomer(), newCustomer()
	h := hold(t, s, u, scr.ID, []string{"A3", "A2"})
	theirs := hold(t, s, u2, scr.ID, []string{"B1"})
	v := version(t, s, scr.ID)

	in := beginTx(u, h.ID)
	o := begin(t, s, in, h)
	wantStored(t, s, o, "after BeginOrder")
	wantStatus(t, s, h.ID, tickets.HoldActive, "a hold being paid for")
	wantTaken(t, "while the payment is pending", availability(t, s, scr.ID), heldBy(h, theirs))
	for _, id := range []string{newID(), in.Order.Payment.ID} {
		if got, err := s.Order(ctx, id); !errors.Is(err, tickets.ErrNotFound) {
			t.Fatalf("Order(unknown ID) = %+v, %v; want ErrNotFound", got, err)
		}
	}
	if got, err := s.OrderByPayment(ctx, newID()); !errors.Is(err, tickets.ErrNotFound) {
		t.Fatalf("OrderByPayment(unknown payment) = %+v, %v; want ErrNotFound", got, err)
	}

	r := &renderer{status: 201}
	ftx := finishTx(o, tickets.PaymentSucceeded, "ch_"+newID(), r)
	res := finish(t, s, ftx)
	wantConfirmed(t, res.Order, o, ftx.Tickets, "FinishOrder(succeeded) in time")
	if res.Order.LatePayment != "" || res.Order.Payment.ProviderRef != ftx.Payment.ProviderRef {
		t.Fatalf("FinishOrder(succeeded) in time: LatePayment %q, ProviderRef %q; want \"\", %q",
			res.Order.LatePayment, res.Order.Payment.ProviderRef, ftx.Payment.ProviderRef)
	}
	if r.calls == 0 || r.saw.Status != tickets.OrderConfirmed || len(r.saw.Tickets) != len(h.SeatIDs) {
		t.Fatalf("Reply was called %d times, last for an order %q with %d tickets; want it rendered for the order as it is after the change",
			r.calls, r.saw.Status, len(r.saw.Tickets))
	}
	wantReply(t, res.Reply, r.last, "FinishOrder with the key in flight")
	wantStored(t, s, res.Order, "after FinishOrder(succeeded)")

	a := availability(t, s, scr.ID)
	wantTaken(t, "after the payment succeeded", a, sold("A2", "A3").and(heldBy(theirs)))
	if a.Version <= v {
		t.Fatalf("version %d after seats were sold, was %d: want it to grow", a.Version, v)
	}
	wantSeatsAvailable(t, s, scr.ID, len(Layout())-3, "two seats sold, one held")
	wantStatus(t, s, h.ID, tickets.HoldConfirmed, "a hold paid for in time")

	wantReplay(t, s, in, r.last, "a retry after the order succeeded")
	wantReplay(t, s, in, r.last, "a second retry")
	if got := version(t, s, scr.ID); got != a.Version {
		t.Fatalf("version %d after replays, was %d", got, a.Version)
	}
	wantOrderIDs(t, s, u.user, "after replays", o.ID)
	wantOrderInvariants(t, s, "after an order succeeded", []string{scr.ID}, u, u2)
}

func testOrderKeyReused(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	m, _, hall, scr := Fixture(t, s)
	later := addScreening(t, s, m.ID, hall, scr.StartsAt.Add(3*time.Hour))
	u, u2 := newCustomer(), newCustomer()
	h := hold(t, s, u, scr.ID, []string{"A1"})
	h2 := hold(t, s, u, later.ID, []string{"A1"})
	o, in := beginFor(t, s, u, h)

	refused := func(why string) {
		t.Helper()
		for _, holdID := range []string{h.ID, h2.ID, newID()} {
			other := otherRequest(in, holdID)
			_, err := s.BeginOrder(ctx, other)
			wantErr(t, err, tickets.ErrIdempotencyKeyReused, why+": the key with another fingerprint")
			wantNoOrder(t, s, other, why+": a request refused for reusing a key")
		}
		wantStatus(t, s, h2.ID, tickets.HoldActive, why+": the hold another request named")
		wantOrderIDs(t, s, u.user, why, o.ID)
	}
	refused("while the key is in flight")
	r := &renderer{status: 201}
	finish(t, s, finishTx(o, tickets.PaymentSucceeded, "ch_1", r))
	refused("once the key is completed")
	wantReplay(t, s, in, r.last, "the first request again")

	// Keys are the user's: another user's identical key and fingerprint is another request.
	h3 := hold(t, s, u2, scr.ID, []string{"B1"})
	in3 := beginTx(u2, h3.ID)
	in3.Key.Key, in3.Key.Fingerprint = in.Key.Key, in.Key.Fingerprint
	o3 := begin(t, s, in3, h3)
	wantOrderIDs(t, s, u2.user, "another user with the same key", o3.ID)
	wantOrderInvariants(t, s, "after reused keys", []string{scr.ID, later.ID}, u, u2)
}

func testOrderInFlight(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	_, _, _, scr := Fixture(t, s)
	u := newCustomer()
	h := hold(t, s, u, scr.ID, []string{"B2", "B3"})
	o, in := beginFor(t, s, u, h)
	v := version(t, s, scr.ID)
	for range 2 {
		again := retry(in)
		_, err := s.BeginOrder(ctx, again)
		wantInFlight(t, err, in.Lease, "the same request again while the first is in flight")
		wantNoOrder(t, s, again, "a request refused while its key is in flight")
	}
	wantStored(t, s, o, "the order of the key in flight")
	wantStatus(t, s, h.ID, tickets.HoldActive, "the hold of an order in flight")
	wantTaken(t, "after requests refused in flight", availability(t, s, scr.ID), heldBy(h))
	if got := version(t, s, scr.ID); got != v {
		t.Fatalf("version %d after requests refused in flight, was %d", got, v)
	}

	// A lease of thirty seconds: what is left of it, at least a second.
	u2 := newCustomer()
	h2 := hold(t, s, u2, scr.ID, []string{"C3"})
	in2 := beginTx(u2, h2.ID)
	in2.Lease = 30 * time.Second
	begin(t, s, in2, h2)
	_, err := s.BeginOrder(ctx, retry(in2))
	wantInFlight(t, err, in2.Lease, "a retry within a thirty-second lease")
	wantOrderIDs(t, s, u.user, "after requests refused in flight", o.ID)
}

func testOrderTakenOver(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	_, _, _, scr := Fixture(t, s)
	u, u2 := newCustomer(), newCustomer()
	h := hold(t, s, u, scr.ID, []string{"A1", "A2"})
	in := beginTx(u, h.ID)
	in.Lease = time.Millisecond
	o := begin(t, s, in, h)
	waitStoreClock(t, s, scr.ID, leaseEnd(o, in.Lease))

	again := retry(in) // a lease of a minute
	r, err := s.BeginOrder(ctx, again)
	if err != nil || r.Replay != nil || !r.TakenOver {
		t.Fatalf("BeginOrder once the lease ended = replay %+v, taken over %v, %v; want the order, taken over", r.Replay, r.TakenOver, err)
	}
	wantSameOrder(t, r.Order, o, "the order taken over (the first request's, unchanged)")
	wantNoOrder(t, s, again, "the request that took over")
	_, err = s.BeginOrder(ctx, retry(in))
	wantInFlight(t, err, again.Lease, "a third request within the renewed lease")

	rd := &renderer{status: 201}
	ftx := finishTx(o, tickets.PaymentSucceeded, "ch_1", rd)
	res := finish(t, s, ftx)
	wantConfirmed(t, res.Order, o, ftx.Tickets, "the order taken over, paid")
	wantReply(t, res.Reply, rd.last, "FinishOrder by the request that took over")
	wantReplay(t, s, in, rd.last, "after the order taken over succeeded")

	// Whatever its status: an order a webhook confirmed while its request crashed is taken
	// over confirmed, and recording no news only completes its key.
	h2 := hold(t, s, u2, scr.ID, []string{"B1"})
	in2 := beginTx(u2, h2.ID)
	in2.Lease = time.Millisecond
	o2 := begin(t, s, in2, h2)
	ftx2 := finishTx(o2, tickets.PaymentSucceeded, "ch_2", nil)
	res2 := finish(t, s, ftx2)
	wantConfirmed(t, res2.Order, o2, ftx2.Tickets, "an order confirmed by a webhook")
	if res2.Reply != nil {
		t.Fatalf("FinishOrder without a Reply, key in flight: Reply %+v, want nil (the key left in flight)", res2.Reply)
	}
	waitStoreClock(t, s, scr.ID, leaseEnd(o2, in2.Lease))
	r, err = s.BeginOrder(ctx, retry(in2))
	if err != nil || r.Replay != nil || !r.TakenOver {
		t.Fatalf("BeginOrder once the lease of a confirmed order's key ended = replay %+v, taken over %v, %v; want the order, taken over",
			r.Replay, r.TakenOver, err)
	}
	wantSameOrder(t, r.Order, res2.Order, "a confirmed order taken over")
	v := version(t, s, scr.ID)
	rd2 := &renderer{status: 201}
	res3 := finish(t, s, tickets.FinishOrderTx{OrderID: o2.ID, Reply: rd2.render})
	wantSameOrder(t, res3.Order, res2.Order, "FinishOrder with no payment status")
	wantReply(t, res3.Reply, rd2.last, "FinishOrder with no payment status, key in flight")
	if got := version(t, s, scr.ID); got != v {
		t.Fatalf("version %d after FinishOrder with no payment status, was %d", got, v)
	}
	wantReplay(t, s, in2, rd2.last, "the key completed with no payment status")
	wantOrderInvariants(t, s, "after orders taken over", []string{scr.ID}, u, u2)
}

func testOrderExists(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	_, _, _, scr := Fixture(t, s)
	u := newCustomer()
	h := hold(t, s, u, scr.ID, []string{"C1", "C2"})
	o, _ := beginFor(t, s, u, h)

	second := beginTx(u, h.ID)
	_, err := s.BeginOrder(ctx, second)
	wantOrderExists(t, err, o.ID, "a second key on a hold with a pending order")
	wantNoOrder(t, s, second, "a second key on a hold with a pending order")

	// A declined order leaves the hold to pay for again, and the refused key was not stored.
	finish(t, s, finishTx(o, tickets.PaymentDeclined, "", &renderer{status: 402}))
	o2 := begin(t, s, retry(second), h)
	third := beginTx(u, h.ID)
	_, err = s.BeginOrder(ctx, third)
	wantOrderExists(t, err, o2.ID, "another key on a hold whose second order is pending")
	wantNoOrder(t, s, third, "a third key on the hold")

	// A confirmed order is named before the hold is found no longer active.
	finish(t, s, finishTx(o2, tickets.PaymentSucceeded, "ch_1", &renderer{status: 201}))
	wantStatus(t, s, h.ID, tickets.HoldConfirmed, "a hold paid for")
	_, err = s.BeginOrder(ctx, retry(third))
	wantOrderExists(t, err, o2.ID, "a key on a hold with a confirmed order")
	wantOrderIDs(t, s, u.user, "after refused orders", o.ID, o2.ID)
	wantOrderInvariants(t, s, "after refused orders", []string{scr.ID}, u)
}

func testOrderHoldRefused(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	m, _, hall, scr := Fixture(t, s)
	later := addScreening(t, s, m.ID, hall, scr.StartsAt.Add(3*time.Hour))
	u, u2 := newCustomer(), newCustomer()
	short := hold(t, s, u, scr.ID, []string{"A1"}, time.Second)
	theirs := hold(t, s, u2, scr.ID, []string{"B1"})
	replaced := hold(t, s, u, later.ID, []string{"C3"})
	released := hold(t, s, u, later.ID, []string{"C4"})
	if _, err := s.ReleaseHold(ctx, released.ID, u.user); err != nil {
		t.Fatal(err)
	}
	waitExpired(t, s, short.ID)

	var keys []tickets.BeginOrderTx
	for _, c := range []struct {
		what, holdID string
		want         error
	}{
		{"another user's hold", theirs.ID, tickets.ErrNotFound},
		{"an unknown hold", newID(), tickets.ErrNotFound},
		{"a hold past its deadline", short.ID, tickets.ErrHoldExpired},
		{"a replaced hold", replaced.ID, tickets.ErrHoldExpired},
		{"a released hold", released.ID, tickets.ErrHoldExpired},
	} {
		in := beginTx(u, c.holdID)
		_, err := s.BeginOrder(ctx, in)
		wantErr(t, err, c.want, "BeginOrder for "+c.what)
		wantNoOrder(t, s, in, "BeginOrder for "+c.what)
		keys = append(keys, in)
	}
	wantStatus(t, s, theirs.ID, tickets.HoldActive, "another user's hold after a refused order")
	wantOrderIDs(t, s, u.user, "after refused orders")
	wantOrderIDs(t, s, u2.user, "after another user's order on the hold was refused")

	// The refused keys were not stored: sent with another fingerprint they are fresh.
	good := hold(t, s, u, scr.ID, []string{"A2"})
	o := begin(t, s, otherRequest(keys[0], good.ID), good)
	for _, in := range keys[1:] {
		_, err := s.BeginOrder(ctx, otherRequest(in, good.ID))
		wantOrderExists(t, err, o.ID, "a refused key sent again for a hold with an order")
	}

	// An order ID already used is a conflict, and stores nothing.
	dup := beginTx(u2, theirs.ID)
	dup.Order.ID = o.ID
	_, err := s.BeginOrder(ctx, dup)
	wantErr(t, err, tickets.ErrConflict, "BeginOrder with an order ID already used")
	wantSameOrder(t, getOrder(t, s, o.ID), o, "the order whose ID was used again")
	wantOrderIDs(t, s, u2.user, "after a conflicting order ID")
	o2 := begin(t, s, retry(dup), theirs)
	wantOrderIDs(t, s, u2.user, "after the conflicting request was sent again", o2.ID)
	wantOrderInvariants(t, s, "after refused orders", []string{scr.ID, later.ID}, u, u2)
}

func testOrderDeclined(t *testing.T, s tickets.Store) {
	_, _, _, scr := Fixture(t, s)
	u, u2 := newCustomer(), newCustomer()
	h := hold(t, s, u, scr.ID, []string{"A5", "A6"})
	h2 := hold(t, s, u2, scr.ID, []string{"B5"})
	o, in := beginFor(t, s, u, h)
	o2, in2 := beginFor(t, s, u2, h2)
	v := version(t, s, scr.ID)

	for _, c := range []struct {
		o          tickets.Order
		in         tickets.BeginOrderTx
		payment    string
		want       string
		withReply  bool
		holdStatus string
	}{
		{o, in, tickets.PaymentDeclined, tickets.OrderDeclined, true, tickets.HoldActive},
		{o2, in2, tickets.PaymentCancelled, tickets.OrderExpired, false, tickets.HoldActive},
	} {
		var r *renderer
		if c.withReply {
			r = &renderer{status: 402}
		}
		res := finish(t, s, finishTx(c.o, c.payment, "", r))
		want := c.o
		want.Status, want.Payment.Status = c.want, c.payment
		want.Payment.ProviderRef = res.Order.Payment.ProviderRef
		wantSameOrder(t, res.Order, want, "FinishOrder("+c.payment+")")
		wantStored(t, s, res.Order, "after FinishOrder("+c.payment+")")
		wantStatus(t, s, c.o.HoldID, c.holdStatus, "the hold of a "+c.want+" order")
		if c.withReply {
			if r.calls == 0 || r.saw.Status != c.want {
				t.Fatalf("FinishOrder(%s): Reply called %d times, last for status %q; want it rendered for the %s order",
					c.payment, r.calls, r.saw.Status, c.want)
			}
			wantReply(t, res.Reply, r.last, "FinishOrder("+c.payment+")")
			wantReplay(t, s, c.in, r.last, "a retry of a "+c.want+" order")
		} else {
			if res.Reply != nil {
				t.Fatalf("FinishOrder(%s) without a Reply: Reply %+v, want nil (key in flight)", c.payment, res.Reply)
			}
			_, err := s.BeginOrder(t.Context(), retry(c.in))
			wantInFlight(t, err, c.in.Lease, "a retry of an order whose key was left in flight")
		}
	}
	a := availability(t, s, scr.ID)
	wantTaken(t, "after payments declined and cancelled", a, heldBy(h, h2))
	if a.Version != v {
		t.Fatalf("version %d after payments that changed no seat, was %d", a.Version, v)
	}
	wantOrderInvariants(t, s, "after payments declined and cancelled", []string{scr.ID}, u, u2)
}
