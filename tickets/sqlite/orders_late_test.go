package sqlite

import (
	"errors"
	"slices"
	"testing"
	"time"

	"boxoffice/tickets"
)

// A payment that succeeds after the hold ended claims the seats again when it can, and is
// refunded when it cannot.
func TestLatePayment(t *testing.T) {
	for name, c := range map[string]struct {
		meanwhile func(t *testing.T, s *Store, w world, clock *fakeClock)
		want      string // LateReclaimed or LateRefunded
	}{
		"deadline passed, seats free": {func(t *testing.T, s *Store, w world, clock *fakeClock) {
			clock.Advance(10 * time.Minute)
		}, tickets.LateReclaimed},
		"deadline passed and swept": {func(t *testing.T, s *Store, w world, clock *fakeClock) {
			clock.Advance(10 * time.Minute)
			if n, err := s.Sweep(t.Context(), 10); err != nil || n != 1 {
				t.Fatalf("Sweep = %d, %v", n, err)
			}
		}, tickets.LateReclaimed},
		"held by another past its deadline": {func(t *testing.T, s *Store, w world, clock *fakeClock) {
			clock.Advance(10 * time.Minute)
			mustHold(t, s, holdTx("other", w.scr.ID, "u2", time.Minute, "A2"))
			clock.Advance(time.Minute)
		}, tickets.LateReclaimed},
		"released by its owner": {func(t *testing.T, s *Store, w world, clock *fakeClock) {
			if _, err := s.ReleaseHold(t.Context(), "h1", "u1"); err != nil {
				t.Fatal(err)
			}
		}, tickets.LateReclaimed},
		"a seat held by another": {func(t *testing.T, s *Store, w world, clock *fakeClock) {
			clock.Advance(10 * time.Minute)
			mustHold(t, s, holdTx("other", w.scr.ID, "u2", time.Minute, "A2"))
		}, tickets.LateRefunded},
		"a seat blocked": {func(t *testing.T, s *Store, w world, clock *fakeClock) {
			clock.Advance(10 * time.Minute)
			if err := s.SetBlocked(t.Context(), w.scr.ID, []string{"A1"}, true); err != nil {
				t.Fatal(err)
			}
		}, tickets.LateRefunded},
		"the owner's next hold took a seat": {func(t *testing.T, s *Store, w world, clock *fakeClock) {
			mustHold(t, s, holdTx("h2", w.scr.ID, "u1", 10*time.Minute, "A2", "A3"))
		}, tickets.LateRefunded},
		"screening cancelled": {func(t *testing.T, s *Store, w world, clock *fakeClock) {
			if err := s.CancelScreening(t.Context(), w.scr.ID); err != nil {
				t.Fatal(err)
			}
		}, tickets.LateRefunded},
		"screening started": {func(t *testing.T, s *Store, w world, clock *fakeClock) {
			clock.Advance(2 * time.Hour)
		}, tickets.LateRefunded},
	} {
		t.Run(name, func(t *testing.T) {
			clock := newFakeClock()
			s := openMem(t, clock)
			w := seed(t, s, clock)
			mustHold(t, s, holdTx("h1", w.scr.ID, "u1", 10*time.Minute, "A1", "A2"))
			o := mustBegin(t, s, beginTx("o1", "h1", "u1", "k1"))
			c.meanwhile(t, s, w, clock)
			before := available(t, s, w.scr.ID)
			got := finish(t, s, o, tickets.PaymentSucceeded).Order
			after := available(t, s, w.scr.ID)
			if got.LatePayment != c.want || got.Payment.Status != tickets.PaymentSucceeded {
				t.Fatalf("late payment = %+v; want %s", got, c.want)
			}
			if c.want == tickets.LateReclaimed {
				if got.Status != tickets.OrderConfirmed || len(got.Tickets) != 2 || got.Refund != nil ||
					after.Taken["A1"].State != tickets.Sold || after.Taken["A2"].State != tickets.Sold || after.Version <= before.Version {
					t.Fatalf("reclaimed: order %+v, taken %+v (version %d, was %d)", got, after.Taken, after.Version, before.Version)
				}
				if cl := claimOf(t, s, w.scr.ID, "A2"); cl.orderID.String != "o1" || cl.holdID.String != "h1" {
					t.Fatalf("reclaimed claim = %+v", cl)
				}
				if st := status(t, s, "h1"); st == tickets.HoldConfirmed {
					t.Fatal("a hold that had ended was confirmed")
				}
				return
			}
			want := tickets.Refund{ID: tickets.RefundID("o1"), OrderID: "o1", ScreeningID: w.scr.ID, PaymentID: "pay-o1",
				Method: "test", Amount: tickets.Money{Amount: 2000, Currency: "EUR"}, Reason: tickets.RefundLate,
				Status: tickets.RefundPending, CreatedAt: clock.Now()}
			if got.Status != tickets.OrderRefunded || len(got.Tickets) != 0 || got.Refund == nil || *got.Refund != want {
				t.Fatalf("refunded: order %+v, refund %+v; want %+v", got, got.Refund, want)
			}
			if after.Version != before.Version || len(after.Taken) != len(before.Taken) {
				t.Fatalf("a refunded payment changed the seats: %+v -> %+v", before, after)
			}
			if st := status(t, s, "h1"); st == tickets.HoldConfirmed {
				t.Fatal("a refunded order confirmed its hold")
			}
		})
	}
}

func TestCancelOrder(t *testing.T) {
	clock := newFakeClock()
	s := openMem(t, clock)
	w := seed(t, s, clock)
	ctx := t.Context()
	mustHold(t, s, holdTx("h1", w.scr.ID, "u1", 10*time.Minute, "A1", "A2"))
	mustHold(t, s, holdTx("h2", w.scr.ID, "u2", 10*time.Minute, "A3"))
	o1 := finish(t, s, mustBegin(t, s, beginTx("o1", "h1", "u1", "k1")), tickets.PaymentSucceeded).Order
	mustBegin(t, s, beginTx("o2", "h2", "u2", "k2"))
	open := w.scr.StartsAt.Add(-time.Millisecond)

	for name, c := range map[string]struct {
		id, user    string
		startsAfter time.Time
		want        error
	}{
		"unknown":         {"nope", "u1", open, tickets.ErrNotFound},
		"another user's":  {"o1", "u2", open, tickets.ErrNotFound},
		"pending":         {"o2", "u2", open, tickets.ErrOrderNotCancellable},
		"at the cut-off":  {"o1", "u1", w.scr.StartsAt, tickets.ErrCancellationClosed},
		"after the start": {"o1", "u1", w.scr.StartsAt.Add(time.Hour), tickets.ErrCancellationClosed},
	} {
		if _, err := s.CancelOrder(ctx, c.id, c.user, c.startsAfter); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", name, err, c.want)
		}
	}
	if got := getOrder(t, s, "o1"); got.Status != tickets.OrderConfirmed {
		t.Fatalf("after refused cancellations: %+v", got)
	}

	v := available(t, s, w.scr.ID).Version
	clock.Advance(time.Second)
	got, err := s.CancelOrder(ctx, "o1", "u1", open)
	if err != nil || got.Status != tickets.OrderCancelled || !got.UpdatedAt.Equal(clock.Now()) || got.Refund == nil ||
		got.Refund.Reason != tickets.RefundCustomer || got.Refund.Status != tickets.RefundPending ||
		got.Refund.Amount != o1.Total || len(got.Tickets) != 2 {
		t.Fatalf("CancelOrder = %+v, %v", got, err)
	}
	for _, tk := range got.Tickets {
		if tk.Status != tickets.TicketVoid {
			t.Fatalf("ticket of a cancelled order: %+v", tk)
		}
	}
	a := available(t, s, w.scr.ID)
	if _, taken := a.Taken["A1"]; taken || a.Version <= v {
		t.Fatalf("after the cancellation: version %d (was %d), taken %+v", a.Version, v, a.Taken)
	}
	if c := claimOf(t, s, w.scr.ID, "A2"); c.state != "free" || c.orderID.Valid || c.holdID.Valid || c.version != a.Version {
		t.Fatalf("claim of a cancelled order = %+v", c)
	}
	// Cancelling again returns it unchanged, cut-off or not, and takes no version.
	clock.Advance(time.Second)
	again, err := s.CancelOrder(ctx, "o1", "u1", w.scr.StartsAt.Add(time.Hour))
	if err != nil || again.Status != tickets.OrderCancelled || !again.UpdatedAt.Equal(got.UpdatedAt) ||
		available(t, s, w.scr.ID).Version != a.Version {
		t.Fatalf("cancelling twice = %+v, %v", again, err)
	}
	if rs, err := s.Refunds(ctx, w.scr.ID); err != nil || len(rs) != 1 {
		t.Fatalf("Refunds = %+v, %v; want one", rs, err)
	}
	// The seats are for sale again; the cancelled order's hold cannot be paid for again.
	mustHold(t, s, holdTx("h3", w.scr.ID, "u3", 10*time.Minute, "A1"))
	if _, err := s.BeginOrder(ctx, beginTx("o3", "h1", "u1", "k3")); err != tickets.ErrHoldExpired {
		t.Fatalf("paying for the hold of a cancelled order: %v", err)
	}
}

func TestCancelScreeningCancelsConfirmedOrders(t *testing.T) {
	clock := newFakeClock()
	s := openMem(t, clock)
	w := seed(t, s, clock)
	ctx := t.Context()
	mustHold(t, s, holdTx("h1", w.scr.ID, "u1", 10*time.Minute, "A1", "A2"))
	mustHold(t, s, holdTx("h2", w.scr.ID, "u2", 10*time.Minute, "A3"))
	mustHold(t, s, holdTx("h3", w.scr.ID, "u3", 10*time.Minute, "A4"))
	mustHold(t, s, holdTx("h4", w.scr.ID, "u4", 10*time.Minute, "B3"))
	finish(t, s, mustBegin(t, s, beginTx("o1", "h1", "u1", "k1")), tickets.PaymentSucceeded)
	o2 := mustBegin(t, s, beginTx("o2", "h2", "u2", "k2"))
	finish(t, s, mustBegin(t, s, beginTx("o4", "h4", "u4", "k4")), tickets.PaymentSucceeded)
	if _, err := s.CancelOrder(ctx, "o4", "u4", clock.Now()); err != nil {
		t.Fatal(err)
	}
	v := available(t, s, w.scr.ID).Version
	clock.Advance(time.Second)
	if err := s.CancelScreening(ctx, w.scr.ID); err != nil {
		t.Fatal(err)
	}
	o1 := getOrder(t, s, "o1")
	if o1.Status != tickets.OrderCancelled || o1.Refund == nil || o1.Refund.Reason != tickets.RefundScreening ||
		o1.Refund.Status != tickets.RefundPending || o1.Tickets[0].Status != tickets.TicketVoid || o1.Tickets[1].Status != tickets.TicketVoid {
		t.Fatalf("confirmed order of a cancelled screening = %+v (refund %+v)", o1, o1.Refund)
	}
	if got := getOrder(t, s, "o2"); got.Status != tickets.OrderPending || got.Refund != nil {
		t.Fatalf("pending order of a cancelled screening = %+v", got)
	}
	if got := getOrder(t, s, "o4"); got.Refund.Reason != tickets.RefundCustomer {
		t.Fatalf("an order cancelled before: refund %+v", got.Refund)
	}
	for _, id := range []string{"h2", "h3"} {
		if got := status(t, s, id); got != tickets.HoldCancelled {
			t.Fatalf("hold %s: %s", id, got)
		}
	}
	a := available(t, s, w.scr.ID)
	if len(a.Taken) != 0 || a.Version <= v {
		t.Fatalf("after the cancellation: version %d (was %d), taken %+v", a.Version, v, a.Taken)
	}
	if err := s.CancelScreening(ctx, w.scr.ID); err != nil || available(t, s, w.scr.ID).Version != a.Version {
		t.Fatalf("cancelling twice: %v, or a new version", err)
	}
	// The pending order's payment settles it: refunded, as the screening is cancelled.
	clock.Advance(time.Second)
	if got := finish(t, s, o2, tickets.PaymentSucceeded).Order; got.Status != tickets.OrderRefunded {
		t.Fatalf("paying for a cancelled screening: %+v", got)
	}
	rs, err := s.Refunds(ctx, w.scr.ID)
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.OrderID)
	}
	if err != nil || !slices.Equal(ids, []string{"o4", "o1", "o2"}) {
		t.Fatalf("Refunds = %v, %v; want o4 o1 o2, oldest first", ids, err)
	}
	if _, err := s.Refunds(ctx, "nope"); err != tickets.ErrNotFound {
		t.Fatalf("Refunds of an unknown screening: %v", err)
	}
	if sc, err := s.Screening(ctx, w.scr.ID); err != nil || sc.SeatsAvailable != 8 {
		t.Fatalf("SeatsAvailable = %d, %v; want 8", sc.SeatsAvailable, err)
	}
}

func TestStalledOrders(t *testing.T) {
	clock := newFakeClock()
	s := openMem(t, clock)
	w := seed(t, s, clock)
	ctx := t.Context()
	const grace = 30 * time.Second
	stalled := func(limit int) []string {
		t.Helper()
		list, err := s.StalledOrders(ctx, grace, limit)
		if err != nil || list == nil {
			t.Fatalf("StalledOrders = %v, %v", list, err)
		}
		var ids []string
		for _, o := range list {
			ids = append(ids, o.ID)
		}
		return ids
	}
	mustHold(t, s, holdTx("h1", w.scr.ID, "u1", time.Minute, "A1"))
	o1 := mustBegin(t, s, beginTx("o1", "h1", "u1", "k1"))
	clock.Advance(time.Second)
	mustHold(t, s, holdTx("h2", w.scr.ID, "u2", 10*time.Minute, "A2"))
	o2 := mustBegin(t, s, beginTx("o2", "h2", "u2", "k2"))
	mustHold(t, s, holdTx("h3", w.scr.ID, "u3", 10*time.Minute, "A3"))
	finish(t, s, mustBegin(t, s, beginTx("o3", "h3", "u3", "k3")), tickets.PaymentPending) // async: key completed

	if got := stalled(10); len(got) != 0 {
		t.Fatalf("stalled at once: %v", got)
	}
	clock.Advance(lease - time.Second) // o1's lease ends; o2's has a second left
	if got := stalled(10); !slices.Equal(got, []string{"o1"}) {
		t.Fatalf("stalled when o1's lease ends: %v", got)
	}
	clock.Advance(time.Second)
	if got := stalled(10); !slices.Equal(got, []string{"o1", "o2"}) {
		t.Fatalf("stalled when both leases ended: %v; want oldest first", got)
	}
	if got := stalled(1); !slices.Equal(got, []string{"o1"}) {
		t.Fatalf("stalled, limit 1: %v", got)
	}
	if got, err := s.StalledOrders(ctx, grace, 0); err != nil || len(got) != 0 {
		t.Fatalf("StalledOrders(limit 0) = %v, %v", got, err)
	}
	// Recorded answers complete the keys; o1 is still pending, so its deadline counts.
	res, err := s.FinishOrder(ctx, tickets.FinishOrderTx{OrderID: "o1", Payment: tickets.Payment{Status: tickets.PaymentPending}, Reply: render})
	if err != nil || res.Reply == nil {
		t.Fatalf("FinishOrder o1 = %+v, %v", res, err)
	}
	finish(t, s, o2, tickets.PaymentDeclined)
	if got := stalled(10); len(got) != 0 {
		t.Fatalf("stalled with keys completed, before o1's deadline: %v", got)
	}
	clock.Advance(o1.PaymentDeadline.Add(grace).Sub(clock.Now()))
	if got := stalled(10); len(got) != 0 {
		t.Fatalf("stalled at deadline + grace: %v", got)
	}
	clock.Advance(time.Millisecond)
	if got := stalled(10); !slices.Equal(got, []string{"o1"}) {
		t.Fatalf("stalled after deadline + grace: %v", got)
	}
	finish(t, s, o1, tickets.PaymentCancelled)
	if got := stalled(10); len(got) != 0 {
		t.Fatalf("stalled after settling: %v", got)
	}
}

func TestRefundsPendingAndSucceeded(t *testing.T) {
	clock := newFakeClock()
	s := openMem(t, clock)
	w := seed(t, s, clock)
	ctx := t.Context()
	for i, seat := range []string{"A1", "A2", "A3"} {
		user, hold, order := "u"+seat, "h"+seat, "o"+seat
		mustHold(t, s, holdTx(hold, w.scr.ID, user, 10*time.Minute, seat))
		finish(t, s, mustBegin(t, s, beginTx(order, hold, user, "k")), tickets.PaymentSucceeded)
		if i < 2 {
			clock.Advance(time.Second)
			if _, err := s.CancelOrder(ctx, order, user, clock.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	pending := func(minAge time.Duration, limit int) []string {
		t.Helper()
		list, err := s.PendingRefunds(ctx, minAge, limit)
		if err != nil || list == nil {
			t.Fatalf("PendingRefunds = %v, %v", list, err)
		}
		var ids []string
		for _, r := range list {
			ids = append(ids, r.ID)
		}
		return ids
	}
	if got := pending(time.Second, 10); !slices.Equal(got, []string{"refund_oA1"}) {
		t.Fatalf("pending refunds a second old: %v", got)
	}
	if got := pending(0, 10); !slices.Equal(got, []string{"refund_oA1", "refund_oA2"}) {
		t.Fatalf("pending refunds: %v", got)
	}
	if got := pending(0, 1); !slices.Equal(got, []string{"refund_oA1"}) {
		t.Fatalf("pending refunds, limit 1: %v", got)
	}
	clock.Advance(time.Second)
	for range 2 {
		if err := s.RefundSucceeded(ctx, "refund_oA1", "re_1"); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
	}
	if err := s.RefundSucceeded(ctx, "refund_nope", "re_2"); err != tickets.ErrNotFound {
		t.Fatalf("RefundSucceeded of an unknown refund: %v", err)
	}
	rf := getOrder(t, s, "oA1").Refund
	if rf.Status != tickets.RefundSucceeded || rf.ProviderRef != "re_1" || !rf.CompletedAt.Equal(clock.Now().Add(-2*time.Second)) {
		t.Fatalf("succeeded refund = %+v", rf)
	}
	if got := pending(0, 10); !slices.Equal(got, []string{"refund_oA2"}) {
		t.Fatalf("pending refunds after one succeeded: %v", got)
	}
}

func TestOrdersNewestFirst(t *testing.T) {
	clock := newFakeClock()
	s := openMem(t, clock)
	w := seed(t, s, clock)
	ctx := t.Context()
	// u1 orders A1 and A2 in the same millisecond (ordered by ID), then A3 and A4 later; u2 one.
	for i, seat := range []string{"A2", "A1", "A3", "A4"} {
		if i >= 2 {
			clock.Advance(time.Second)
		}
		hold := "h" + seat
		mustHold(t, s, holdTx(hold, w.scr.ID, "u1", 10*time.Minute, seat))
		mustBegin(t, s, beginTx("o"+seat, hold, "u1", "k"+seat))
		if _, err := s.ReleaseHold(ctx, hold, "u1"); err != nil { // a user has one hold per screening
			t.Fatal(err)
		}
	}
	mustHold(t, s, holdTx("hB1", w.scr.ID, "u2", 10*time.Minute, "B1", "B2"))
	mustBegin(t, s, beginTx("oB1", "hB1", "u2", "k"))
	var got []string
	q := tickets.OrderQuery{UserID: "u1", Limit: 3}
	for {
		page, err := s.Orders(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page {
			got = append(got, o.ID)
		}
		if len(page) < q.Limit {
			break
		}
		last := page[len(page)-1]
		q.BeforeAt, q.BeforeID = last.CreatedAt, last.ID
	}
	if !slices.Equal(got, []string{"oA4", "oA3", "oA2", "oA1"}) {
		t.Fatalf("Orders = %v", got)
	}
	if list, err := s.Orders(ctx, tickets.OrderQuery{UserID: "nobody", Limit: 1}); err != nil || list == nil || len(list) != 0 {
		t.Fatalf("Orders of a user without orders = %v, %v", list, err)
	}
	if _, err := s.Orders(ctx, tickets.OrderQuery{UserID: "u1"}); !errors.Is(err, tickets.ErrInvalidInput) {
		t.Fatalf("Orders without a limit: %v", err)
	}
}
