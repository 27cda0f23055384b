package ticketstest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"boxoffice/tickets"
)

func testReleaseHold(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	_, _, _, scr := Fixture(t, s)
	u1, u2 := newCustomer(), newCustomer()
	h := hold(t, s, u1, scr.ID, []string{"A1", "A2"})

	if got, err := s.ReleaseHold(ctx, h.ID, u2.user); !errors.Is(err, tickets.ErrNotFound) {
		t.Fatalf("ReleaseHold by another user = %+v, %v; want ErrNotFound", got, err)
	}
	if got, err := s.ReleaseHold(ctx, newID(), u1.user); !errors.Is(err, tickets.ErrNotFound) {
		t.Fatalf("ReleaseHold of an unknown hold = %+v, %v; want ErrNotFound", got, err)
	}
	wantStatus(t, s, h.ID, tickets.HoldActive, "after another user tried to release it")
	wantTaken(t, "after another user tried to release a hold", availability(t, s, scr.ID), heldBy(h))

	v := version(t, s, scr.ID)
	r, err := s.ReleaseHold(ctx, h.ID, u1.user)
	if err != nil || r.ID != h.ID || r.Status != tickets.HoldReleased {
		t.Fatalf("ReleaseHold by its owner = %+v, %v; want the hold with status %q", r, err, tickets.HoldReleased)
	}
	wantStatus(t, s, h.ID, tickets.HoldReleased, "released hold")
	a := availability(t, s, scr.ID)
	wantTaken(t, "after release", a, nil)
	if a.Version <= v {
		t.Fatalf("version %d after a release, was %d", a.Version, v)
	}
	wantSeatsAvailable(t, s, scr.ID, len(Layout()), "after release")

	r, err = s.ReleaseHold(ctx, h.ID, u1.user)
	if err != nil || r.Status != tickets.HoldReleased {
		t.Fatalf("ReleaseHold again = %+v, %v; want the released hold, nil", r, err)
	}
	if got := version(t, s, scr.ID); got != a.Version {
		t.Fatalf("version %d after releasing a released hold, was %d", got, a.Version)
	}

	// Releasing a replaced hold must not free the seats its successor re-held.
	old := hold(t, s, u2, scr.ID, []string{"B1", "B2"})
	next := hold(t, s, u2, scr.ID, []string{"B2", "B3"})
	v = version(t, s, scr.ID)
	r, err = s.ReleaseHold(ctx, old.ID, u2.user)
	if err != nil || r.Status != tickets.HoldReplaced {
		t.Fatalf("ReleaseHold of a replaced hold = %+v, %v; want it unchanged (%q), nil", r, err, tickets.HoldReplaced)
	}
	wantTaken(t, "after releasing a replaced hold", availability(t, s, scr.ID), heldBy(next))
	if got := version(t, s, scr.ID); got != v {
		t.Fatalf("version %d after releasing a replaced hold, was %d", got, v)
	}
	wantStatus(t, s, next.ID, tickets.HoldActive, "the replacing hold")
}

func testSessionHolds(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	m, _, hall, scrA := Fixture(t, s)
	scrB := addScreening(t, s, m.ID, hall, scrA.StartsAt.Add(3*time.Hour))
	scrC := addScreening(t, s, m.ID, hall, scrA.StartsAt.Add(6*time.Hour))
	u1, u2, u3 := newCustomer(), newCustomer(), newCustomer()
	u1b := customer{user: u1.user, session: newID()} // u1 signed in on a second device
	a1 := hold(t, s, u1, scrA.ID, []string{"A1"})
	b1 := hold(t, s, u1, scrB.ID, []string{"A1"})
	c1 := hold(t, s, u1b, scrC.ID, []string{"A1"})
	a2 := hold(t, s, u2, scrA.ID, []string{"B1"})
	a3 := hold(t, s, u3, scrA.ID, []string{"C3"})
	if _, err := s.ReleaseHold(ctx, a3.ID, u3.user); err != nil {
		t.Fatal(err)
	}
	wantSessions(t, s, "", 0, u1.ref(), u1b.ref(), u2.ref())
	wantSessions(t, s, "", 100, u1.ref(), u1b.ref(), u2.ref())
	wantSessions(t, s, u1.user, 0, u1.ref(), u1b.ref())
	wantSessions(t, s, u3.user, 0)
	some, err := s.HoldSessions(ctx, "", tickets.SessionRef{}, 2)
	if err != nil || len(some) != 2 || some[0] == some[1] {
		t.Fatalf("HoldSessions(limit 2) = %v, %v; want two distinct sessions", some, err)
	}
	for _, ref := range some {
		if ref != u1.ref() && ref != u1b.ref() && ref != u2.ref() {
			t.Fatalf("HoldSessions(limit 2) = %v: %v has no active hold", some, ref)
		}
	}
	// Paging: the page after the last one returned holds the remaining session, and nothing
	// after it; together the pages list every session once.
	rest, err := s.HoldSessions(ctx, "", some[1], 2)
	if err != nil || len(rest) != 1 || rest[0] == some[0] || rest[0] == some[1] {
		t.Fatalf("HoldSessions(after %v, limit 2) = %v, %v; want the one remaining session", some[1], rest, err)
	}
	if end, err := s.HoldSessions(ctx, "", rest[0], 2); err != nil || len(end) != 0 {
		t.Fatalf("HoldSessions(after the last) = %v, %v; want none", end, err)
	}

	vA, vB := version(t, s, scrA.ID), version(t, s, scrB.ID)
	n, err := s.EndSessionHolds(ctx, []string{u1.session, newID(), u3.session})
	if err != nil || n != 2 {
		t.Fatalf("EndSessionHolds(u1's session, an unknown one, one whose hold was released) = %d, %v; want 2", n, err)
	}
	wantStatus(t, s, a1.ID, tickets.HoldRevoked, "hold of an ended session")
	wantStatus(t, s, b1.ID, tickets.HoldRevoked, "hold of an ended session on another screening")
	wantStatus(t, s, c1.ID, tickets.HoldActive, "hold of the same user's other session")
	wantStatus(t, s, a2.ID, tickets.HoldActive, "hold of another session")
	wantStatus(t, s, a3.ID, tickets.HoldReleased, "released hold of an ended session")
	wantTaken(t, "screening A after ending a session", availability(t, s, scrA.ID), heldBy(a2))
	wantTaken(t, "screening B after ending a session", availability(t, s, scrB.ID), nil)
	wantTaken(t, "screening C after ending the user's other session", availability(t, s, scrC.ID), heldBy(c1))
	if gotA, gotB := version(t, s, scrA.ID), version(t, s, scrB.ID); gotA <= vA || gotB <= vB {
		t.Fatalf("versions after EndSessionHolds: A %d (was %d), B %d (was %d); want both to grow", gotA, vA, gotB, vB)
	}
	wantSessions(t, s, "", 0, u1b.ref(), u2.ref())
	for _, ids := range [][]string{{u1.session}, {}, nil} {
		if n, err := s.EndSessionHolds(ctx, ids); err != nil || n != 0 {
			t.Fatalf("EndSessionHolds(%q) with nothing to end = %d, %v; want 0, nil", ids, n, err)
		}
	}

	// A password change moves the session's active holds to its new session ID.
	done := hold(t, s, u2, scrB.ID, []string{"B2"})
	if _, err := s.ReleaseHold(ctx, done.ID, u2.user); err != nil {
		t.Fatal(err)
	}
	moved := customer{user: u2.user, session: newID()}
	if err := s.MoveSessionHolds(ctx, u2.session, moved.session); err != nil {
		t.Fatalf("MoveSessionHolds: %v", err)
	}
	h := wantStatus(t, s, a2.ID, tickets.HoldActive, "moved hold")
	if h.SessionID != moved.session {
		t.Fatalf("moved hold has session %q, want %q", h.SessionID, moved.session)
	}
	if h := wantStatus(t, s, done.ID, tickets.HoldReleased, "released hold of a moved session"); h.SessionID != u2.session {
		t.Fatalf("MoveSessionHolds moved a released hold: session %q, want %q (only active holds move)", h.SessionID, u2.session)
	}
	wantTaken(t, "after moving a session's holds", availability(t, s, scrA.ID), heldBy(a2))
	wantSessions(t, s, "", 0, u1b.ref(), moved.ref())
	if n, err := s.EndSessionHolds(ctx, []string{u2.session}); err != nil || n != 0 {
		t.Fatalf("EndSessionHolds(the old session) after a move = %d, %v; want 0", n, err)
	}
	if n, err := s.EndSessionHolds(ctx, []string{moved.session, u1b.session}); err != nil || n != 2 {
		t.Fatalf("EndSessionHolds(the new session, u1's other one) = %d, %v; want 2", n, err)
	}
	wantStatus(t, s, a2.ID, tickets.HoldRevoked, "moved hold after its new session ended")
	wantTaken(t, "after every session ended", availability(t, s, scrA.ID), nil)
	wantSessions(t, s, "", 0)
}

// wantSessions fails unless HoldSessions(userID, limit) returns exactly want, in any order.
func wantSessions(t *testing.T, s tickets.Store, userID string, limit int, want ...tickets.SessionRef) {
	t.Helper()
	got, err := s.HoldSessions(t.Context(), userID, tickets.SessionRef{}, limit)
	key := func(r tickets.SessionRef) string { return r.UserID + "/" + r.SessionID }
	var g, w []string
	for _, r := range got {
		g = append(g, key(r))
	}
	for _, r := range want {
		w = append(w, key(r))
	}
	if err != nil || !slices.Equal(sorted(g), sorted(w)) {
		t.Fatalf("HoldSessions(user %q, limit %d) = %v, %v; want %v, each once", userID, limit, sorted(g), err, sorted(w))
	}
}

func testSetBlocked(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	_, _, _, scr := Fixture(t, s)
	u1, u2 := newCustomer(), newCustomer()
	v := version(t, s, scr.ID)

	if err := s.SetBlocked(ctx, scr.ID, []string{"C3", "C4"}, true); err != nil {
		t.Fatalf("block two free seats: %v", err)
	}
	a := availability(t, s, scr.ID)
	wantTaken(t, "after blocking C3, C4", a, blocked("C3", "C4"))
	if a.Version <= v {
		t.Fatalf("version %d after blocking, was %d", a.Version, v)
	}
	wantSeatsAvailable(t, s, scr.ID, len(Layout())-2, "after blocking two seats")
	_, err := s.Hold(ctx, tx(u1, scr.ID, 10*time.Minute, fixed(1800, "C3")))
	wantUnavailable(t, err, "hold on a blocked seat", "C3")
	_, err = s.Hold(ctx, tx(u1, scr.ID, 10*time.Minute, fixed(3600, "C4", "C5")))
	wantUnavailable(t, err, "hold on a blocked and a free seat", "C4")
	wantTaken(t, "after refused holds on blocked seats", availability(t, s, scr.ID), blocked("C3", "C4"))

	// Blocking a held seat is refused, all or nothing.
	h := hold(t, s, u1, scr.ID, []string{"A1"})
	v = version(t, s, scr.ID)
	err = s.SetBlocked(ctx, scr.ID, []string{"A2", "A1"}, true)
	wantUnavailable(t, err, "blocking a held and a free seat", "A1")
	wantTaken(t, "after a refused block", availability(t, s, scr.ID), blocked("C3", "C4").and(heldBy(h)))
	if got := version(t, s, scr.ID); got != v {
		t.Fatalf("version %d after a refused block, was %d", got, v)
	}

	// Unblocking frees; unblocking what is not blocked (free or held) changes nothing.
	if err := s.SetBlocked(ctx, scr.ID, []string{"C3"}, false); err != nil {
		t.Fatalf("unblock: %v", err)
	}
	a = availability(t, s, scr.ID)
	wantTaken(t, "after unblocking C3", a, blocked("C4").and(heldBy(h)))
	if a.Version <= v {
		t.Fatalf("version %d after unblocking, was %d", a.Version, v)
	}
	if err := s.SetBlocked(ctx, scr.ID, []string{"C3", "A1", "B6"}, false); err != nil {
		t.Fatalf("unblock of seats that are not blocked: %v", err)
	}
	wantTaken(t, "after unblocking seats that are free or held", availability(t, s, scr.ID), blocked("C4").and(heldBy(h)))
	if got := version(t, s, scr.ID); got != a.Version {
		t.Fatalf("version %d after unblocking seats that were not blocked, was %d", got, a.Version)
	}
	h2 := hold(t, s, u2, scr.ID, []string{"C3"}) // an unblocked seat can be held

	// A seat whose hold has expired can be blocked.
	lapsed := hold(t, s, newCustomer(), scr.ID, []string{"B1"}, time.Second)
	waitExpired(t, s, lapsed.ID)
	if err := s.SetBlocked(ctx, scr.ID, []string{"B1"}, true); err != nil {
		t.Fatalf("block a seat whose hold has expired: %v", err)
	}
	wantTaken(t, "after blocking an expired hold's seat", availability(t, s, scr.ID), blocked("C4", "B1").and(heldBy(h, h2)))

	if err := s.SetBlocked(ctx, newID(), []string{"A3"}, true); !errors.Is(err, tickets.ErrNotFound) {
		t.Fatalf("SetBlocked on an unknown screening: err = %v, want ErrNotFound", err)
	}
}

func testCancelScreening(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	m, _, hall, scr := Fixture(t, s)
	other := addScreening(t, s, m.ID, hall, scr.StartsAt.Add(3*time.Hour))
	u1, u2, u3 := newCustomer(), newCustomer(), newCustomer()
	h1 := hold(t, s, u1, scr.ID, []string{"A1", "A2"})
	h2 := hold(t, s, u2, scr.ID, []string{"B1"})
	h3 := hold(t, s, u3, scr.ID, []string{"C3"})
	if _, err := s.ReleaseHold(ctx, h3.ID, u3.user); err != nil {
		t.Fatal(err)
	}
	kept := hold(t, s, u1, other.ID, []string{"A1"})
	v := version(t, s, scr.ID)

	if err := s.CancelScreening(ctx, scr.ID); err != nil {
		t.Fatalf("CancelScreening: %v", err)
	}
	check := func(why string) {
		t.Helper()
		wantStatus(t, s, h1.ID, tickets.HoldCancelled, why+": active hold")
		wantStatus(t, s, h2.ID, tickets.HoldCancelled, why+": active hold")
		wantStatus(t, s, h3.ID, tickets.HoldReleased, why+": released hold")
		wantStatus(t, s, kept.ID, tickets.HoldActive, why+": hold on another screening")
		wantTaken(t, why, availability(t, s, scr.ID), nil)
		wantTaken(t, why+": other screening", availability(t, s, other.ID), heldBy(kept))
		if got := screening(t, s, scr.ID).Status; got != tickets.ScreeningCancelled {
			t.Fatalf("%s: screening status %q, want %q", why, got, tickets.ScreeningCancelled)
		}
		if got := screening(t, s, other.ID).Status; got != tickets.ScreeningScheduled {
			t.Fatalf("%s: other screening's status %q, want %q", why, got, tickets.ScreeningScheduled)
		}
	}
	check("after cancelling")
	vc := version(t, s, scr.ID)
	if vc <= v {
		t.Fatalf("version %d after cancelling a screening with holds, was %d", vc, v)
	}
	_, err := s.Hold(ctx, tx(newCustomer(), scr.ID, 10*time.Minute, fixed(1200, "A3")))
	wantErr(t, err, tickets.ErrScreeningCancelled, "hold on a cancelled screening")
	_, err = s.Hold(ctx, tx(u1, scr.ID, 10*time.Minute, fixed(1200, "A3")))
	wantErr(t, err, tickets.ErrScreeningCancelled, "hold on a cancelled screening by a user who held there")

	if err := s.CancelScreening(ctx, scr.ID); err != nil {
		t.Fatalf("CancelScreening again: %v", err)
	}
	check("after cancelling twice")
	if got := version(t, s, scr.ID); got < vc {
		t.Fatalf("version %d after cancelling again, was %d", got, vc)
	}
	if err := s.CancelScreening(ctx, newID()); !errors.Is(err, tickets.ErrNotFound) {
		t.Fatalf("CancelScreening(unknown): err = %v, want ErrNotFound", err)
	}
}
