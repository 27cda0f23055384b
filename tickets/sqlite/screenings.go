package sqlite

import (
	"context"
	"database/sql"
	"time"

	"boxoffice/tickets"
)

// screeningSelect reads screenings with their cinema and SeatsAvailable as of :now: the hall's
// seats without a claim that takes them (sold, blocked, or held until after :now).
const screeningSelect = `
	SELECT s.id, s.movie_id, h.cinema_id, s.hall_id, s.starts_at, s.ends_at, s.status,
		(SELECT count(*) FROM seats se WHERE se.hall_id = s.hall_id AND NOT EXISTS (
			SELECT 1 FROM seat_claims c WHERE c.screening_id = s.id AND c.seat_id = se.id AND ` + taken + `))
	FROM screenings s JOIN halls h ON h.id = s.hall_id`

// Screenings lists scheduled and cancelled screenings that start in [q.From, q.To), ordered by
// (StartsAt, ID), after (q.AfterStart, q.AfterID) when q.AfterID is not empty, at most q.Limit,
// with SeatsAvailable as of now. Empty MovieID or CinemaID match any. FieldErrors when q.Limit
// is not positive.
func (s *Store) Screenings(ctx context.Context, q tickets.ScreeningQuery) ([]tickets.Screening, error) {
	if q.Limit <= 0 {
		return nil, tickets.FieldErrors{"limit": "must be positive"}
	}
	var out []tickets.Screening
	err := s.read(ctx, func(t *tx) (err error) {
		out, err = screenings(ctx, t, screeningSelect+`
			WHERE s.starts_at >= :from AND s.starts_at < :to
				AND (:movie = '' OR s.movie_id = :movie) AND (:cinema = '' OR h.cinema_id = :cinema)
				AND (:after_id = '' OR (s.starts_at, s.id) > (:after_start, :after_id))
			ORDER BY s.starts_at, s.id LIMIT :limit`,
			sql.Named("now", t.ms()), sql.Named("from", q.From.UnixMilli()), sql.Named("to", q.To.UnixMilli()),
			sql.Named("movie", q.MovieID), sql.Named("cinema", q.CinemaID),
			sql.Named("after_id", q.AfterID), sql.Named("after_start", q.AfterStart.UnixMilli()),
			sql.Named("limit", q.Limit))
		return err
	})
	return out, err
}

// Screening returns one screening with SeatsAvailable as of now, or tickets.ErrNotFound.
func (s *Store) Screening(ctx context.Context, id string) (tickets.Screening, error) {
	var ss []tickets.Screening
	err := s.read(ctx, func(t *tx) (err error) {
		ss, err = screenings(ctx, t, screeningSelect+` WHERE s.id = :id`,
			sql.Named("now", t.ms()), sql.Named("id", id))
		return err
	})
	if err != nil {
		return tickets.Screening{}, err
	}
	if len(ss) == 0 {
		return tickets.Screening{}, tickets.ErrNotFound
	}
	return ss[0], nil
}

// screenings runs a screeningSelect query and adds each screening's prices, ordered by
// category.
func screenings(ctx context.Context, t *tx, query string, args ...any) ([]tickets.Screening, error) {
	rows, err := t.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	out := []tickets.Screening{}
	at := map[string]int{}
	var ids []string
	for rows.Next() {
		var sc tickets.Screening
		var start, end int64
		if err := rows.Scan(&sc.ID, &sc.MovieID, &sc.CinemaID, &sc.HallID, &start, &end, &sc.Status,
			&sc.SeatsAvailable); err != nil {
			rows.Close()
			return nil, err
		}
		sc.StartsAt, sc.EndsAt, sc.Prices = fromMillis(start), fromMillis(end), []tickets.Price{}
		at[sc.ID] = len(out)
		ids = append(ids, sc.ID)
		out = append(out, sc)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return out, nil
	}
	rows, err = t.QueryContext(ctx, `
		SELECT screening_id, category, amount, currency FROM screening_prices
		WHERE screening_id IN (SELECT value FROM json_each(?)) ORDER BY screening_id, category`,
		jsonList(ids))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var p tickets.Price
		if err := rows.Scan(&id, &p.Category, &p.Amount, &p.Currency); err != nil {
			return nil, err
		}
		out[at[id]].Prices = append(out[at[id]].Prices, p)
	}
	return out, rows.Err()
}

// CreateScreening stores a new scheduled screening (sc.Status and sc.CinemaID are ignored: the
// hall decides the cinema). It returns tickets.ErrConflict when the ID is taken,
// tickets.ErrNotFound when the movie or hall does not exist, FieldErrors when EndsAt is not
// after StartsAt, and tickets.ErrHallBusy when [StartsAt, EndsAt + the hall's cleaning time)
// overlaps the same span of another scheduled screening in the hall.
//
// SQLite has no exclusion constraint: the overlap is checked here, and that is safe only
// because the check and the insert run in one BEGIN IMMEDIATE transaction, which holds
// SQLite's single write lock, so no other screening can be written in between.
func (s *Store) CreateScreening(ctx context.Context, sc tickets.Screening) error {
	return s.write(ctx, func(t *tx) error {
		if free, err := absent(ctx, t, `SELECT 1 FROM screenings WHERE id = ?`, sc.ID); err != nil {
			return err
		} else if !free {
			return tickets.ErrConflict
		}
		if missing, err := absent(ctx, t, `SELECT 1 FROM movies WHERE id = ?`, sc.MovieID); err != nil {
			return err
		} else if missing {
			return tickets.ErrNotFound
		}
		var cleaning int
		err := t.QueryRowContext(ctx, `SELECT cleaning_minutes FROM halls WHERE id = ?`, sc.HallID).Scan(&cleaning)
		if err != nil {
			return notFound(err)
		}
		start, end := sc.StartsAt.UnixMilli(), sc.EndsAt.UnixMilli()
		if end <= start {
			return tickets.FieldErrors{"ends_at": "must be after starts_at"}
		}
		busy := sc.EndsAt.Add(time.Duration(cleaning) * time.Minute).UnixMilli()
		if free, err := absent(ctx, t, `
			SELECT 1 FROM screenings WHERE hall_id = ? AND status = 'scheduled'
				AND starts_at < ? AND busy_until > ? LIMIT 1`, sc.HallID, busy, start); err != nil {
			return err
		} else if !free {
			return tickets.ErrHallBusy
		}
		if _, err := t.ExecContext(ctx, `
			INSERT INTO screenings (id, movie_id, hall_id, starts_at, ends_at, busy_until, status, created_at)
			VALUES (?, ?, ?, ?, ?, ?, 'scheduled', ?)`,
			sc.ID, sc.MovieID, sc.HallID, start, end, busy, t.ms()); err != nil {
			return err
		}
		for _, p := range sc.Prices {
			if _, err := t.ExecContext(ctx, `
				INSERT INTO screening_prices (screening_id, category, amount, currency) VALUES (?, ?, ?, ?)`,
				sc.ID, p.Category, p.Amount, p.Currency); err != nil {
				return err
			}
		}
		return nil
	})
}

// CancelScreening marks a screening cancelled, every active hold on it (one whose deadline
// has not passed) tickets.HoldCancelled, and every confirmed order for it
// tickets.OrderCancelled with its tickets void and a refund (tickets.RefundScreening,
// tickets.RefundPending), freeing all their seats, in one transaction. Pending orders stay
// pending: their payment settles them (a success is refunded, the screening being cancelled).
// Holds and orders take the same write lock, so a concurrent hold or payment either commits
// first (and is cancelled here) or sees the cancellation. Cancelling twice is not an error;
// tickets.ErrNotFound when missing.
func (s *Store) CancelScreening(ctx context.Context, id string) error {
	return s.write(ctx, func(t *tx) error {
		if missing, err := absent(ctx, t, `SELECT 1 FROM screenings WHERE id = ?`, id); err != nil {
			return err
		} else if missing {
			return tickets.ErrNotFound
		}
		if _, err := t.ExecContext(ctx,
			`UPDATE screenings SET status = 'cancelled' WHERE id = ? AND status = 'scheduled'`, id); err != nil {
			return err
		}
		if _, err := t.endHolds(ctx, tickets.HoldCancelled, `screening_id = ?`, id); err != nil {
			return err
		}
		orders, err := t.idList(ctx,
			`SELECT id FROM orders WHERE screening_id = ? AND status = 'confirmed' ORDER BY id`, id)
		if err != nil {
			return err
		}
		return t.cancelOrders(ctx, orders, tickets.RefundScreening)
	})
}
