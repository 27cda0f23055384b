package sqlite

import (
	"errors"
	"slices"
	"testing"
	"time"

	"boxoffice/tickets"
)

func TestMoviesPutAndPage(t *testing.T) {
	s := openMem(t, newFakeClock())
	ctx := t.Context()
	for _, m := range []tickets.Movie{
		{ID: "b", Title: "Alien", DurationMinutes: 117},
		{ID: "a", Title: "Alien", DurationMinutes: 117, Genres: []string{"Horror"}},
		{ID: "c", Title: "Brazil", DurationMinutes: 132, Rating: "R"},
	} {
		if created, err := s.PutMovie(ctx, m); err != nil || !created {
			t.Fatalf("PutMovie %s = %v, %v; want created", m.ID, created, err)
		}
	}
	if created, err := s.PutMovie(ctx, tickets.Movie{ID: "c", Title: "Brazil", DurationMinutes: 142}); err != nil || created {
		t.Fatalf("PutMovie replacing = %v, %v; want not created", created, err)
	}
	var ids []string
	q := tickets.MovieQuery{Limit: 2}
	for {
		page, err := s.Movies(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, m := range page {
			ids = append(ids, m.ID)
		}
		last := page[len(page)-1]
		q.AfterTitle, q.AfterID = last.Title, last.ID
	}
	if !slices.Equal(ids, []string{"a", "b", "c"}) {
		t.Fatalf("pages = %v, want a b c", ids)
	}
	m, err := s.Movie(ctx, "c")
	if err != nil || m.DurationMinutes != 142 || m.Genres == nil || len(m.Genres) != 0 {
		t.Fatalf("Movie(c) = %+v, %v; want the replacement with empty genres", m, err)
	}
	if m, _ := s.Movie(ctx, "a"); !slices.Equal(m.Genres, []string{"Horror"}) {
		t.Fatalf("Movie(a).Genres = %v", m.Genres)
	}
	if _, err := s.Movie(ctx, "zz"); err != tickets.ErrNotFound {
		t.Fatalf("Movie(zz): err = %v, want ErrNotFound itself", err)
	}
}

func TestCinemasAndHalls(t *testing.T) {
	clock := newFakeClock()
	s := openMem(t, clock)
	w := seed(t, s, clock)
	ctx := t.Context()
	if _, err := s.PutCinema(ctx, tickets.Cinema{ID: "astor", Name: "Astor", City: "Berlin", TimeZone: "Europe/Berlin"}); err != nil {
		t.Fatal(err)
	}
	small := tickets.Hall{ID: "saal-0", CinemaID: "kino", Name: "Saal 0", Seats: w.hall.Seats[:1]}
	if created, err := s.PutHall(ctx, small); err != nil || !created {
		t.Fatalf("PutHall = %v, %v", created, err)
	}
	cs, err := s.Cinemas(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].ID != "astor" || len(cs[0].Halls) != 0 || cs[1].ID != "kino" ||
		!slices.Equal(cs[1].Halls, []tickets.HallSummary{{ID: "saal-0", Name: "Saal 0", SeatCount: 1},
			{ID: "saal-1", Name: "Saal 1", SeatCount: 8}}) {
		t.Fatalf("Cinemas = %+v", cs)
	}
	if c, err := s.Cinema(ctx, "kino"); err != nil || len(c.Halls) != 2 || c.TimeZone != "Europe/Berlin" {
		t.Fatalf("Cinema(kino) = %+v, %v", c, err)
	}
	if _, err := s.Cinema(ctx, "nope"); err != tickets.ErrNotFound {
		t.Fatalf("Cinema(nope): %v", err)
	}
	sent := w.hall
	sent.Seats = slices.Clone(w.hall.Seats)
	slices.Reverse(sent.Seats)
	if _, err := s.PutHall(ctx, sent); err != nil {
		t.Fatalf("PutHall with the same seats in another order: %v", err)
	}
	h, err := s.Hall(ctx, "saal-1")
	if err != nil || h.CleaningMinutes != 15 || !slices.Equal(h.Seats, w.hall.Seats) {
		t.Fatalf("Hall = %+v, %v; want the seats ordered by (y, x)", h, err)
	}
}

func TestPutHallRefusals(t *testing.T) {
	clock := newFakeClock()
	s := openMem(t, clock)
	w := seed(t, s, clock)
	ctx := t.Context()
	h := w.hall
	h.CinemaID = "nope"
	if _, err := s.PutHall(ctx, h); err != tickets.ErrNotFound {
		t.Fatalf("unknown cinema: %v", err)
	}
	if _, err := s.PutCinema(ctx, tickets.Cinema{ID: "astor", Name: "Astor", City: "Berlin", TimeZone: "Europe/Berlin"}); err != nil {
		t.Fatal(err)
	}
	h.CinemaID = "astor"
	if _, err := s.PutHall(ctx, h); !errors.Is(err, tickets.ErrConflict) {
		t.Fatalf("moving a hall to another cinema: %v", err)
	}

	renamed := w.hall
	renamed.Name, renamed.CleaningMinutes = "Großer Saal", 30
	if created, err := s.PutHall(ctx, renamed); err != nil || created {
		t.Fatalf("renaming a hall in use = %v, %v; want allowed", created, err)
	}
	relaid := renamed
	relaid.Seats = slices.Clone(w.hall.Seats)
	relaid.Seats[0].Label = "A-1"
	if _, err := s.PutHall(ctx, relaid); !errors.Is(err, tickets.ErrHallInUse) {
		t.Fatalf("changing the layout under a screening to come: %v", err)
	}
	if err := s.CancelScreening(ctx, w.scr.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutHall(ctx, relaid); err != nil {
		t.Fatalf("changing the layout when the only screening is cancelled: %v", err)
	}

	start := clock.Now().Add(time.Hour)
	next := tickets.Screening{ID: "scr-2", MovieID: w.movie.ID, HallID: w.hall.ID, StartsAt: start, EndsAt: start.Add(time.Hour)}
	if err := s.CreateScreening(ctx, next); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutHall(ctx, renamed); !errors.Is(err, tickets.ErrHallInUse) {
		t.Fatalf("changing the layout during a screening: %v", err)
	}
	clock.Advance(2 * time.Hour) // the screening has ended (cleaning does not count)
	if _, err := s.PutHall(ctx, renamed); err != nil {
		t.Fatalf("changing the layout after the last screening ended: %v", err)
	}
	if got, _ := s.Hall(ctx, w.hall.ID); got.Name != "Großer Saal" || got.CleaningMinutes != 30 || got.Seats[0].Label != "A1" {
		t.Fatalf("Hall after the changes = %+v", got)
	}
}
