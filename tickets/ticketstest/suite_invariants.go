package ticketstest

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"boxoffice/tickets"
)

func testVersionMonotonic(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	_, _, _, scr := Fixture(t, s)
	last := version(t, s, scr.ID)
	// step checks the version after an operation: it never decreases, and it grows when
	// the operation changed a seat's claim.
	step := func(op string, changed bool) {
		t.Helper()
		v := version(t, s, scr.ID)
		switch {
		case v < last:
			t.Fatalf("%s: version went down from %d to %d", op, last, v)
		case changed && v == last:
			t.Fatalf("%s changed a seat's claim but the version stayed %d", op, v)
		}
		last = v
	}
	u1, u2, u3, u4 := newCustomer(), newCustomer(), newCustomer(), newCustomer()

	h1 := hold(t, s, u1, scr.ID, []string{"A1"})
	step("hold", true)
	_, err := s.Hold(ctx, tx(u2, scr.ID, time.Minute, fixed(2400, "A1", "A2")))
	wantUnavailable(t, err, "overlapping hold", "A1")
	step("refused hold", false)
	h1 = hold(t, s, u1, scr.ID, []string{"A2"})
	step("replacing hold", true)
	if _, err := s.ReleaseHold(ctx, h1.ID, u1.user); err != nil {
		t.Fatal(err)
	}
	step("release", true)
	if _, err := s.ReleaseHold(ctx, h1.ID, u1.user); err != nil {
		t.Fatal(err)
	}
	step("second release", false)
	lapsed := hold(t, s, u3, scr.ID, []string{"B1"}, time.Second)
	step("short hold", true)
	waitExpired(t, s, lapsed.ID)
	step("lazy expiry", false)
	if n, err := s.Sweep(ctx, 100); err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want 1", n, err)
	}
	step("sweep", true)
	if _, err := s.Sweep(ctx, 100); err != nil {
		t.Fatal(err)
	}
	step("empty sweep", false)
	if err := s.SetBlocked(ctx, scr.ID, []string{"C1", "C2"}, true); err != nil {
		t.Fatal(err)
	}
	step("block", true)
	if err := s.SetBlocked(ctx, scr.ID, []string{"C1", "C2"}, false); err != nil {
		t.Fatal(err)
	}
	step("unblock", true)
	if err := s.SetBlocked(ctx, scr.ID, []string{"C1"}, false); err != nil {
		t.Fatal(err)
	}
	step("unblock of a free seat", false)
	hold(t, s, u4, scr.ID, []string{"C1", "C2"})
	step("hold of a love seat", true)
	if n, err := s.EndSessionHolds(ctx, []string{u4.session}); err != nil || n != 1 {
		t.Fatalf("EndSessionHolds = %d, %v; want 1", n, err)
	}
	step("end session", true)
	hold(t, s, u2, scr.ID, []string{"B6"})
	step("hold", true)
	if err := s.CancelScreening(ctx, scr.ID); err != nil {
		t.Fatal(err)
	}
	step("cancel", true)
}

func testNothingDeleted(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	m, _, hall, scr := Fixture(t, s)
	other := addScreening(t, s, m.ID, hall, scr.StartsAt.Add(3*time.Hour))
	u := []customer{newCustomer(), newCustomer(), newCustomer(), newCustomer(), newCustomer()}

	expired := hold(t, s, u[0], scr.ID, []string{"B1"}, time.Second)
	released := hold(t, s, u[1], scr.ID, []string{"A1"})
	if _, err := s.ReleaseHold(ctx, released.ID, u[1].user); err != nil {
		t.Fatal(err)
	}
	replaced := hold(t, s, u[2], scr.ID, []string{"A2", "A3"})
	replacing := hold(t, s, u[2], scr.ID, []string{"A3", "A4"})
	revoked := hold(t, s, u[3], scr.ID, []string{"A5"})
	if _, err := s.EndSessionHolds(ctx, []string{u[3].session}); err != nil {
		t.Fatal(err)
	}
	cancelled := hold(t, s, u[4], other.ID, []string{"C1", "C2"})
	if err := s.CancelScreening(ctx, other.ID); err != nil {
		t.Fatal(err)
	}
	waitExpired(t, s, expired.ID)
	if _, err := s.Sweep(ctx, 100); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		h      tickets.Hold
		status string
	}{
		{expired, tickets.HoldExpired},
		{released, tickets.HoldReleased},
		{replaced, tickets.HoldReplaced},
		{replacing, tickets.HoldActive},
		{revoked, tickets.HoldRevoked},
		{cancelled, tickets.HoldCancelled},
	} {
		want := c.h
		want.Status = c.status
		wantSameHold(t, getHold(t, s, c.h.ID), want, c.status+" hold read back (its seats and total kept)")
	}
}

func testConcurrentHolds(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	_, _, _, scr := Fixture(t, s)
	pairs := [][]string{{"A1", "A2"}, {"A2", "A3"}, {"A3", "A4"}}
	const n = 8
	type attempt struct {
		in  tickets.HoldTx
		h   tickets.Hold
		err error
	}
	attempts := make([]attempt, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range attempts {
		attempts[i].in = tx(newCustomer(), scr.ID, 10*time.Minute, fixed(2400, pairs[i%len(pairs)]...))
		wg.Go(func() {
			<-start
			attempts[i].h, attempts[i].err = s.Hold(ctx, attempts[i].in)
		})
	}
	close(start)
	wg.Wait()

	owner := map[string]string{} // seat → winning hold
	var won []tickets.Hold
	for _, a := range attempts {
		if a.err != nil {
			continue
		}
		won = append(won, a.h)
		for _, seat := range a.h.SeatIDs {
			if prev, ok := owner[seat]; ok {
				t.Fatalf("seat %s is claimed by two active holds, %s and %s", seat, prev, a.h.ID)
			}
			owner[seat] = a.h.ID
		}
	}
	if len(won) == 0 {
		var errs []error
		for _, a := range attempts {
			errs = append(errs, a.err)
		}
		t.Fatalf("none of %d holds succeeded: %v", n, errs)
	}
	for _, a := range attempts {
		if a.err == nil {
			wantStatus(t, s, a.h.ID, tickets.HoldActive, "winning concurrent hold")
			continue
		}
		planned, _, _ := a.in.Plan(tickets.Availability{})
		var ue *tickets.UnavailableError
		if !errors.As(a.err, &ue) {
			t.Fatalf("concurrent hold of %v failed with %v, want *tickets.UnavailableError", planned, a.err)
		}
		if len(ue.SeatIDs) == 0 {
			t.Fatalf("concurrent hold of %v: UnavailableError names no seat", planned)
		}
		for _, seat := range ue.SeatIDs {
			if !slices.Contains(planned, seat) || owner[seat] == "" {
				t.Fatalf("concurrent hold of %v: UnavailableError names %s, which it did not plan or no winner holds (winners: %v)",
					planned, seat, owner)
			}
		}
		wantNoHold(t, s, a.in.ID, "losing concurrent hold")
	}
	wantTaken(t, "after concurrent holds", availability(t, s, scr.ID), heldBy(won...))
}
