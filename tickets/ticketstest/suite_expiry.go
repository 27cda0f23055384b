package ticketstest

import (
	"testing"
	"time"

	"boxoffice/tickets"
)

func testLazyExpiry(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	_, _, _, scr := Fixture(t, s)
	u1, u2, u3, u4 := newCustomer(), newCustomer(), newCustomer(), newCustomer()
	short := hold(t, s, u1, scr.ID, []string{"A1"}, time.Second)  // taken over once expired
	lapsed := hold(t, s, u3, scr.ID, []string{"B3"}, time.Second) // left for Sweep
	long := hold(t, s, u4, scr.ID, []string{"B5"})
	waitExpired(t, s, short.ID, lapsed.ID)

	// Expired holds free their seats for reads and holds without any sweep.
	wantTaken(t, "once two holds are past their deadline, before any Sweep", availability(t, s, scr.ID), heldBy(long))
	wantSeatsAvailable(t, s, scr.ID, len(Layout())-1, "once two holds are past their deadline")
	for _, id := range []string{short.ID, lapsed.ID} {
		h := getHold(t, s, id)
		if h.Status != tickets.HoldActive && h.Status != tickets.HoldExpired {
			t.Fatalf("expired hold %s, never swept, has stored status %q", id, h.Status)
		}
		if eff := h.Effective(); eff.Status != tickets.HoldExpired || eff.ExpiresIn() != 0 {
			t.Fatalf("expired hold %s: Effective() status %q, ExpiresIn %d; want %q, 0 (ServerTime %v, ExpiresAt %v)",
				id, eff.Status, eff.ExpiresIn(), tickets.HoldExpired, h.ServerTime, h.ExpiresAt)
		}
	}
	takeover := hold(t, s, u2, scr.ID, []string{"A1"})
	wantTaken(t, "after another user held an expired hold's seat", availability(t, s, scr.ID), heldBy(takeover, long))

	// Ending the expired hold by any route must not free the seat it no longer has.
	if _, err := s.ReleaseHold(ctx, short.ID, u1.user); err != nil {
		t.Fatalf("ReleaseHold of an expired hold: %v", err)
	}
	if _, err := s.EndSessionHolds(ctx, []string{u1.session}); err != nil {
		t.Fatalf("EndSessionHolds of an expired hold's session: %v", err)
	}
	wantTaken(t, "after releasing and revoking an expired hold whose seat another user holds",
		availability(t, s, scr.ID), heldBy(takeover, long))
	if h := getHold(t, s, short.ID).Effective(); h.Status == tickets.HoldActive {
		t.Fatalf("expired hold %s is active again", short.ID)
	}

	// Sweep marks what is still stored active but past its deadline, and nothing else.
	var due []string
	for _, id := range []string{short.ID, lapsed.ID} {
		if getHold(t, s, id).Status == tickets.HoldActive {
			due = append(due, id)
		}
	}
	v := version(t, s, scr.ID)
	n, err := s.Sweep(ctx, 100)
	if err != nil || n != len(due) {
		t.Fatalf("Sweep = %d, %v; want %d (the holds stored active past their deadline: %v)", n, err, len(due), due)
	}
	for _, id := range due {
		wantStatus(t, s, id, tickets.HoldExpired, "swept hold")
	}
	wantStatus(t, s, long.ID, tickets.HoldActive, "a hold within its deadline after Sweep")
	wantStatus(t, s, takeover.ID, tickets.HoldActive, "the takeover hold after Sweep")
	a := availability(t, s, scr.ID)
	wantTaken(t, "after Sweep (it must not free a seat another hold took over)", a, heldBy(takeover, long))
	if a.Version <= v {
		t.Fatalf("version %d after Sweep freed B3, was %d: want it to grow", a.Version, v)
	}
	if n, err := s.Sweep(ctx, 100); err != nil || n != 0 {
		t.Fatalf("second Sweep = %d, %v; want 0, nil", n, err)
	}
	if got := version(t, s, scr.ID); got != a.Version {
		t.Fatalf("version %d after a Sweep with nothing to do, was %d", got, a.Version)
	}
	wantTaken(t, "after a second Sweep", availability(t, s, scr.ID), heldBy(takeover, long))
}

func testSweepLimit(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	_, _, _, scr := Fixture(t, s)
	long := hold(t, s, newCustomer(), scr.ID, []string{"C5"})
	v := version(t, s, scr.ID)
	if n, err := s.Sweep(ctx, 100); err != nil || n != 0 {
		t.Fatalf("Sweep with only a hold within its deadline = %d, %v; want 0, nil", n, err)
	}
	if got := version(t, s, scr.ID); got != v {
		t.Fatalf("version %d after a Sweep with nothing to do, was %d", got, v)
	}
	wantStatus(t, s, long.ID, tickets.HoldActive, "a hold within its deadline after Sweep")

	var ids []string
	for _, seat := range []string{"A1", "A2", "A3"} {
		ids = append(ids, hold(t, s, newCustomer(), scr.ID, []string{seat}, time.Second).ID)
	}
	waitExpired(t, s, ids...)
	for i, limit := range []int{1, 1, 5, 5} {
		want := min(1, 3-i)
		n, err := s.Sweep(ctx, limit)
		if err != nil || n != want {
			t.Fatalf("Sweep #%d (limit %d) of 3 expired holds = %d, %v; want %d", i+1, limit, n, err, want)
		}
	}
	for _, id := range ids {
		wantStatus(t, s, id, tickets.HoldExpired, "hold swept")
	}
	wantStatus(t, s, long.ID, tickets.HoldActive, "a hold within its deadline after Sweeps")
	wantTaken(t, "after the sweeps", availability(t, s, scr.ID), heldBy(long))
}
