package sqlite

import (
	"errors"
	"slices"
	"testing"
	"time"

	"boxoffice/tickets"
)

func TestCreateScreeningRefusals(t *testing.T) {
	clock := newFakeClock()
	s := openMem(t, clock)
	w := seed(t, s, clock)
	ctx := t.Context()
	busyUntil := w.scr.EndsAt.Add(15 * time.Minute)
	at := func(id string, start time.Time) tickets.Screening {
		return tickets.Screening{ID: id, MovieID: w.movie.ID, HallID: w.hall.ID, StartsAt: start, EndsAt: start.Add(time.Hour)}
	}
	for name, c := range map[string]struct {
		scr  tickets.Screening
		want error
	}{
		"duplicate ID":          {at(w.scr.ID, busyUntil.Add(time.Hour)), tickets.ErrConflict},
		"unknown movie":         {tickets.Screening{ID: "x1", MovieID: "nope", HallID: w.hall.ID, StartsAt: busyUntil, EndsAt: busyUntil.Add(time.Hour)}, tickets.ErrNotFound},
		"unknown hall":          {tickets.Screening{ID: "x2", MovieID: w.movie.ID, HallID: "nope", StartsAt: busyUntil, EndsAt: busyUntil.Add(time.Hour)}, tickets.ErrNotFound},
		"during cleaning":       {at("x3", busyUntil.Add(-time.Millisecond)), tickets.ErrHallBusy},
		"ending as it starts":   {at("x4", w.scr.StartsAt.Add(-time.Hour+time.Millisecond)), tickets.ErrHallBusy},
		"inside":                {at("x5", w.scr.StartsAt.Add(10*time.Minute)), tickets.ErrHallBusy},
		"ends before it starts": {tickets.Screening{ID: "x6", MovieID: w.movie.ID, HallID: w.hall.ID, StartsAt: busyUntil, EndsAt: busyUntil}, tickets.ErrInvalidInput},
	} {
		if err := s.CreateScreening(ctx, c.scr); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", name, err, c.want)
		}
	}
	// Touching spans do not overlap; its own cleaning time counts for the one before.
	if err := s.CreateScreening(ctx, at("after", busyUntil)); err != nil {
		t.Fatalf("starting when cleaning ends: %v", err)
	}
	if err := s.CreateScreening(ctx, at("before", w.scr.StartsAt.Add(-time.Hour-15*time.Minute))); err != nil {
		t.Fatalf("ending with cleaning as the next starts: %v", err)
	}
	if err := s.CreateScreening(ctx, at("before2", w.scr.StartsAt.Add(-time.Hour-14*time.Minute))); !errors.Is(err, tickets.ErrHallBusy) {
		t.Fatalf("cleaning overlapping the next start: %v", err)
	}
	// A cancelled screening frees its slot.
	if err := s.CancelScreening(ctx, w.scr.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateScreening(ctx, at("x5", w.scr.StartsAt.Add(10*time.Minute))); err != nil {
		t.Fatalf("in the slot of a cancelled screening: %v", err)
	}
}

func TestScreeningsQuery(t *testing.T) {
	clock := newFakeClock()
	s := openMem(t, clock)
	w := seed(t, s, clock)
	ctx := t.Context()
	base := w.scr.StartsAt
	for i, id := range []string{"scr-3", "scr-2"} { // same start, different halls: ordered by ID
		hall := w.hall
		hall.ID, hall.Seats = "saal-"+id, hall.Seats[:2+i]
		if _, err := s.PutHall(ctx, hall); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateScreening(ctx, tickets.Screening{ID: id, MovieID: w.movie.ID, HallID: hall.ID,
			StartsAt: base.Add(time.Hour), EndsAt: base.Add(2 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	mustHold(t, s, holdTx("h1", w.scr.ID, "u1", 10*time.Minute, "A1", "A2"))
	if err := s.SetBlocked(ctx, w.scr.ID, []string{"A4"}, true); err != nil {
		t.Fatal(err)
	}
	var got []tickets.Screening
	q := tickets.ScreeningQuery{CinemaID: "kino", From: base, To: base.Add(24 * time.Hour), Limit: 2}
	for {
		page, err := s.Screenings(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		got = append(got, page...)
		q.AfterStart, q.AfterID = page[len(page)-1].StartsAt, page[len(page)-1].ID
	}
	var ids []string
	for _, sc := range got {
		ids = append(ids, sc.ID)
	}
	if !slices.Equal(ids, []string{"scr-1", "scr-2", "scr-3"}) {
		t.Fatalf("pages = %v", ids)
	}
	first := got[0]
	if first.SeatsAvailable != 5 || first.CinemaID != "kino" || first.Status != tickets.ScreeningScheduled ||
		!first.StartsAt.Equal(base) || first.StartsAt.Location() != time.UTC || !slices.Equal(first.Prices, w.scr.Prices) {
		t.Fatalf("first = %+v; want 8 seats - 2 held - 1 blocked, prices as created", first)
	}
	clock.Advance(10 * time.Minute) // the hold expires
	if sc, err := s.Screening(ctx, w.scr.ID); err != nil || sc.SeatsAvailable != 7 {
		t.Fatalf("after the hold expired: %+v, %v; want 7 available", sc, err)
	}
	for name, q := range map[string]tickets.ScreeningQuery{
		"other movie":  {MovieID: "nope", From: base, To: base.Add(time.Hour), Limit: 10},
		"other cinema": {CinemaID: "nope", From: base, To: base.Add(time.Hour), Limit: 10},
		"to excluded":  {From: base.Add(-time.Hour), To: base, Limit: 10},
	} {
		if page, err := s.Screenings(ctx, q); err != nil || len(page) != 0 {
			t.Errorf("%s: %+v, %v; want none", name, page, err)
		}
	}
	if _, err := s.Screening(ctx, "nope"); err != tickets.ErrNotFound {
		t.Fatalf("Screening(nope): %v", err)
	}
}
