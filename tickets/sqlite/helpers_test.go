package sqlite

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"boxoffice/tickets"
)

// fakeClock is an injected database clock that tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// openMem opens an in-memory store on clock, closed when the test ends.
func openMem(t *testing.T, clock *fakeClock) *Store {
	t.Helper()
	s, err := Open(t.Context(), "", Options{Now: clock.Now})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// world is a small catalogue: a movie, a cinema with one hall of two rows of four seats (row
// B has a love seat B1-B2), and a screening two hours after the clock's now.
type world struct {
	movie  tickets.Movie
	cinema tickets.Cinema
	hall   tickets.Hall
	scr    tickets.Screening
}

func seed(t *testing.T, s *Store, clock *fakeClock) world {
	t.Helper()
	ctx := t.Context()
	w := world{
		movie:  tickets.Movie{ID: "metropolis", Title: "Metropolis", DurationMinutes: 150, Genres: []string{"Drama"}},
		cinema: tickets.Cinema{ID: "kino", Name: "Kino", City: "Berlin", TimeZone: "Europe/Berlin"},
	}
	w.hall = tickets.Hall{ID: "saal-1", CinemaID: "kino", Name: "Saal 1", CleaningMinutes: 15}
	for y, row := range []string{"A", "B"} {
		for x := range 4 {
			id := row + strconv.Itoa(x+1)
			st := tickets.Seat{ID: id, Label: id, Row: row, Number: x + 1, X: x, Y: y, Category: "standard"}
			if id == "B1" || id == "B2" {
				st.GroupID, st.Category = "B1-B2", "premium"
			}
			w.hall.Seats = append(w.hall.Seats, st)
		}
	}
	start := clock.Now().Add(2 * time.Hour)
	w.scr = tickets.Screening{ID: "scr-1", MovieID: "metropolis", HallID: "saal-1", StartsAt: start,
		EndsAt: start.Add(150 * time.Minute), Prices: []tickets.Price{
			{Category: "premium", Amount: 1800, Currency: "EUR"}, {Category: "standard", Amount: 1200, Currency: "EUR"}}}
	must(t, ctx, func(ctx context.Context) error { _, err := s.PutMovie(ctx, w.movie); return err })
	must(t, ctx, func(ctx context.Context) error { _, err := s.PutCinema(ctx, w.cinema); return err })
	must(t, ctx, func(ctx context.Context) error { _, err := s.PutHall(ctx, w.hall); return err })
	must(t, ctx, func(ctx context.Context) error { return s.CreateScreening(ctx, w.scr) })
	return w
}

func must(t *testing.T, ctx context.Context, f func(context.Context) error) {
	t.Helper()
	if err := f(ctx); err != nil {
		t.Fatal(err)
	}
}

// holdTx is a hold of seats by user (session "sess-"+user) for ttl, priced 1000 a seat.
func holdTx(id, screeningID, user string, ttl time.Duration, seats ...string) tickets.HoldTx {
	return tickets.HoldTx{ID: id, ScreeningID: screeningID, UserID: user, SessionID: "sess-" + user, TTL: ttl,
		Plan: func(tickets.Availability) ([]string, tickets.Money, error) {
			return seats, tickets.Money{Amount: 1000 * int64(len(seats)), Currency: "EUR"}, nil
		}}
}

func mustHold(t *testing.T, s *Store, tx tickets.HoldTx) tickets.Hold {
	t.Helper()
	h, err := s.Hold(t.Context(), tx)
	if err != nil {
		t.Fatalf("Hold %s: %v", tx.ID, err)
	}
	return h
}

func status(t *testing.T, s *Store, id string) string {
	t.Helper()
	h, err := s.GetHold(t.Context(), id)
	if err != nil {
		t.Fatalf("GetHold %s: %v", id, err)
	}
	return h.Status
}

func available(t *testing.T, s *Store, screeningID string) tickets.Availability {
	t.Helper()
	a, err := s.Availability(t.Context(), screeningID)
	if err != nil {
		t.Fatalf("Availability: %v", err)
	}
	return a
}
