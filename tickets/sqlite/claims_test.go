package sqlite

import (
	"errors"
	"slices"
	"testing"
	"time"

	"boxoffice/tickets"
)

func TestReleaseAndSessions(t *testing.T) {
	clock := newFakeClock()
	s := openMem(t, clock)
	w := seed(t, s, clock)
	ctx := t.Context()
	mustHold(t, s, holdTx("h1", w.scr.ID, "u1", 10*time.Minute, "A1"))
	if _, err := s.ReleaseHold(ctx, "h1", "u2"); err != tickets.ErrNotFound {
		t.Fatalf("releasing another user's hold: %v", err)
	}
	if _, err := s.ReleaseHold(ctx, "nope", "u1"); err != tickets.ErrNotFound {
		t.Fatalf("releasing an unknown hold: %v", err)
	}
	for range 2 {
		h, err := s.ReleaseHold(ctx, "h1", "u1")
		if err != nil || h.Status != tickets.HoldReleased || !h.ServerTime.Equal(clock.Now()) {
			t.Fatalf("ReleaseHold = %+v, %v", h, err)
		}
	}
	if a := available(t, s, w.scr.ID); len(a.Taken) != 0 {
		t.Fatalf("released seat still taken: %v", a.Taken)
	}

	mustHold(t, s, holdTx("h2", w.scr.ID, "u2", 10*time.Minute, "A2"))
	mustHold(t, s, holdTx("h3", w.scr.ID, "u3", 10*time.Minute, "A3"))
	mustHold(t, s, holdTx("h4", w.scr.ID, "u4", time.Minute, "A4"))
	clock.Advance(time.Minute) // h4 expires
	if h, err := s.ReleaseHold(ctx, "h4", "u4"); err != nil || h.Status != tickets.HoldActive || h.Effective().Status != tickets.HoldExpired {
		t.Fatalf("releasing an expired hold = %+v, %v; want it unchanged", h, err)
	}
	refs, err := s.HoldSessions(ctx, "", tickets.SessionRef{}, 1)
	if err != nil || !slices.Equal(refs, []tickets.SessionRef{{UserID: "u2", SessionID: "sess-u2"}}) {
		t.Fatalf("HoldSessions(limit 1) = %v, %v", refs, err)
	}
	if refs, _ := s.HoldSessions(ctx, "u3", tickets.SessionRef{}, 1); !slices.Equal(refs, []tickets.SessionRef{{UserID: "u3", SessionID: "sess-u3"}}) {
		t.Fatalf("HoldSessions(u3) = %v", refs)
	}
	if err := s.MoveSessionHolds(ctx, "sess-u3", "new-u3"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.EndSessionHolds(ctx, []string{"sess-u3", "sess-u4"}); err != nil || n != 0 {
		t.Fatalf("ending moved and expired sessions = %d, %v; want 0", n, err)
	}
	if n, err := s.EndSessionHolds(ctx, []string{"sess-u2", "new-u3"}); err != nil || n != 2 {
		t.Fatalf("EndSessionHolds = %d, %v; want 2", n, err)
	}
	for _, id := range []string{"h2", "h3"} {
		if got := status(t, s, id); got != tickets.HoldRevoked {
			t.Fatalf("hold %s of an ended session: %s", id, got)
		}
	}
	if a := available(t, s, w.scr.ID); len(a.Taken) != 0 {
		t.Fatalf("revoked seats still taken: %v", a.Taken)
	}
}

func TestSetBlocked(t *testing.T) {
	clock := newFakeClock()
	s := openMem(t, clock)
	w := seed(t, s, clock)
	ctx := t.Context()
	mustHold(t, s, holdTx("h1", w.scr.ID, "u1", 10*time.Minute, "A1", "A2"))
	err := s.SetBlocked(ctx, w.scr.ID, []string{"A3", "A2", "A1"}, true)
	var ue *tickets.UnavailableError
	if !errors.As(err, &ue) || !slices.Equal(ue.SeatIDs, []string{"A1", "A2"}) {
		t.Fatalf("blocking held seats: %v", err)
	}
	if a := available(t, s, w.scr.ID); len(a.Taken) != 2 {
		t.Fatalf("refused block changed claims: %v", a.Taken)
	}
	if err := s.SetBlocked(ctx, w.scr.ID, []string{"A3", "A4"}, true); err != nil {
		t.Fatal(err)
	}
	v := available(t, s, w.scr.ID).Version
	if err := s.SetBlocked(ctx, w.scr.ID, []string{"A3"}, true); err != nil {
		t.Fatalf("blocking a blocked seat: %v", err)
	}
	a := available(t, s, w.scr.ID)
	if a.Taken["A3"].State != tickets.Blocked || a.Taken["A4"].State != tickets.Blocked || a.Version < v {
		t.Fatalf("taken = %v", a.Taken)
	}
	if _, err := s.Hold(ctx, holdTx("h2", w.scr.ID, "u2", time.Minute, "A4")); !errors.Is(err, tickets.ErrSeatsUnavailable) {
		t.Fatalf("holding a blocked seat: %v", err)
	}
	clock.Advance(10 * time.Minute) // h1 expires: its seats may be blocked
	if err := s.SetBlocked(ctx, w.scr.ID, []string{"A1"}, true); err != nil {
		t.Fatalf("blocking an expired hold's seat: %v", err)
	}
	if err := s.SetBlocked(ctx, w.scr.ID, []string{"A1", "A3", "B1"}, false); err != nil {
		t.Fatal(err)
	}
	a = available(t, s, w.scr.ID)
	if len(a.Taken) != 1 || a.Taken["A4"].State != tickets.Blocked {
		t.Fatalf("after unblocking: %v", a.Taken)
	}
	if err := s.SetBlocked(ctx, "nope", []string{"A1"}, true); err != tickets.ErrNotFound {
		t.Fatalf("unknown screening: %v", err)
	}
}

// Claims and holds are never deleted, and a screening's version never decreases.
func TestNothingDeletedVersionGrows(t *testing.T) {
	clock := newFakeClock()
	s := openMem(t, clock)
	w := seed(t, s, clock)
	ctx := t.Context()
	var last int64
	step := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		v := available(t, s, w.scr.ID).Version
		if v <= last {
			t.Fatalf("%s: version %d after %d", what, v, last)
		}
		last = v
	}
	_, err := s.Hold(ctx, holdTx("h1", w.scr.ID, "u1", time.Minute, "A1", "A2"))
	step("hold", err)
	_, err = s.ReleaseHold(ctx, "h1", "u1")
	step("release", err)
	_, err = s.Hold(ctx, holdTx("h2", w.scr.ID, "u1", time.Minute, "A1"))
	step("hold again", err)
	clock.Advance(time.Minute)
	_, err = s.Sweep(ctx, 10)
	step("sweep", err)
	step("block", s.SetBlocked(ctx, w.scr.ID, []string{"B3"}, true))
	step("unblock", s.SetBlocked(ctx, w.scr.ID, []string{"B3"}, false))
	var claims, holds int
	if err := s.db.QueryRow(`SELECT (SELECT count(*) FROM seat_claims), (SELECT count(*) FROM holds)`).Scan(&claims, &holds); err != nil {
		t.Fatal(err)
	}
	if claims != 3 || holds != 2 {
		t.Fatalf("%d claims and %d holds stored; want 3 and 2 (rows are never deleted)", claims, holds)
	}
}
