package ticketstest

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"boxoffice/tickets"
)

func testPutMovie(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	m := tickets.Movie{ID: newID(), Title: "Solaris", Synopsis: "A psychologist is sent to a space station.",
		DurationMinutes: 167, Rating: "PG", Genres: []string{"Drama", "Mystery", "Science Fiction"}}
	if created, err := s.PutMovie(ctx, m); err != nil || !created {
		t.Fatalf("first PutMovie: created=%v err=%v, want true, nil", created, err)
	}
	wantMovie(t, s, m, "after create")

	// Replace every field; the old genres must not linger.
	m2 := tickets.Movie{ID: m.ID, Title: "Solaris (1972)", Synopsis: "Restored.", DurationMinutes: 166, Rating: "",
		Genres: []string{"Classic"}}
	if created, err := s.PutMovie(ctx, m2); err != nil || created {
		t.Fatalf("second PutMovie: created=%v err=%v, want false, nil", created, err)
	}
	wantMovie(t, s, m2, "after replace")
	m2.Genres = nil
	if created, err := s.PutMovie(ctx, m2); err != nil || created {
		t.Fatalf("third PutMovie: created=%v err=%v, want false, nil", created, err)
	}
	wantMovie(t, s, m2, "after removing the genres")

	if got, err := s.Movies(ctx, tickets.MovieQuery{Limit: 10}); err != nil || len(got) != 1 {
		t.Fatalf("Movies after three puts of one movie = %+v, %v; want that one movie", got, err)
	}
	if got, err := s.Movie(ctx, newID()); !errors.Is(err, tickets.ErrNotFound) {
		t.Fatalf("Movie(unknown) = %+v, %v; want ErrNotFound", got, err)
	}
}

func wantMovie(t *testing.T, s tickets.Store, want tickets.Movie, why string) {
	t.Helper()
	got, err := s.Movie(t.Context(), want.ID)
	if err != nil {
		t.Fatalf("%s: Movie(%s): %v", why, want.ID, err)
	}
	if !reflect.DeepEqual(normMovie(got), normMovie(want)) {
		t.Fatalf("%s: Movie(%s)\n\t= %+v\n\twant %+v", why, want.ID, got, want)
	}
}

// normMovie makes nil and empty Genres equal.
func normMovie(m tickets.Movie) tickets.Movie {
	if len(m.Genres) == 0 {
		m.Genres = []string{}
	}
	return m
}

func testMoviesPaging(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	if got, err := s.Movies(ctx, tickets.MovieQuery{Limit: 10}); err != nil || len(got) != 0 {
		t.Fatalf("Movies on an empty store = %+v, %v", got, err)
	}
	// Plain ASCII titles without spaces, so byte order and any locale's collation agree; two
	// share a title, so the ID decides between them.
	var want []tickets.Movie
	for _, title := range []string{"Dune", "Alien", "Casablanca", "Brazil", "Casablanca", "Zardoz"} {
		m := tickets.Movie{ID: newID(), Title: title, DurationMinutes: 100, Genres: []string{"Drama"}}
		if _, err := s.PutMovie(ctx, m); err != nil {
			t.Fatal(err)
		}
		want = append(want, m)
	}
	slices.SortFunc(want, func(a, b tickets.Movie) int {
		return cmp.Or(strings.Compare(a.Title, b.Title), strings.Compare(a.ID, b.ID))
	})
	wantIDs := movieIDs(want)

	for _, limit := range []int{1, 2, 4, 10} {
		var got []tickets.Movie
		q := tickets.MovieQuery{Limit: limit}
		for page := 0; ; page++ {
			if page > len(want) {
				t.Fatalf("limit %d: more than %d pages", limit, len(want))
			}
			ms, err := s.Movies(ctx, q)
			if err != nil {
				t.Fatalf("limit %d, page %d: %v", limit, page, err)
			}
			if len(ms) > limit {
				t.Fatalf("limit %d, page %d: %d movies", limit, page, len(ms))
			}
			if len(ms) == 0 {
				break
			}
			got = append(got, ms...)
			last := ms[len(ms)-1]
			q.AfterTitle, q.AfterID = last.Title, last.ID
		}
		if !slices.Equal(movieIDs(got), wantIDs) {
			t.Fatalf("limit %d: pages gave\n\t%v\n\twant (title, id) order\n\t%v", limit, titles(got), titles(want))
		}
		for i := range got {
			if !reflect.DeepEqual(normMovie(got[i]), normMovie(want[i])) {
				t.Fatalf("limit %d: listed %+v, want %+v", limit, got[i], want[i])
			}
		}
	}
	// A key inside a run of equal titles: the page starts at the next ID of that title.
	first := want[2] // the first Casablanca
	got, err := s.Movies(ctx, tickets.MovieQuery{AfterTitle: first.Title, AfterID: first.ID, Limit: 2})
	if err != nil || !slices.Equal(movieIDs(got), wantIDs[3:5]) {
		t.Fatalf("Movies after (%s, %s) = %v, %v; want %v", first.Title, first.ID, titles(got), err, titles(want[3:5]))
	}
}

func movieIDs(ms []tickets.Movie) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

func titles(ms []tickets.Movie) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Title+"/"+m.ID)
	}
	return out
}

func testCinemas(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	if got, err := s.Cinemas(ctx); err != nil || len(got) != 0 {
		t.Fatalf("Cinemas on an empty store = %+v, %v", got, err)
	}
	zoo := tickets.Cinema{ID: newID(), Name: "Zoo Palast", City: "Berlin", TimeZone: "Europe/Berlin"}
	if created, err := s.PutCinema(ctx, zoo); err != nil || !created {
		t.Fatalf("PutCinema: created=%v err=%v, want true, nil", created, err)
	}
	wantCinema(t, s, zoo, "after create")
	zoo.City, zoo.TimeZone = "Berlin-Charlottenburg", "Europe/Paris"
	if created, err := s.PutCinema(ctx, zoo); err != nil || created {
		t.Fatalf("PutCinema again: created=%v err=%v, want false, nil", created, err)
	}
	wantCinema(t, s, zoo, "after replace")

	astor := putCinema(t, s, "Astor")
	babylon := putCinema(t, s, "Babylon")
	// Halls of the Zoo Palast: two share a name, so the ID orders them; sizes differ.
	small := Layout()[:6]
	h2 := putHall(t, s, zoo.ID, "Saal 2", Layout())
	h1a := putHall(t, s, zoo.ID, "Saal 1", small)
	h1b := putHall(t, s, zoo.ID, "Saal 1", Layout()[6:])
	hb := putHall(t, s, babylon.ID, "Kino", Layout())
	zoo.Halls = []tickets.HallSummary{summary(h1a), summary(h1b), summary(h2)}
	slices.SortFunc(zoo.Halls[:2], func(a, b tickets.HallSummary) int { return strings.Compare(a.ID, b.ID) })
	babylon.Halls = []tickets.HallSummary{summary(hb)}
	wantCinema(t, s, zoo, "with halls")

	// Replacing a cinema's fields keeps its halls.
	zoo.Halls, zoo.Name = nil, "Zoo Palast Berlin"
	if created, err := s.PutCinema(ctx, zoo); err != nil || created {
		t.Fatalf("PutCinema with halls: created=%v err=%v, want false, nil", created, err)
	}
	zoo.Halls = []tickets.HallSummary{summary(h1a), summary(h1b), summary(h2)}
	slices.SortFunc(zoo.Halls[:2], func(a, b tickets.HallSummary) int { return strings.Compare(a.ID, b.ID) })
	wantCinema(t, s, zoo, "after replacing a cinema that has halls")

	got, err := s.Cinemas(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []tickets.Cinema{astor, babylon, zoo}
	if len(got) != len(want) {
		t.Fatalf("Cinemas = %+v, want %+v", got, want)
	}
	for i := range want {
		if !reflect.DeepEqual(normCinema(got[i]), normCinema(want[i])) {
			t.Fatalf("Cinemas()[%d]\n\t= %+v\n\twant %+v (ordered by name, halls by name then ID)", i, got[i], want[i])
		}
	}
	if got, err := s.Cinema(ctx, newID()); !errors.Is(err, tickets.ErrNotFound) {
		t.Fatalf("Cinema(unknown) = %+v, %v; want ErrNotFound", got, err)
	}
}

func summary(h tickets.Hall) tickets.HallSummary {
	return tickets.HallSummary{ID: h.ID, Name: h.Name, SeatCount: len(h.Seats)}
}

func wantCinema(t *testing.T, s tickets.Store, want tickets.Cinema, why string) {
	t.Helper()
	got, err := s.Cinema(t.Context(), want.ID)
	if err != nil {
		t.Fatalf("%s: Cinema(%s): %v", why, want.ID, err)
	}
	if !reflect.DeepEqual(normCinema(got), normCinema(want)) {
		t.Fatalf("%s: Cinema(%s)\n\t= %+v\n\twant %+v", why, want.ID, got, want)
	}
}

// normCinema makes nil and empty Halls equal.
func normCinema(c tickets.Cinema) tickets.Cinema {
	if len(c.Halls) == 0 {
		c.Halls = []tickets.HallSummary{}
	}
	return c
}

func wantHall(t *testing.T, s tickets.Store, want tickets.Hall, why string) {
	t.Helper()
	got, err := s.Hall(t.Context(), want.ID)
	if err != nil {
		t.Fatalf("%s: Hall(%s): %v", why, want.ID, err)
	}
	want.Seats = slices.Clone(want.Seats)
	slices.SortFunc(want.Seats, func(a, b tickets.Seat) int { return cmp.Or(cmp.Compare(a.Y, b.Y), cmp.Compare(a.X, b.X)) })
	if got.ID != want.ID || got.CinemaID != want.CinemaID || got.Name != want.Name || got.CleaningMinutes != want.CleaningMinutes {
		t.Fatalf("%s: Hall(%s) = id %q cinema %q name %q cleaning %d; want %q %q %q %d", why, want.ID,
			got.ID, got.CinemaID, got.Name, got.CleaningMinutes, want.ID, want.CinemaID, want.Name, want.CleaningMinutes)
	}
	if !slices.Equal(got.Seats, want.Seats) {
		var b strings.Builder
		for i := range max(len(got.Seats), len(want.Seats)) {
			var g, w tickets.Seat
			if i < len(got.Seats) {
				g = got.Seats[i]
			}
			if i < len(want.Seats) {
				w = want.Seats[i]
			}
			if g != w {
				fmt.Fprintf(&b, "\n\tseat %d: got  %s\n\t        want %s", i, seatString(g), seatString(w))
			}
		}
		t.Fatalf("%s: Hall(%s) seats differ (want every field, ordered by (Y, X)):%s", why, want.ID, b.String())
	}
}

func seatString(s tickets.Seat) string {
	if s == (tickets.Seat{}) {
		return "(none)"
	}
	return fmt.Sprintf("%+v", s)
}

func testHallRoundTrip(t *testing.T, s tickets.Store) {
	_, c, h, _ := Fixture(t, s)
	wantHall(t, s, h, "fixture hall")
	wantCinema(t, s, c, "fixture cinema")
	// Seat IDs are unique within a hall only: a second hall may reuse them.
	other := putHall(t, s, c.ID, "Saal 2", Layout())
	other.CleaningMinutes = 25
	if created, err := s.PutHall(t.Context(), other); err != nil || created {
		t.Fatalf("PutHall of an existing hall: created=%v err=%v, want false, nil", created, err)
	}
	wantHall(t, s, other, "second hall with the same seat IDs")
	wantHall(t, s, h, "first hall after the second was stored")
	if got, err := s.Hall(t.Context(), newID()); !errors.Is(err, tickets.ErrNotFound) {
		t.Fatalf("Hall(unknown) = %+v, %v; want ErrNotFound", got, err)
	}
}

func testPutHallRefused(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	_, c, h, _ := Fixture(t, s)

	orphan := tickets.Hall{ID: newID(), CinemaID: newID(), Name: "Nowhere", CleaningMinutes: 15, Seats: Layout()}
	if created, err := s.PutHall(ctx, orphan); !errors.Is(err, tickets.ErrNotFound) {
		t.Fatalf("PutHall in an unknown cinema: created=%v err=%v, want ErrNotFound", created, err)
	}
	if got, err := s.Hall(ctx, orphan.ID); !errors.Is(err, tickets.ErrNotFound) {
		t.Fatalf("hall refused for an unknown cinema was stored: %+v, %v", got, err)
	}

	other := putCinema(t, s, "Other")
	moved := h
	moved.CinemaID = other.ID
	if created, err := s.PutHall(ctx, moved); !errors.Is(err, tickets.ErrConflict) {
		t.Fatalf("PutHall moving a hall to another cinema: created=%v err=%v, want ErrConflict", created, err)
	}
	wantHall(t, s, h, "after a refused move")
	wantCinema(t, s, c, "cinema the hall could not leave")
	wantCinema(t, s, other, "cinema the hall could not join")
}

func testPutHallInUse(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	_, c, h, scr := Fixture(t, s) // a screening two hours from now

	changed := h
	changed.Seats = append(Layout()[1:], tickets.Seat{ID: "D1", Label: "D1", Row: "D", Number: 1, X: 0, Y: 3, Category: Premium})
	if _, err := s.PutHall(ctx, changed); !errors.Is(err, tickets.ErrHallInUse) {
		t.Fatalf("layout change with a screening to come: err = %v, want ErrHallInUse", err)
	}
	wantHall(t, s, h, "after a refused layout change")

	// Name and cleaning time alone may change; the same seats in another order are the same layout.
	renamed := h
	renamed.Name, renamed.CleaningMinutes, renamed.Seats = "Saal Eins", 20, reversed(h.Seats)
	if created, err := s.PutHall(ctx, renamed); err != nil || created {
		t.Fatalf("rename with a screening to come: created=%v err=%v, want false, nil", created, err)
	}
	renamed.Seats = h.Seats
	wantHall(t, s, renamed, "after a rename")

	// A screening that has started but not ended keeps its hall's layout too.
	_, _, running, _ := Fixture(t, s, StartsAt(time.Now().Add(-10*time.Minute).Truncate(time.Second)))
	changedRunning := running
	changedRunning.Seats = changed.Seats
	if _, err := s.PutHall(ctx, changedRunning); !errors.Is(err, tickets.ErrHallInUse) {
		t.Fatalf("layout change during a screening: err = %v, want ErrHallInUse", err)
	}
	wantHall(t, s, running, "after a refused layout change during a screening")

	// Ended screenings do not.
	_, _, ended, _ := Fixture(t, s, StartsAt(time.Now().Add(-3*time.Hour).Truncate(time.Second)))
	ended.Seats = changed.Seats
	if _, err := s.PutHall(ctx, ended); err != nil {
		t.Fatalf("layout change of a hall whose screenings have ended: %v", err)
	}
	wantHall(t, s, ended, "after a layout change behind an ended screening")

	// Nor cancelled ones.
	if err := s.CancelScreening(ctx, scr.ID); err != nil {
		t.Fatal(err)
	}
	changed.Name, changed.CleaningMinutes = renamed.Name, renamed.CleaningMinutes
	if _, err := s.PutHall(ctx, changed); err != nil {
		t.Fatalf("layout change once the only screening is cancelled: %v", err)
	}
	wantHall(t, s, changed, "after a layout change behind a cancelled screening")
	c.Halls = []tickets.HallSummary{summary(changed)}
	wantCinema(t, s, c, "summary after the layout change")
}
