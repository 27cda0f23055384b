package ticketstest

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"boxoffice/tickets"
)

func testCreateScreening(t *testing.T, s tickets.Store) {
	_, _, _, scr := Fixture(t, s) // created with CinemaID and Status empty
	wantScreening(t, screening(t, s, scr.ID), scr, "Screening after create")

	got, err := s.Screenings(t.Context(), tickets.ScreeningQuery{From: scr.StartsAt, To: scr.EndsAt, Limit: 10})
	if err != nil || len(got) != 1 {
		t.Fatalf("Screenings around the only screening = %+v, %v", got, err)
	}
	wantScreening(t, got[0], scr, "Screenings after create")
}

// wantScreening fails unless got has every field of want; Prices in any order.
func wantScreening(t *testing.T, got, want tickets.Screening, why string) {
	t.Helper()
	if got.ID != want.ID || got.MovieID != want.MovieID || got.CinemaID != want.CinemaID || got.HallID != want.HallID ||
		!got.StartsAt.Equal(want.StartsAt) || !got.EndsAt.Equal(want.EndsAt) || got.Status != want.Status ||
		got.SeatsAvailable != want.SeatsAvailable || !slices.Equal(sortPrices(got.Prices), sortPrices(want.Prices)) {
		t.Fatalf("%s:\n\tgot  %+v\n\twant %+v", why, got, want)
	}
}

func testCreateScreeningRefused(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	m, c, _, scr := Fixture(t, s)
	h2 := putHall(t, s, c.ID, "Saal 2", Layout())

	// The ID is taken: refused even in another hall at another time.
	dup := tickets.Screening{ID: scr.ID, MovieID: m.ID, HallID: h2.ID, StartsAt: scr.StartsAt.Add(24 * time.Hour),
		EndsAt: scr.EndsAt.Add(24 * time.Hour), Prices: Prices()}
	if err := s.CreateScreening(ctx, dup); !errors.Is(err, tickets.ErrConflict) {
		t.Fatalf("CreateScreening with a taken ID: err = %v, want ErrConflict", err)
	}
	wantScreening(t, screening(t, s, scr.ID), scr, "screening whose ID was reused")
	wantScreenings(t, s, tickets.ScreeningQuery{From: dup.StartsAt, To: dup.EndsAt}, nil, "the day after")

	for _, bad := range []struct {
		what   string
		mutate func(*tickets.Screening)
	}{
		{"unknown movie", func(x *tickets.Screening) { x.MovieID = newID() }},
		{"unknown hall", func(x *tickets.Screening) { x.HallID = newID() }},
	} {
		x := tickets.Screening{ID: newID(), MovieID: m.ID, HallID: h2.ID, StartsAt: dup.StartsAt, EndsAt: dup.EndsAt, Prices: Prices()}
		bad.mutate(&x)
		if err := s.CreateScreening(ctx, x); !errors.Is(err, tickets.ErrNotFound) {
			t.Fatalf("CreateScreening with an %s: err = %v, want ErrNotFound", bad.what, err)
		}
		if got, err := s.Screening(ctx, x.ID); !errors.Is(err, tickets.ErrNotFound) {
			t.Fatalf("screening with an %s was stored: %+v, %v", bad.what, got, err)
		}
	}
}

func testHallBusy(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	m, c, h, scr := Fixture(t, s)
	// scr occupies the hall over [T, T + length + cleaning).
	T := scr.StartsAt
	busyUntil := scr.EndsAt.Add(CleaningMinutes * time.Minute)
	for _, tc := range []struct {
		what  string
		start time.Time
	}{
		{"starting during the film", T.Add(time.Hour)},
		{"starting in its cleaning time", busyUntil.Add(-5 * time.Minute)},
		{"ending during it", T.Add(-time.Hour)},
		{"whose own cleaning time runs into it", T.Add(-ScreeningLength - 5*time.Minute)},
		{"at the same time", T},
	} {
		x, err := createScreening(t, s, m.ID, h, tc.start)
		if !errors.Is(err, tickets.ErrHallBusy) {
			t.Fatalf("screening %s (start %v; the other runs %v–%v, cleaned until %v): err = %v, want ErrHallBusy",
				tc.what, tc.start, T, scr.EndsAt, busyUntil, err)
		}
		if got, err := s.Screening(ctx, x.ID); !errors.Is(err, tickets.ErrNotFound) {
			t.Fatalf("refused screening %s was stored: %+v, %v", tc.what, got, err)
		}
	}
	// Touching intervals are fine: one starting exactly when the hall is clean again, one
	// whose cleaning ends exactly when scr starts.
	after := addScreening(t, s, m.ID, h, busyUntil)
	before := addScreening(t, s, m.ID, h, T.Add(-ScreeningLength-CleaningMinutes*time.Minute))
	// The same time in another hall is fine.
	h2 := putHall(t, s, c.ID, "Saal 2", Layout())
	other := addScreening(t, s, m.ID, h2, T)
	// A cancelled screening does not hold its hall.
	if err := s.CancelScreening(ctx, scr.ID); err != nil {
		t.Fatal(err)
	}
	again := addScreening(t, s, m.ID, h, T)

	scr.Status = tickets.ScreeningCancelled
	wantScreenings(t, s, tickets.ScreeningQuery{From: before.StartsAt, To: after.EndsAt},
		[]tickets.Screening{before, scr, again, other, after}, "every screening of the case")
}

// wantScreenings pages through q (with Limit 100 when q has none) and fails unless the
// result is want ordered by (StartsAt, ID), field by field (SeatsAvailable only for scheduled
// ones).
func wantScreenings(t *testing.T, s tickets.Store, q tickets.ScreeningQuery, want []tickets.Screening, why string) {
	t.Helper()
	if q.Limit == 0 {
		q.Limit = 100
	}
	got := pageScreenings(t, s, q)
	want = slices.Clone(want)
	sortScreenings(want)
	if !slices.Equal(screeningIDs(got), screeningIDs(want)) {
		t.Fatalf("%s: Screenings(movie %q, cinema %q, [%v, %v), limit %d) listed\n\t%v\n\twant\n\t%v", why,
			q.MovieID, q.CinemaID, q.From, q.To, q.Limit, screeningKeys(got), screeningKeys(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if w.Status == tickets.ScreeningCancelled {
			g.SeatsAvailable = w.SeatsAvailable
		}
		wantScreening(t, g, w, why+": listed screening")
	}
}

// pageScreenings follows q's pages to the end.
func pageScreenings(t *testing.T, s tickets.Store, q tickets.ScreeningQuery) []tickets.Screening {
	t.Helper()
	var all []tickets.Screening
	for page := 0; ; page++ {
		if page > 100 {
			t.Fatalf("Screenings: more than 100 pages of %d", q.Limit)
		}
		got, err := s.Screenings(t.Context(), q)
		if err != nil {
			t.Fatalf("Screenings(%+v): %v", q, err)
		}
		if len(got) > q.Limit {
			t.Fatalf("Screenings with limit %d returned %d", q.Limit, len(got))
		}
		if len(got) == 0 {
			return all
		}
		all = append(all, got...)
		last := got[len(got)-1]
		q.AfterStart, q.AfterID = last.StartsAt, last.ID
	}
}

func sortScreenings(xs []tickets.Screening) {
	slices.SortFunc(xs, func(a, b tickets.Screening) int {
		return cmp.Or(a.StartsAt.Compare(b.StartsAt), strings.Compare(a.ID, b.ID))
	})
}

func screeningIDs(xs []tickets.Screening) []string {
	var out []string
	for _, x := range xs {
		out = append(out, x.ID)
	}
	return out
}

func screeningKeys(xs []tickets.Screening) []string {
	var out []string
	for _, x := range xs {
		out = append(out, x.StartsAt.UTC().Format(time.DateTime)+"/"+x.ID)
	}
	return out
}

func testScreeningsQuery(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	m1, c1, h1, _ := Fixture(t, s, StartsAt(time.Now().Add(48*time.Hour).Truncate(time.Minute)))
	// The fixture's screening is outside every window below.
	m2 := putMovie(t, s, "Nosferatu")
	h2 := putHall(t, s, c1.ID, "Saal 2", Layout())
	c2 := putCinema(t, s, "Delphi")
	h3 := putHall(t, s, c2.ID, "Saal", Layout())

	T := time.Now().Add(24 * time.Hour).Truncate(time.Minute)
	s1 := addScreening(t, s, m1.ID, h1, T) // three at the same instant, in three halls
	s2 := addScreening(t, s, m2.ID, h2, T)
	s3 := addScreening(t, s, m1.ID, h3, T)
	s4 := addScreening(t, s, m2.ID, h1, T.Add(3*time.Hour))
	s5 := addScreening(t, s, m1.ID, h2, T.Add(3*time.Hour))
	s6 := addScreening(t, s, m1.ID, h3, T.Add(6*time.Hour))  // at To: outside
	s7 := addScreening(t, s, m1.ID, h1, T.Add(-3*time.Hour)) // before From: outside
	if err := s.CancelScreening(ctx, s5.ID); err != nil {
		t.Fatal(err)
	}
	s5.Status = tickets.ScreeningCancelled

	window := tickets.ScreeningQuery{From: T, To: T.Add(6 * time.Hour)}
	q := func(movie, cinema string) tickets.ScreeningQuery {
		x := window
		x.MovieID, x.CinemaID = movie, cinema
		return x
	}
	wantScreenings(t, s, q("", ""), []tickets.Screening{s1, s2, s3, s4, s5}, "[From, To) with cancelled ones")
	wantScreenings(t, s, q(m1.ID, ""), []tickets.Screening{s1, s3, s5}, "one movie")
	wantScreenings(t, s, q("", c1.ID), []tickets.Screening{s1, s2, s4, s5}, "one cinema")
	wantScreenings(t, s, q(m1.ID, c2.ID), []tickets.Screening{s3}, "one movie in one cinema")
	wantScreenings(t, s, q(m2.ID, c2.ID), nil, "a movie the cinema does not show")
	wantScreenings(t, s, q(newID(), ""), nil, "an unknown movie")

	all := []tickets.Screening{s1, s2, s3, s4, s5, s6, s7}
	for _, limit := range []int{1, 2, 3} {
		wide := tickets.ScreeningQuery{From: T.Add(-3 * time.Hour), To: T.Add(7 * time.Hour), Limit: limit}
		wantScreenings(t, s, wide, all, fmt.Sprintf("pages of %d", limit))
	}
	// A key inside the run of equal start times.
	sortScreenings(all) // s7, then s1, s2, s3 by ID, ...
	key := all[1]
	got, err := s.Screenings(ctx, tickets.ScreeningQuery{From: window.From, To: window.To,
		AfterStart: key.StartsAt, AfterID: key.ID, Limit: 2})
	if err != nil || !slices.Equal(screeningIDs(got), screeningIDs(all[2:4])) {
		t.Fatalf("Screenings after (%v, %s) = %v, %v; want %v", key.StartsAt, key.ID, screeningKeys(got), err, screeningKeys(all[2:4]))
	}
}
