package ticketstest

import (
	"crypto/rand"
	"encoding/base32"
	"strconv"
	"testing"
	"time"

	"boxoffice/tickets"
)

// Price categories of the fixture layout.
const (
	Standard = "standard"
	Premium  = "premium"
)

// Fixture timings: the screening lasts ScreeningLength and the hall is cleaned for
// CleaningMinutes after it.
const (
	ScreeningLength = 2 * time.Hour
	CleaningMinutes = 15
)

// Prices are the fixture screening's prices, in EUR cents.
func Prices() []tickets.Price {
	return []tickets.Price{
		{Category: Premium, Amount: 1800, Currency: "EUR"},
		{Category: Standard, Amount: 1200, Currency: "EUR"},
	}
}

// Layout returns the fixture hall's 17 seats, ordered by (Y, X) as Store.Hall returns them:
//
//	Y=0  A1 A2 A3 A4 | A5 A6    standard; A1 is a wheelchair space
//	Y=1  B1 B2 B3 B4 | B5 B6    standard
//	Y=2  C1=C2 C3 C4 | C5       premium; C1 and C2 are a love seat (group "C1-C2")
//
// X counts seat widths from the left wall; the gap at X=4 is the aisle.
func Layout() []tickets.Seat {
	var seats []tickets.Seat
	row := func(y int, name, category string, xs ...int) {
		for i, x := range xs {
			n := i + 1
			label := name + strconv.Itoa(n)
			seats = append(seats, tickets.Seat{ID: label, Label: label, Row: name, Number: n,
				X: x, Y: y, Category: category})
		}
	}
	row(0, "A", Standard, 0, 1, 2, 3, 5, 6)
	row(1, "B", Standard, 0, 1, 2, 3, 5, 6)
	row(2, "C", Premium, 0, 1, 2, 3, 5)
	seats[0].Accessible = true            // A1
	seats[12].GroupID = "C1-C2"           // C1
	seats[13].GroupID = seats[12].GroupID // C2
	return seats
}

// Option changes what Fixture creates.
type Option func(*fixtureConfig)

type fixtureConfig struct {
	startsAt time.Time
}

// StartsAt makes the fixture's screening start at at (default: two hours from now, to the
// second). A start in the past gives a screening that has started, or ended, which the
// store accepts.
func StartsAt(at time.Time) Option {
	return func(c *fixtureConfig) { c.startsAt = at }
}

// Fixture creates in s a movie, a cinema in Europe/Berlin, one hall of that cinema with
// Layout and CleaningMinutes, and a scheduled screening of the movie in that hall lasting
// ScreeningLength, priced with Prices. Every call uses fresh IDs, so a test may call it more
// than once on one store. It returns the records as the store should read them back: the
// cinema with its one hall summarised, the hall's seats ordered by (Y, X), the screening
// with CinemaID filled in, Status scheduled and SeatsAvailable the hall's seat count. It
// fails the test on any error.
func Fixture(t testing.TB, s tickets.Store, opts ...Option) (tickets.Movie, tickets.Cinema, tickets.Hall, tickets.Screening) {
	t.Helper()
	cfg := fixtureConfig{startsAt: time.Now().Add(2 * time.Hour).Truncate(time.Second)}
	for _, o := range opts {
		o(&cfg)
	}
	m := putMovie(t, s, "Metropolis")
	c := putCinema(t, s, "Kino Fixture")
	h := putHall(t, s, c.ID, "Saal 1", Layout())
	c.Halls = []tickets.HallSummary{{ID: h.ID, Name: h.Name, SeatCount: len(h.Seats)}}
	scr, err := createScreening(t, s, m.ID, h, cfg.startsAt)
	if err != nil {
		t.Fatalf("fixture: create screening: %v", err)
	}
	return m, c, h, scr
}

// putMovie stores a movie with the given title and fresh ID.
func putMovie(t testing.TB, s tickets.Store, title string) tickets.Movie {
	t.Helper()
	m := tickets.Movie{ID: newID(), Title: title, Synopsis: "A city of the future.",
		DurationMinutes: int(ScreeningLength/time.Minute) - 10, Rating: "PG", Genres: []string{"Drama", "Science Fiction"}}
	if created, err := s.PutMovie(t.Context(), m); err != nil || !created {
		t.Fatalf("fixture: put movie %q: created=%v err=%v", title, created, err)
	}
	return m
}

// putCinema stores a cinema in Berlin with the given name and a fresh ID.
func putCinema(t testing.TB, s tickets.Store, name string) tickets.Cinema {
	t.Helper()
	c := tickets.Cinema{ID: newID(), Name: name, City: "Berlin", TimeZone: "Europe/Berlin"}
	if created, err := s.PutCinema(t.Context(), c); err != nil || !created {
		t.Fatalf("fixture: put cinema %q: created=%v err=%v", name, created, err)
	}
	return c
}

// putHall stores a hall of cinemaID with the given seats (sent in reverse order, to check
// that the store orders them) and returns it with the seats as given.
func putHall(t testing.TB, s tickets.Store, cinemaID, name string, seats []tickets.Seat) tickets.Hall {
	t.Helper()
	h := tickets.Hall{ID: newID(), CinemaID: cinemaID, Name: name, CleaningMinutes: CleaningMinutes, Seats: seats}
	sent := h
	sent.Seats = reversed(seats)
	if created, err := s.PutHall(t.Context(), sent); err != nil || !created {
		t.Fatalf("fixture: put hall %q: created=%v err=%v", name, created, err)
	}
	return h
}

// createScreening stores a screening of movieID in hall starting at start, lasting
// ScreeningLength, and returns it as the store should read it back.
func createScreening(t testing.TB, s tickets.Store, movieID string, hall tickets.Hall, start time.Time) (tickets.Screening, error) {
	t.Helper()
	scr := tickets.Screening{ID: newID(), MovieID: movieID, HallID: hall.ID,
		StartsAt: start, EndsAt: start.Add(ScreeningLength), Prices: Prices()}
	err := s.CreateScreening(t.Context(), scr)
	scr.CinemaID, scr.Status, scr.SeatsAvailable = hall.CinemaID, tickets.ScreeningScheduled, len(hall.Seats)
	return scr, err
}

// addScreening is createScreening that fails the test on error.
func addScreening(t testing.TB, s tickets.Store, movieID string, hall tickets.Hall, start time.Time) tickets.Screening {
	t.Helper()
	scr, err := createScreening(t, s, movieID, hall, start)
	if err != nil {
		t.Fatalf("create screening at %v in hall %s: %v", start, hall.ID, err)
	}
	return scr
}

func reversed[T any](xs []T) []T {
	out := make([]T, len(xs))
	for i, x := range xs {
		out[len(xs)-1-i] = x
	}
	return out
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newID returns a fresh random ID in the format of auth.NewID (26 characters, [a-z2-7]).
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return idEncoding.EncodeToString(b[:])
}
