package ticketstest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"boxoffice/tickets"
)

func testHold(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	_, _, _, scr := Fixture(t, s)
	before := availability(t, s, scr.ID)
	wantTaken(t, "fresh screening", before, nil)

	u := newCustomer()
	rec := &recorder{seatIDs: []string{"A3", "A2"}, amount: 2400}
	in := tx(u, scr.ID, 10*time.Minute, rec.plan)
	h, err := s.Hold(ctx, in)
	if err != nil {
		t.Fatalf("Hold: %v", err)
	}
	wantFreshHold(t, h, in, rec.seatIDs, tickets.Money{Amount: 2400, Currency: "EUR"})

	if rec.calls == 0 {
		t.Fatal("Plan was never called")
	}
	if rec.got.ScreeningID != scr.ID || rec.got.Version != before.Version || rec.got.Now.IsZero() || !rec.got.Now.Before(h.ExpiresAt) {
		t.Fatalf("Plan was given screening %q version %d now %v; want %q, the version before the hold (%d), and a Now before the deadline %v",
			rec.got.ScreeningID, rec.got.Version, rec.got.Now, scr.ID, before.Version, h.ExpiresAt)
	}
	wantTaken(t, "Plan's availability", rec.got, nil)

	after := availability(t, s, scr.ID)
	wantTaken(t, "after the hold", after, heldBy(h))
	if after.Version <= before.Version {
		t.Fatalf("version %d after a hold, was %d: want it to grow", after.Version, before.Version)
	}
	wantSeatsAvailable(t, s, scr.ID, len(Layout())-2, "after holding two seats")
	listed := pageScreenings(t, s, tickets.ScreeningQuery{From: scr.StartsAt, To: scr.EndsAt, Limit: 10})
	if len(listed) != 1 || listed[0].SeatsAvailable != len(Layout())-2 {
		t.Fatalf("Screenings after holding two seats = %+v, want SeatsAvailable %d", listed, len(Layout())-2)
	}

	got := getHold(t, s, h.ID)
	wantSameHold(t, got, h, "GetHold after Hold")
}

func testHoldConflict(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	_, _, _, scr := Fixture(t, s)
	h1 := hold(t, s, newCustomer(), scr.ID, []string{"A2", "A3"})
	v := version(t, s, scr.ID)

	u2 := newCustomer()
	for _, c := range []struct{ planned, taken []string }{
		{[]string{"A3", "A4"}, []string{"A3"}},
		{[]string{"A4", "A3", "A2", "A1"}, []string{"A2", "A3"}},
	} {
		in := tx(u2, scr.ID, 10*time.Minute, fixed(1200, c.planned...))
		_, err := s.Hold(ctx, in)
		wantUnavailable(t, err, "a second user's overlapping hold", c.taken...)
		// All or nothing: the free seats of the refused hold were not claimed.
		wantTaken(t, "after a refused overlapping hold of "+strings.Join(c.planned, ","), availability(t, s, scr.ID), heldBy(h1))
		if got := version(t, s, scr.ID); got != v {
			t.Fatalf("version %d after a refused hold, was %d: a rolled-back hold changed the screening", got, v)
		}
		wantNoHold(t, s, in.ID, "refused hold")
	}
	wantSeatsAvailable(t, s, scr.ID, len(Layout())-2, "after refused holds")
	wantStatus(t, s, h1.ID, tickets.HoldActive, "first hold after refused overlaps")
}

func testHoldReplaces(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	m, _, h, scr := Fixture(t, s)
	later := addScreening(t, s, m.ID, h, scr.StartsAt.Add(3*time.Hour))
	u1, u2 := newCustomer(), newCustomer()
	first := hold(t, s, u1, scr.ID, []string{"A2", "A3"})
	elsewhere := hold(t, s, u1, later.ID, []string{"B1"}) // same user, other screening: not replaced
	theirs := hold(t, s, u2, scr.ID, []string{"A5"})
	v := version(t, s, scr.ID)

	rec := &recorder{seatIDs: []string{"A4", "A3"}, amount: 2400}
	in := tx(u1, scr.ID, 10*time.Minute, rec.plan)
	second, err := s.Hold(ctx, in)
	if err != nil {
		t.Fatalf("replacing hold: %v", err)
	}
	wantFreshHold(t, second, in, rec.seatIDs, tickets.Money{Amount: 2400, Currency: "EUR"})
	// Plan saw the user's own seats as available, and everyone else's as taken.
	wantTaken(t, "Plan's availability for a replacing hold", rec.got, heldBy(theirs))
	if rec.got.Version != v {
		t.Fatalf("Plan was given version %d, want the version before the hold (%d)", rec.got.Version, v)
	}

	wantStatus(t, s, first.ID, tickets.HoldReplaced, "the user's earlier hold on the screening")
	a := availability(t, s, scr.ID)
	wantTaken(t, "after the replacement (A2 freed, A3 re-held)", a, heldBy(second, theirs))
	if a.Version <= v {
		t.Fatalf("version %d after a replacing hold, was %d", a.Version, v)
	}
	wantSeatsAvailable(t, s, scr.ID, len(Layout())-3, "after the replacement")
	wantStatus(t, s, theirs.ID, tickets.HoldActive, "another user's hold")
	wantStatus(t, s, elsewhere.ID, tickets.HoldActive, "the user's hold on another screening")
	wantTaken(t, "the other screening", availability(t, s, later.ID), heldBy(elsewhere))
}

func testFailedReplacement(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	_, _, _, scr := Fixture(t, s)
	u1, u2 := newCustomer(), newCustomer()
	first := hold(t, s, u1, scr.ID, []string{"A2", "A3"})
	theirs := hold(t, s, u2, scr.ID, []string{"A5"})
	v := version(t, s, scr.ID)

	in := tx(u1, scr.ID, 10*time.Minute, fixed(2400, "A2", "A5"))
	_, err := s.Hold(ctx, in)
	wantUnavailable(t, err, "a replacing hold on another user's seat", "A5")
	wantStatus(t, s, first.ID, tickets.HoldActive, "the hold a refused hold would have replaced")
	wantTaken(t, "after a refused replacement", availability(t, s, scr.ID), heldBy(first, theirs))
	if got := version(t, s, scr.ID); got != v {
		t.Fatalf("version %d after a refused replacement, was %d", got, v)
	}
	wantNoHold(t, s, in.ID, "refused replacement")
}

func testPlanError(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	_, _, _, scr := Fixture(t, s)
	u1 := newCustomer()
	first := hold(t, s, u1, scr.ID, []string{"A2"})
	v := version(t, s, scr.ID)

	for _, u := range []struct {
		what string
		c    customer
	}{{"the holder's next hold", u1}, {"another user's hold", newCustomer()}} {
		calls := 0
		in := tx(u.c, scr.ID, 10*time.Minute, refusing(&calls))
		_, err := s.Hold(ctx, in)
		if !errors.Is(err, errPlan) {
			t.Fatalf("%s with a failing Plan: err = %v, want the Plan's error unchanged (%v)", u.what, err, errPlan)
		}
		if calls == 0 {
			t.Fatalf("%s: Plan was never called", u.what)
		}
		wantStatus(t, s, first.ID, tickets.HoldActive, u.what+" failed in Plan; the earlier hold")
		wantTaken(t, u.what+" failed in Plan", availability(t, s, scr.ID), heldBy(first))
		if got := version(t, s, scr.ID); got != v {
			t.Fatalf("%s failed in Plan: version %d, was %d", u.what, got, v)
		}
		wantNoHold(t, s, in.ID, u.what+" failed in Plan")
	}
}

func testHoldRefused(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	_, _, _, cancelled := Fixture(t, s)
	if err := s.CancelScreening(ctx, cancelled.ID); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	_, _, _, running := Fixture(t, s, StartsAt(now.Add(-10*time.Minute)))
	_, _, _, ended := Fixture(t, s, StartsAt(now.Add(-3*time.Hour)))

	for _, c := range []struct {
		what, screeningID string
		want              error
	}{
		{"an unknown screening", newID(), tickets.ErrNotFound},
		{"a cancelled screening", cancelled.ID, tickets.ErrScreeningCancelled},
		{"a screening that started ten minutes ago", running.ID, tickets.ErrScreeningStarted},
		{"a screening that has ended", ended.ID, tickets.ErrScreeningStarted},
	} {
		calls := 0
		in := tx(newCustomer(), c.screeningID, 10*time.Minute, func(tickets.Availability) ([]string, tickets.Money, error) {
			calls++
			return []string{"A1"}, tickets.Money{Amount: 1200, Currency: "EUR"}, nil
		})
		_, err := s.Hold(ctx, in)
		wantErr(t, err, c.want, "hold on "+c.what)
		if calls != 0 {
			t.Fatalf("hold on %s: Plan was called before the screening was checked", c.what)
		}
		wantNoHold(t, s, in.ID, "hold on "+c.what)
		if c.want != tickets.ErrNotFound {
			wantTaken(t, "after a refused hold on "+c.what, availability(t, s, c.screeningID), nil)
		}
	}
}
