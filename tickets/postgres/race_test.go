package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"boxoffice/tickets"
	"boxoffice/tickets/postgres"
	"boxoffice/tickets/ticketstest"
)

// bigHall stores a movie, a cinema and a rows×cols hall, and a screening in it starting in two
// hours; it returns the screening's ID and its seat IDs.
func bigHall(t *testing.T, s tickets.Store, rows, cols int) (string, []string) {
	t.Helper()
	ctx := t.Context()
	if _, err := s.PutMovie(ctx, tickets.Movie{ID: "m", Title: "M", DurationMinutes: 100}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutCinema(ctx, tickets.Cinema{ID: "c", Name: "C", City: "Berlin", TimeZone: "Europe/Berlin"}); err != nil {
		t.Fatal(err)
	}
	h := tickets.Hall{ID: "h", CinemaID: "c", Name: "H", CleaningMinutes: 15}
	var ids []string
	for y := range rows {
		for x := range cols {
			id := fmt.Sprintf("%c%d", 'A'+y, x+1)
			ids = append(ids, id)
			h.Seats = append(h.Seats, tickets.Seat{ID: id, Label: id, Row: id[:1], Number: x + 1, X: x, Y: y,
				Category: "standard"})
		}
	}
	if _, err := s.PutHall(ctx, h); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(2 * time.Hour).Truncate(time.Second)
	if err := s.CreateScreening(ctx, tickets.Screening{ID: "s", MovieID: "m", HallID: "h", StartsAt: start,
		EndsAt: start.Add(2 * time.Hour), Prices: []tickets.Price{{Category: "standard", Amount: 1000, Currency: "EUR"}}}); err != nil {
		t.Fatal(err)
	}
	return "s", ids
}

func fixedPlan(seats ...string) func(tickets.Availability) ([]string, tickets.Money, error) {
	return func(tickets.Availability) ([]string, tickets.Money, error) {
		return slices.Clone(seats), tickets.Money{Amount: 1000 * int64(len(seats)), Currency: "EUR"}, nil
	}
}

// TestHotScreening: 32 clients hold, replace and release pairs of seats of one 200-seat
// screening at once while readers watch its availability. No seat is ever held twice, every
// refusal is an UnavailableError, the version never goes down, and the seat events, once
// numbered, agree with every read (checkSeatEvents).
func TestHotScreening(t *testing.T) {
	url := ticketstest.PostgresURL(t)
	s, err := postgres.Open(t.Context(), url, postgres.Options{MaxConns: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	scr, seats := bigHall(t, s, 10, 20)
	ctx := t.Context()

	const clients, rounds = 32, 12
	var held, refused atomic.Int64
	var writers sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, clients+4)
	for c := range clients {
		writers.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), 7))
			user := fmt.Sprintf("u%d", c)
			for r := range rounds {
				i := rng.IntN(len(seats) - 1)
				h, err := s.Hold(ctx, tickets.HoldTx{ID: fmt.Sprintf("h%d-%d", c, r), ScreeningID: scr,
					UserID: user, SessionID: "s" + user, TTL: 10 * time.Minute, Plan: fixedPlan(seats[i], seats[i+1])})
				switch {
				case err == nil:
					held.Add(1)
					if rng.IntN(4) == 0 {
						if _, err := s.ReleaseHold(ctx, h.ID, user); err != nil {
							errs <- fmt.Errorf("release: %w", err)
							return
						}
					}
				case errors.Is(err, tickets.ErrSeatsUnavailable):
					refused.Add(1)
				default:
					errs <- fmt.Errorf("client %d round %d: %w", c, r, err)
					return
				}
			}
		})
	}
	var readers sync.WaitGroup
	readers.Go(func() { // the sequencer, as the live hub runs it: versions move while readers read
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			if _, err := s.SequenceSeatEvents(ctx, 500); err != nil {
				errs <- err
				return
			}
		}
	})
	var mu sync.Mutex
	seen := map[int64]string{} // version → the taken seats (and holds) it showed
	var reads []read           // every read: its version and the seats it showed taken
	for range 2 {
		readers.Go(func() {
			var last int64
			for {
				select {
				case <-stop:
					return
				default:
				}
				a, err := s.Availability(ctx, scr)
				if err != nil {
					errs <- err
					return
				}
				if a.Version < last {
					errs <- fmt.Errorf("version went down from %d to %d", last, a.Version)
					return
				}
				last = a.Version
				var taken, ids []string
				for id, c := range a.Taken {
					taken = append(taken, id+"="+c.HoldID)
					ids = append(ids, id)
				}
				slices.Sort(taken)
				slices.Sort(ids)
				fp := strings.Join(taken, ",")
				mu.Lock()
				seen[a.Version] = fp
				reads = append(reads, read{a.Version, ids})
				mu.Unlock()
			}
		})
	}
	writers.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d holds taken, %d refused, %d versions seen", held.Load(), refused.Load(), len(seen))
	checkClaims(t, url)
	checkSeatEvents(t, s, scr, reads)
}

// read is a seat map read: its version and the seats it showed taken, sorted.
type read struct {
	version int64
	taken   []string
}

// checkSeatEvents checks the screening's seat events against what readers saw, once every event
// is numbered: versions run 1, 2, 3, … without gaps up to the current version; replaying them
// gives the seats taken now; and a read at version V never shows a seat older than the events
// up to V say, nor a state its events never reach after V (a read may show changes not numbered
// yet: those come after V).
func checkSeatEvents(t *testing.T, s *postgres.Store, scr string, reads []read) {
	t.Helper()
	for {
		n, err := s.SequenceSeatEvents(t.Context(), 1000)
		if err != nil {
			t.Fatal(err)
		}
		if n < 1000 {
			break
		}
	}
	var events []tickets.SeatEvent
	var current int64
	for {
		page, cur, err := s.SeatEvents(t.Context(), scr, int64(len(events)), 1000)
		if err != nil {
			t.Fatal(err)
		}
		current = cur
		events = append(events, page...)
		if len(page) < 1000 {
			break
		}
	}
	if int64(len(events)) != current {
		t.Fatalf("%d events, current version %d", len(events), current)
	}
	type change struct {
		version int64
		taken   bool
	}
	history := map[string][]change{} // seat → its changes, in version order
	final := map[string]bool{}
	for i, ev := range events {
		if ev.Version != int64(i+1) {
			t.Fatalf("event %d has version %d: versions must run without gaps", i, ev.Version)
		}
		for _, c := range ev.Seats {
			taken := c.Status != tickets.Available
			history[c.SeatID] = append(history[c.SeatID], change{ev.Version, taken})
			final[c.SeatID] = taken
		}
	}
	a, err := s.Availability(t.Context(), scr)
	if err != nil {
		t.Fatal(err)
	}
	for seat, taken := range final {
		if _, now := a.Taken[seat]; now != taken {
			t.Fatalf("replaying every event leaves %s taken=%v; the seat map shows taken=%v", seat, taken, now)
		}
	}
	for _, r := range reads {
		if r.version > current {
			t.Fatalf("a reader saw version %d, above the current %d", r.version, current)
		}
		shown := map[string]bool{}
		for _, id := range r.taken {
			shown[id] = true
		}
		for seat, h := range history {
			atV, later := false, map[bool]bool{}
			for _, c := range h {
				if c.version <= r.version {
					atV = c.taken
				} else {
					later[c.taken] = true
				}
			}
			if shown[seat] != atV && !later[shown[seat]] {
				t.Fatalf("a read at version %d shows %s taken=%v: the events say %v at that version and never %v after it",
					r.version, seat, shown[seat], atV, shown[seat])
			}
		}
	}
}

// checkClaims checks the database's own invariants: every held claim belongs to an active hold
// that lists the seat, and every seat of an active hold is held by it.
func checkClaims(t *testing.T, url string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var orphans, missing int
	if err := conn.QueryRow(t.Context(), `
		SELECT
			(SELECT count(*) FROM seat_claims c LEFT JOIN holds h ON h.id = c.hold_id
				WHERE c.state = 'held' AND (h.status IS DISTINCT FROM 'active' OR NOT c.seat_id = ANY (h.seat_ids))),
			(SELECT count(*) FROM holds h, unnest(h.seat_ids) AS s(seat_id)
				WHERE h.status = 'active' AND NOT EXISTS (SELECT 1 FROM seat_claims c
					WHERE c.screening_id = h.screening_id AND c.seat_id = s.seat_id AND c.hold_id = h.id AND c.state = 'held'))`,
	).Scan(&orphans, &missing); err != nil {
		t.Fatal(err)
	}
	if orphans != 0 || missing != 0 {
		t.Fatalf("%d held claims without their active hold, %d seats of active holds not held by them", orphans, missing)
	}
}

// TestCancelRacesHolds: 32 clients keep holding seats of one screening while it is cancelled.
// Each hold either committed before the cancellation (and is cancelled by it) or saw it, and the
// cancellation is not starved by the holds that keep coming: the clients stop only when they see
// it (or, failing the test, after a minute).
func TestCancelRacesHolds(t *testing.T) {
	url := ticketstest.PostgresURL(t)
	s, err := postgres.Open(t.Context(), url, postgres.Options{MaxConns: 36})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	scr, seats := bigHall(t, s, 10, 20)
	ctx := t.Context()

	const clients = 32
	giveUp := time.Now().Add(time.Minute)
	var successes atomic.Int64
	last := make([]string, clients)
	errs := make([]error, clients)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			user := fmt.Sprintf("u%d", c)
			for r := 0; time.Now().Before(giveUp); r++ {
				h, err := s.Hold(ctx, tickets.HoldTx{ID: fmt.Sprintf("h%d-%d", c, r), ScreeningID: scr, UserID: user,
					SessionID: "s", TTL: 10 * time.Minute, Plan: fixedPlan(seats[6*c+r%6])})
				if err != nil {
					errs[c] = err
					return
				}
				last[c] = h.ID
				successes.Add(1)
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
wait:
	for successes.Load() < 2*clients {
		select {
		case <-done: // every client stopped: reported below
			break wait
		case <-time.After(time.Millisecond):
		}
	}
	if err := s.CancelScreening(ctx, scr); err != nil {
		t.Fatal(err)
	}
	<-done
	for c := range clients {
		if !errors.Is(errs[c], tickets.ErrScreeningCancelled) {
			t.Errorf("client %d ended with %v, want ErrScreeningCancelled (nil: it held for a minute, the cancellation starved)",
				c, errs[c])
		}
		if last[c] == "" {
			continue
		}
		if h, err := s.GetHold(ctx, last[c]); err != nil || h.Status != tickets.HoldCancelled {
			t.Errorf("client %d's last hold %s = %q, %v; want cancelled", c, last[c], h.Status, err)
		}
	}
	if a, err := s.Availability(ctx, scr); err != nil || len(a.Taken) != 0 {
		t.Errorf("availability after the cancellation = %v, %v; want no seat taken", a.Taken, err)
	}
	checkClaims(t, url)
}

// TestSameUserAtOnce: one user's holds on one screening, sent at once (a double click, several
// tabs), replace each other: the user ends up with exactly one active hold, holding its seats.
func TestSameUserAtOnce(t *testing.T) {
	url := ticketstest.PostgresURL(t)
	s, err := postgres.Open(t.Context(), url, postgres.Options{MaxConns: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	scr, seats := bigHall(t, s, 2, 10)
	ctx := t.Context()
	const n = 8
	results := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			_, results[i] = s.Hold(ctx, tickets.HoldTx{ID: fmt.Sprintf("h%d", i), ScreeningID: scr, UserID: "u",
				SessionID: "s", TTL: 10 * time.Minute, Plan: fixedPlan(seats[2*i], seats[2*i+1])})
		})
	}
	close(start)
	wg.Wait()
	var active []string
	for i, err := range results {
		if err != nil {
			t.Errorf("hold %d: %v", i, err)
			continue
		}
		h, err := s.GetHold(ctx, fmt.Sprintf("h%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if h.Status == tickets.HoldActive {
			active = append(active, h.ID)
		} else if h.Status != tickets.HoldReplaced {
			t.Errorf("hold %s: status %q, want active or replaced", h.ID, h.Status)
		}
	}
	if len(active) != 1 {
		t.Errorf("active holds of the user: %v, want exactly one", active)
	}
	checkClaims(t, url)
}
