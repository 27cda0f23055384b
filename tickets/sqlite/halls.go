package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"boxoffice/tickets"
)

// Hall returns a hall with its seats ordered by (Y, X), or tickets.ErrNotFound.
func (s *Store) Hall(ctx context.Context, id string) (tickets.Hall, error) {
	var h tickets.Hall
	err := s.read(ctx, func(t *tx) error {
		err := t.QueryRowContext(ctx, `SELECT id, cinema_id, name, cleaning_minutes FROM halls WHERE id = ?`,
			id).Scan(&h.ID, &h.CinemaID, &h.Name, &h.CleaningMinutes)
		if err != nil {
			return notFound(err)
		}
		h.Seats, err = seats(ctx, t, id)
		return err
	})
	if err != nil {
		return tickets.Hall{}, err
	}
	return h, nil
}

// seats reads a hall's layout ordered by (Y, X, ID); an empty layout is a non-nil slice.
func seats(ctx context.Context, t *tx, hallID string) ([]tickets.Seat, error) {
	rows, err := t.QueryContext(ctx, `
		SELECT id, label, row_label, number, x, y, category, accessible, coalesce(group_id, '')
		FROM seats WHERE hall_id = ? ORDER BY y, x, id`, hallID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []tickets.Seat{}
	for rows.Next() {
		var st tickets.Seat
		if err := rows.Scan(&st.ID, &st.Label, &st.Row, &st.Number, &st.X, &st.Y, &st.Category,
			&st.Accessible, &st.GroupID); err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

// PutHall creates a hall or replaces its name, cleaning time and layout, and reports whether
// it created it. CleaningMinutes is stored as given (tickets.Service turns 0 into the default,
// 15). It returns tickets.ErrNotFound when the cinema does not exist, tickets.ErrConflict when
// the hall exists in another cinema, and tickets.ErrHallInUse when the layout (any field of any
// seat, compared as a set by seat ID) would change while a scheduled screening whose EndsAt is
// after now uses the hall. Screenings keep the cleaning time they were created with.
func (s *Store) PutHall(ctx context.Context, h tickets.Hall) (created bool, err error) {
	err = s.write(ctx, func(t *tx) error {
		if missing, err := absent(ctx, t, `SELECT 1 FROM cinemas WHERE id = ?`, h.CinemaID); err != nil {
			return err
		} else if missing {
			return tickets.ErrNotFound
		}
		var cinemaID string
		err := t.QueryRowContext(ctx, `SELECT cinema_id FROM halls WHERE id = ?`, h.ID).Scan(&cinemaID)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			created = true
		case err != nil:
			return err
		case cinemaID != h.CinemaID:
			return tickets.ErrConflict
		}
		relayout := created
		if !created {
			old, err := seats(ctx, t, h.ID)
			if err != nil {
				return err
			}
			if relayout = !sameLayout(old, h.Seats); relayout {
				if err := notInUse(ctx, t, h.ID); err != nil {
					return err
				}
			}
		}
		if _, err := t.ExecContext(ctx, `
			INSERT INTO halls (id, cinema_id, name, cleaning_minutes) VALUES (?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name,
				cleaning_minutes = excluded.cleaning_minutes`,
			h.ID, h.CinemaID, h.Name, h.CleaningMinutes); err != nil {
			return err
		}
		if relayout {
			return replaceSeats(ctx, t, h)
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	return created, nil
}

// notInUse returns tickets.ErrHallInUse when a scheduled screening that has not ended uses the
// hall.
func notInUse(ctx context.Context, t *tx, hallID string) error {
	free, err := absent(ctx, t, `
		SELECT 1 FROM screenings WHERE hall_id = ? AND status = 'scheduled' AND ends_at > ? LIMIT 1`,
		hallID, t.ms())
	if err == nil && !free {
		err = tickets.ErrHallInUse
	}
	return err
}

func replaceSeats(ctx context.Context, t *tx, h tickets.Hall) error {
	if _, err := t.ExecContext(ctx, `DELETE FROM seats WHERE hall_id = ?`, h.ID); err != nil {
		return err
	}
	stmt, err := t.PrepareContext(ctx, `
		INSERT INTO seats (hall_id, id, label, row_label, number, x, y, category, accessible, group_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, nullif(?, ''))`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, st := range h.Seats {
		if _, err := stmt.ExecContext(ctx, h.ID, st.ID, st.Label, st.Row, st.Number, st.X, st.Y,
			st.Category, st.Accessible, st.GroupID); err != nil {
			return err
		}
	}
	return nil
}

// sameLayout reports whether a and b hold the same seats, in any order.
func sameLayout(a, b []tickets.Seat) bool {
	if len(a) != len(b) {
		return false
	}
	byID := make(map[string]tickets.Seat, len(a))
	for _, st := range a {
		byID[st.ID] = st
	}
	for _, st := range b {
		if old, ok := byID[st.ID]; !ok || old != st {
			return false
		}
		delete(byID, st.ID)
	}
	return len(byID) == 0
}
