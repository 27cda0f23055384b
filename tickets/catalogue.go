package tickets

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Movies returns a page of movies ordered by title, and the cursor of the next page ("" at the
// end). It returns FieldErrors for a bad cursor or limit.
func (s *Service) Movies(ctx context.Context, cursor string, limit int) ([]Movie, string, error) {
	k, err := decodeCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	if limit, err = pageLimit(limit); err != nil {
		return nil, "", err
	}
	ms, err := s.store.Movies(ctx, MovieQuery{AfterTitle: k.Title, AfterID: k.ID, Limit: limit + 1})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(ms) > limit {
		ms = ms[:limit]
		next = encodeCursor(cursorKey{Title: ms[limit-1].Title, ID: ms[limit-1].ID})
	}
	return ms, next, nil
}

// Movie returns one movie or ErrNotFound.
func (s *Service) Movie(ctx context.Context, id string) (Movie, error) { return s.store.Movie(ctx, id) }

// Cinemas returns every cinema with its halls.
func (s *Service) Cinemas(ctx context.Context) ([]Cinema, error) { return s.store.Cinemas(ctx) }

// Cinema returns one cinema with its halls, or ErrNotFound.
func (s *Service) Cinema(ctx context.Context, id string) (Cinema, error) {
	return s.store.Cinema(ctx, id)
}

// Hall returns one hall with its layout, or ErrNotFound.
func (s *Service) Hall(ctx context.Context, id string) (Hall, error) { return s.store.Hall(ctx, id) }

// ScreeningFilter selects screenings. Zero From means now; zero To means From + 7 days; the
// span may not exceed 62 days.
type ScreeningFilter struct {
	MovieID, CinemaID string
	From, To          time.Time
	Cursor            string
	Limit             int
}

// Screenings returns a page of screenings ordered by start time, and the next page's cursor.
// It returns FieldErrors for a bad span, cursor or limit.
func (s *Service) Screenings(ctx context.Context, f ScreeningFilter) ([]Screening, string, error) {
	if f.From.IsZero() {
		f.From = s.cfg.Now()
	}
	if f.To.IsZero() {
		f.To = f.From.Add(7 * 24 * time.Hour)
	}
	if !f.To.After(f.From) || f.To.Sub(f.From) > 62*24*time.Hour {
		return nil, "", FieldErrors{"to": "must be after from, at most 62 days later"}
	}
	k, err := decodeCursor(f.Cursor)
	if err != nil {
		return nil, "", err
	}
	limit, err := pageLimit(f.Limit)
	if err != nil {
		return nil, "", err
	}
	ss, err := s.store.Screenings(ctx, ScreeningQuery{MovieID: f.MovieID, CinemaID: f.CinemaID,
		From: f.From, To: f.To, AfterStart: k.Start, AfterID: k.ID, Limit: limit + 1})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(ss) > limit {
		ss = ss[:limit]
		next = encodeCursor(cursorKey{Start: ss[limit-1].StartsAt, ID: ss[limit-1].ID})
	}
	return ss, next, nil
}

// Screening returns one screening or ErrNotFound.
func (s *Service) Screening(ctx context.Context, id string) (Screening, error) {
	return s.store.Screening(ctx, id)
}

// PutMovie creates or replaces a movie and reports whether it created it. FieldErrors for
// invalid fields.
func (s *Service) PutMovie(ctx context.Context, m Movie) (bool, error) {
	fe := FieldErrors{}
	if !slugPattern.MatchString(m.ID) {
		fe["id"] = "must be 1-64 lowercase letters, digits or '-'"
	}
	if m.Title == "" || len(m.Title) > 200 {
		fe["title"] = "must be 1-200 bytes"
	}
	if len(m.Synopsis) > 4000 {
		fe["synopsis"] = "must be at most 4000 bytes"
	}
	if m.DurationMinutes < 1 || m.DurationMinutes > 600 {
		fe["duration_minutes"] = "must be 1-600"
	}
	if len(m.Rating) > 16 {
		fe["rating"] = "must be at most 16 bytes"
	}
	if len(m.Genres) > 10 {
		fe["genres"] = "at most 10"
	}
	for _, g := range m.Genres {
		if g == "" || len(g) > 40 {
			fe["genres"] = "each must be 1-40 bytes"
		}
	}
	if len(fe) > 0 {
		return false, fe
	}
	if m.Genres == nil {
		m.Genres = []string{}
	}
	return s.store.PutMovie(ctx, m)
}

// PutCinema creates or replaces a cinema (not its halls) and reports whether it created it.
// FieldErrors for invalid fields, including a time zone that is not an IANA zone.
func (s *Service) PutCinema(ctx context.Context, c Cinema) (bool, error) {
	fe := FieldErrors{}
	if !slugPattern.MatchString(c.ID) {
		fe["id"] = "must be 1-64 lowercase letters, digits or '-'"
	}
	if c.Name == "" || len(c.Name) > 100 {
		fe["name"] = "must be 1-100 bytes"
	}
	if c.City == "" || len(c.City) > 100 {
		fe["city"] = "must be 1-100 bytes"
	}
	if _, err := time.LoadLocation(c.TimeZone); err != nil || c.TimeZone == "" || c.TimeZone == "Local" {
		fe["time_zone"] = "must be an IANA time zone such as Europe/Berlin"
	}
	if len(fe) > 0 {
		return false, fe
	}
	return s.store.PutCinema(ctx, c)
}

// PutHall creates a hall or replaces its name, cleaning time and layout, and reports whether
// it created it. FieldErrors for an invalid layout; ErrNotFound for an unknown cinema;
// ErrConflict when the hall belongs to another cinema; ErrHallInUse when the layout would
// change under scheduled screenings. CleaningMinutes 0 means the default, 15.
func (s *Service) PutHall(ctx context.Context, h Hall) (bool, error) {
	if h.CleaningMinutes == 0 {
		h.CleaningMinutes = 15
	}
	if fe := validHall(h); fe != nil {
		return false, fe
	}
	return s.store.PutHall(ctx, h)
}

var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

// CreateScreening schedules a movie in a hall and returns it with its new ID. EndsAt zero
// means StartsAt plus the movie's duration. It returns FieldErrors (a start not in the future,
// a price missing for a seat category of the hall, mixed currencies), ErrNotFound for an
// unknown movie or hall, and ErrHallBusy when it overlaps another screening in the hall
// (cleaning time included), which the database decides.
func (s *Service) CreateScreening(ctx context.Context, sc Screening) (Screening, error) {
	fe := FieldErrors{}
	m, err := s.store.Movie(ctx, sc.MovieID)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			fe["movie_id"] = "no such movie"
		} else {
			return Screening{}, err
		}
	}
	h, err := s.store.Hall(ctx, sc.HallID)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			fe["hall_id"] = "no such hall"
		} else {
			return Screening{}, err
		}
	}
	if len(fe) > 0 {
		return Screening{}, fe
	}
	if sc.EndsAt.IsZero() {
		sc.EndsAt = sc.StartsAt.Add(time.Duration(m.DurationMinutes) * time.Minute)
	}
	switch {
	case !sc.StartsAt.After(s.cfg.Now()):
		fe["starts_at"] = "must be in the future"
	case sc.StartsAt.After(s.cfg.Now().AddDate(2, 0, 0)):
		fe["starts_at"] = "must be within two years"
	case !sc.EndsAt.After(sc.StartsAt) || sc.EndsAt.Sub(sc.StartsAt) > 12*time.Hour:
		fe["ends_at"] = "must be after starts_at, at most 12 hours later"
	}
	priced := map[string]bool{}
	for i, p := range sc.Prices {
		switch {
		case p.Amount < 0 || p.Amount > 1_000_000_00:
			fe[fmt.Sprintf("prices[%d].amount", i)] = "must be 0-100000000 minor units"
		case !currencyPattern.MatchString(p.Currency) || p.Currency != sc.Prices[0].Currency:
			fe[fmt.Sprintf("prices[%d].currency", i)] = "must be one ISO 4217 code for every price"
		case !slugPattern.MatchString(p.Category):
			fe[fmt.Sprintf("prices[%d].category", i)] = "must be 1-64 lowercase letters, digits or '-'"
		case priced[p.Category]:
			fe[fmt.Sprintf("prices[%d].category", i)] = "duplicate category"
		}
		priced[p.Category] = true
	}
	for _, seat := range h.Seats {
		if !priced[seat.Category] {
			fe["prices"] = "needs a price for seat category " + seat.Category
			break
		}
	}
	if len(fe) > 0 {
		return Screening{}, fe
	}
	sc.ID, sc.CinemaID, sc.Status = newID("scr_"), h.CinemaID, ScreeningScheduled
	sc.StartsAt, sc.EndsAt = sc.StartsAt.UTC(), sc.EndsAt.UTC()
	if err := s.store.CreateScreening(ctx, sc); err != nil {
		return Screening{}, err
	}
	return s.store.Screening(ctx, sc.ID)
}

// CancelScreening cancels a screening, ends its holds (HoldCancelled) and cancels and refunds
// every confirmed order for it. ErrNotFound when missing; cancelling twice is not an error.
func (s *Service) CancelScreening(ctx context.Context, id string) error {
	scheduled := false
	if s.cfg.Audit != nil { // was it this call that cancelled it? (see recordScreeningCancelled)
		sc, err := s.store.Screening(ctx, id)
		if err != nil {
			return err
		}
		scheduled = sc.Status == ScreeningScheduled
	}
	if err := s.store.CancelScreening(ctx, id); err != nil {
		return err
	}
	refunds, err := s.store.Refunds(ctx, id)
	if err != nil {
		return nil // the cancellation stands; the janitor sends its refunds
	}
	if scheduled {
		s.recordScreeningCancelled(ctx, refunds)
	}
	// Best effort: the janitor sends the refunds that are still pending later.
	_ = s.sendScreeningRefunds(ctx, refunds)
	return nil
}

// SetBlocked blocks or unblocks seats of a screening (all or nothing). FieldErrors for seats
// not in the hall; *UnavailableError when a seat to block is held or sold; ErrNotFound.
func (s *Service) SetBlocked(ctx context.Context, screeningID string, seatIDs []string, blocked bool) error {
	sc, err := s.store.Screening(ctx, screeningID)
	if err != nil {
		return err
	}
	h, err := s.store.Hall(ctx, sc.HallID)
	if err != nil {
		return err
	}
	l := newLayout(h)
	if len(seatIDs) == 0 || len(seatIDs) > MaxSeatsPerHall {
		return FieldErrors{"seat_ids": "must list 1-2000 seats"}
	}
	for _, id := range seatIDs {
		if _, ok := l.byID[id]; !ok {
			return FieldErrors{"seat_ids": "no seat " + id + " in this hall"}
		}
	}
	return s.store.SetBlocked(ctx, screeningID, dedupSorted(seatIDs), blocked)
}
