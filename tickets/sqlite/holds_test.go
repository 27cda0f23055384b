package sqlite

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"boxoffice/tickets"
)

func TestHoldIsAllOrNothing(t *testing.T) {
	clock := newFakeClock()
	s := openMem(t, clock)
	w := seed(t, s, clock)
	h1 := mustHold(t, s, holdTx("h1", w.scr.ID, "u1", 10*time.Minute, "A2", "A1"))
	if !slices.Equal(h1.SeatIDs, []string{"A1", "A2"}) || h1.Status != tickets.HoldActive ||
		!h1.ExpiresAt.Equal(clock.Now().Add(10*time.Minute)) || !h1.ServerTime.Equal(clock.Now()) || h1.Total.Amount != 2000 {
		t.Fatalf("hold = %+v", h1)
	}
	v1 := available(t, s, w.scr.ID).Version
	mustHold(t, s, holdTx("h2", w.scr.ID, "u2", 10*time.Minute, "B3"))

	_, err := s.Hold(t.Context(), holdTx("h3", w.scr.ID, "u3", 10*time.Minute, "B4", "B3", "A3", "A2", "A1"))
	var ue *tickets.UnavailableError
	if !errors.As(err, &ue) || !errors.Is(err, tickets.ErrSeatsUnavailable) || !slices.Equal(ue.SeatIDs, []string{"A1", "A2", "B3"}) {
		t.Fatalf("overlapping hold: err = %v; want UnavailableError naming A1 A2 B3", err)
	}
	a := available(t, s, w.scr.ID)
	if len(a.Taken) != 3 || a.Taken["A3"].State != "" || a.Taken["A1"].HoldID != "h1" || a.Taken["B3"].HoldID != "h2" {
		t.Fatalf("after the refused hold: taken = %+v; want only A1 A2 (h1) and B3 (h2)", a.Taken)
	}
	if a.Version <= v1 || !a.Now.Equal(clock.Now()) {
		t.Fatalf("version %d (after h1: %d), now %v", a.Version, v1, a.Now)
	}
	if _, err := s.GetHold(t.Context(), "h3"); err != tickets.ErrNotFound {
		t.Fatalf("the refused hold was stored: %v", err)
	}
	if _, err := s.Hold(t.Context(), holdTx("h1", w.scr.ID, "u9", time.Minute, "B1")); !errors.Is(err, tickets.ErrConflict) {
		t.Fatalf("reusing a hold ID: %v", err)
	}
}

func TestHoldExpiresOnTheInjectedClock(t *testing.T) {
	clock := newFakeClock()
	s := openMem(t, clock)
	w := seed(t, s, clock)
	mustHold(t, s, holdTx("h1", w.scr.ID, "u1", 10*time.Minute, "A1", "A2"))
	clock.Advance(10*time.Minute - time.Millisecond)
	if _, err := s.Hold(t.Context(), holdTx("h2", w.scr.ID, "u2", time.Minute, "A2")); !errors.Is(err, tickets.ErrSeatsUnavailable) {
		t.Fatalf("a millisecond before the deadline: %v", err)
	}
	clock.Advance(time.Millisecond)
	if a := available(t, s, w.scr.ID); len(a.Taken) != 0 {
		t.Fatalf("at the deadline: taken %v", a.Taken)
	}
	h, err := s.GetHold(t.Context(), "h1")
	if err != nil || h.Status != tickets.HoldActive || h.Effective().Status != tickets.HoldExpired {
		t.Fatalf("GetHold at the deadline = %+v, %v; want stored active, effectively expired", h, err)
	}
	if sessions, _ := s.HoldSessions(t.Context(), "", tickets.SessionRef{}, 0); len(sessions) != 0 {
		t.Fatalf("HoldSessions lists an expired hold's session: %v", sessions)
	}
	v := available(t, s, w.scr.ID).Version
	mustHold(t, s, holdTx("h2", w.scr.ID, "u2", time.Minute, "A2"))
	if n, err := s.Sweep(t.Context(), 10); err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want 1", n, err)
	}
	if got := status(t, s, "h1"); got != tickets.HoldExpired {
		t.Fatalf("swept hold: %s", got)
	}
	a := available(t, s, w.scr.ID)
	if a.Version <= v || len(a.Taken) != 1 || a.Taken["A2"].HoldID != "h2" {
		t.Fatalf("after Sweep: version %d (before %d), taken %+v; want A2 still h2's", a.Version, v, a.Taken)
	}
	if n, _ := s.Sweep(t.Context(), 10); n != 0 {
		t.Fatalf("second Sweep = %d", n)
	}
}

func TestHoldReplacesTheUsersPreviousHold(t *testing.T) {
	clock := newFakeClock()
	s := openMem(t, clock)
	w := seed(t, s, clock)
	mustHold(t, s, holdTx("h1", w.scr.ID, "u1", 10*time.Minute, "A1", "A2"))
	mustHold(t, s, holdTx("x", w.scr.ID, "u2", 10*time.Minute, "A4"))
	var seen tickets.Availability
	tx := holdTx("h2", w.scr.ID, "u1", 10*time.Minute, "A2", "A3")
	plan := tx.Plan
	tx.Plan = func(a tickets.Availability) ([]string, tickets.Money, error) { seen = a; return plan(a) }
	mustHold(t, s, tx)
	if _, ok := seen.Taken["A1"]; ok || seen.Taken["A4"].HoldID != "x" {
		t.Fatalf("Plan saw %+v; want the replaced hold's seats available", seen.Taken)
	}
	if got := status(t, s, "h1"); got != tickets.HoldReplaced {
		t.Fatalf("replaced hold: %s", got)
	}
	if a := available(t, s, w.scr.ID); len(a.Taken) != 3 || a.Taken["A1"].State != "" {
		t.Fatalf("taken = %+v; want A2 A3 (h2) and A4", a.Taken)
	}
	// A replacement that fails keeps the hold it would replace.
	if _, err := s.Hold(t.Context(), holdTx("h3", w.scr.ID, "u1", 10*time.Minute, "A1", "A4")); !errors.Is(err, tickets.ErrSeatsUnavailable) {
		t.Fatalf("replacement onto a taken seat: %v", err)
	}
	errPlan := errors.New("plan refused")
	tx = holdTx("h4", w.scr.ID, "u1", 10*time.Minute)
	tx.Plan = func(tickets.Availability) ([]string, tickets.Money, error) { return nil, tickets.Money{}, errPlan }
	if _, err := s.Hold(t.Context(), tx); err != errPlan {
		t.Fatalf("Plan's error came back as %v", err)
	}
	if got := status(t, s, "h2"); got != tickets.HoldActive {
		t.Fatalf("hold after failed replacements: %s", got)
	}
	// An expired previous hold is recorded as expired, not replaced.
	clock.Advance(11 * time.Minute)
	mustHold(t, s, holdTx("h5", w.scr.ID, "u1", 10*time.Minute, "A1"))
	if got := status(t, s, "h2"); got != tickets.HoldExpired {
		t.Fatalf("expired hold replaced: %s", got)
	}
}

func TestHoldRefusedScreenings(t *testing.T) {
	clock := newFakeClock()
	s := openMem(t, clock)
	w := seed(t, s, clock)
	if _, err := s.Hold(t.Context(), holdTx("h0", "nope", "u1", time.Minute, "A1")); err != tickets.ErrNotFound {
		t.Fatalf("unknown screening: %v", err)
	}
	mustHold(t, s, holdTx("h1", w.scr.ID, "u1", time.Hour, "A1"))
	mustHold(t, s, holdTx("h2", w.scr.ID, "u2", time.Hour, "A2"))
	clock.Advance(2 * time.Hour)
	if _, err := s.Hold(t.Context(), holdTx("h3", w.scr.ID, "u3", time.Minute, "A3")); !errors.Is(err, tickets.ErrScreeningStarted) {
		t.Fatalf("at the start: %v", err)
	}
	clock.Advance(-2 * time.Hour)
	if err := s.CancelScreening(t.Context(), w.scr.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.CancelScreening(t.Context(), w.scr.ID); err != nil {
		t.Fatalf("cancelling twice: %v", err)
	}
	if err := s.CancelScreening(t.Context(), "nope"); err != tickets.ErrNotFound {
		t.Fatalf("cancelling an unknown screening: %v", err)
	}
	for _, id := range []string{"h1", "h2"} {
		if got := status(t, s, id); got != tickets.HoldCancelled {
			t.Fatalf("hold %s on the cancelled screening: %s", id, got)
		}
	}
	if a := available(t, s, w.scr.ID); len(a.Taken) != 0 {
		t.Fatalf("cancelled screening: taken %v", a.Taken)
	}
	if _, err := s.Hold(t.Context(), holdTx("h4", w.scr.ID, "u1", time.Minute, "A1")); !errors.Is(err, tickets.ErrScreeningCancelled) {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestConcurrentHoldsOnOneSeat(t *testing.T) {
	clock := newFakeClock()
	s := openMem(t, clock)
	w := seed(t, s, clock)
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = s.Hold(t.Context(), holdTx(fmt.Sprint("h", i), w.scr.ID, fmt.Sprint("u", i), time.Minute, "A2", fmt.Sprint("B", 1+i%4)))
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, tickets.ErrSeatsUnavailable):
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if a := available(t, s, w.scr.ID); won != 1 || len(a.Taken) != 2 {
		t.Fatalf("%d holds won, taken %v; want exactly one hold of two seats", won, a.Taken)
	}
}
