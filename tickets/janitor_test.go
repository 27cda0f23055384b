package tickets_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"boxoffice/tickets"
	"boxoffice/tickets/sqlite"
	"boxoffice/tickets/ticketstest"
)

// checker is a SessionChecker over a set of ended sessions, recording what it was asked.
type checker struct {
	mu    sync.Mutex
	ended map[string]bool
	asked []string
}

func (c *checker) Alive(_ context.Context, refs []tickets.SessionRef) ([]bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]bool, len(refs))
	for i, r := range refs {
		out[i] = !c.ended[r.SessionID]
		c.asked = append(c.asked, r.SessionID)
	}
	return out, nil
}

// mover is a checker that also reports sessions moved by a password change.
type mover struct {
	checker
	moved map[string]string
}

func (m *mover) MovedTo(_ context.Context, r tickets.SessionRef) (string, error) {
	return m.moved[r.SessionID], nil
}

// TestJanitorMovesHoldsOfMovedSessions: a session reported gone because a password change
// moved it to a new id keeps its holds, now under the new id — a janitor round between the
// change and the request's own move of the holds must not end them — while a session that
// simply ended loses its holds.
func TestJanitorMovesHoldsOfMovedSessions(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, "", sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	_, _, _, sc := ticketstest.Fixture(t, st)
	chk := &mover{checker: checker{ended: map[string]bool{"s-old": true, "s-gone": true}},
		moved: map[string]string{"s-old": "s-new"}}
	svc := tickets.NewService(st, tickets.Config{Sessions: chk})
	kept, err := svc.Hold(ctx, tickets.Owner{UserID: "u1", SessionID: "s-old"}, sc.ID, tickets.Selection{SeatIDs: []string{"A1"}})
	if err != nil {
		t.Fatal(err)
	}
	lost, err := svc.Hold(ctx, tickets.Owner{UserID: "u2", SessionID: "s-gone"}, sc.ID, tickets.Selection{SeatIDs: []string{"C5"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := (&tickets.Janitor{Service: svc}).Once(ctx); err != nil {
		t.Fatal(err)
	}
	h, err := svc.GetHold(ctx, tickets.Owner{UserID: "u1"}, kept.ID)
	if err != nil || h.Status != tickets.HoldActive || h.SessionID != "s-new" {
		t.Fatalf("the moved session's hold = %q of %q, %v; want active, of s-new", h.Status, h.SessionID, err)
	}
	h, err = svc.GetHold(ctx, tickets.Owner{UserID: "u2"}, lost.ID)
	if err != nil || h.Status != tickets.HoldRevoked {
		t.Fatalf("the ended session's hold = %q, %v; want %q", h.Status, err, tickets.HoldRevoked)
	}
}

// TestJanitorPagesThroughSessions: with more holding sessions than a round checks, successive
// rounds go on where the last stopped, so a session late in the order is checked too, and its
// holds end.
func TestJanitorPagesThroughSessions(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, "", sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	_, _, _, sc := ticketstest.Fixture(t, st)
	chk := &checker{ended: map[string]bool{}}
	svc := tickets.NewService(st, tickets.Config{Sessions: chk})
	seats := []string{"A1", "B1", "A4", "C5", "B2"} // none strands a seat
	var holds []tickets.Hold
	for i, seat := range seats {
		h, err := svc.Hold(ctx, tickets.Owner{UserID: fmt.Sprintf("u%d", i), SessionID: fmt.Sprintf("s%d", i)}, sc.ID,
			tickets.Selection{SeatIDs: []string{seat}})
		if err != nil {
			t.Fatalf("hold %s: %v", seat, err)
		}
		holds = append(holds, h)
	}
	chk.ended["s4"] = true // the last in (user, session) order
	j := &tickets.Janitor{Service: svc, Batch: 2}
	for round := 0; round < 3; round++ { // pages: s0 s1 | s2 s3 | s4
		if err := j.Once(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{"s0", "s1", "s2", "s3", "s4"}; !slices.Equal(chk.asked, want) {
		t.Fatalf("sessions checked over three rounds = %v, want %v", chk.asked, want)
	}
	h, err := svc.GetHold(ctx, tickets.Owner{UserID: "u4"}, holds[4].ID)
	if err != nil || h.Status != tickets.HoldRevoked {
		t.Fatalf("the ended session's hold = %q, %v; want %q", h.Status, err, tickets.HoldRevoked)
	}
	for _, live := range holds[:4] {
		h, err := svc.GetHold(ctx, tickets.Owner{UserID: live.UserID}, live.ID)
		if err != nil || h.Status != tickets.HoldActive {
			t.Fatalf("a live session's hold = %q, %v; want active", h.Status, err)
		}
	}
	// The next round starts from the top again.
	chk.asked = nil
	if err := j.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(chk.asked, []string{"s0", "s1"}) {
		t.Fatalf("after the last page the janitor asked %v, want it to start again with s0, s1", chk.asked)
	}
}
