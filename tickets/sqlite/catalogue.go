package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"boxoffice/tickets"
)

// Movies lists at most q.Limit movies ordered by (Title, ID), after (q.AfterTitle, q.AfterID)
// (byte order, like PostgreSQL's "C" collation). FieldErrors when q.Limit is not positive.
func (s *Store) Movies(ctx context.Context, q tickets.MovieQuery) ([]tickets.Movie, error) {
	if q.Limit <= 0 {
		return nil, tickets.FieldErrors{"limit": "must be positive"}
	}
	out := []tickets.Movie{}
	err := s.read(ctx, func(t *tx) error {
		rows, err := t.QueryContext(ctx, `
			SELECT id, title, synopsis, duration_minutes, rating, genres FROM movies
			WHERE (title, id) > (?, ?) ORDER BY title, id LIMIT ?`, q.AfterTitle, q.AfterID, q.Limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			m, err := scanMovie(rows)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Movie returns one movie, or tickets.ErrNotFound.
func (s *Store) Movie(ctx context.Context, id string) (tickets.Movie, error) {
	var m tickets.Movie
	err := s.read(ctx, func(t *tx) (err error) {
		m, err = scanMovie(t.QueryRowContext(ctx, `
			SELECT id, title, synopsis, duration_minutes, rating, genres FROM movies WHERE id = ?`, id))
		return notFound(err)
	})
	if err != nil {
		return tickets.Movie{}, err
	}
	return m, nil
}

// PutMovie creates or replaces a movie and reports whether it created it. Nil Genres are
// stored (and read back) as an empty list.
func (s *Store) PutMovie(ctx context.Context, m tickets.Movie) (created bool, err error) {
	err = s.write(ctx, func(t *tx) error {
		if created, err = absent(ctx, t, `SELECT 1 FROM movies WHERE id = ?`, m.ID); err != nil {
			return err
		}
		_, err := t.ExecContext(ctx, `
			INSERT INTO movies (id, title, synopsis, duration_minutes, rating, genres)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET title = excluded.title, synopsis = excluded.synopsis,
				duration_minutes = excluded.duration_minutes, rating = excluded.rating,
				genres = excluded.genres`,
			m.ID, m.Title, m.Synopsis, m.DurationMinutes, m.Rating, jsonList(m.Genres))
		return err
	})
	if err != nil {
		return false, err
	}
	return created, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanMovie(r scanner) (tickets.Movie, error) {
	var m tickets.Movie
	var genres string
	if err := r.Scan(&m.ID, &m.Title, &m.Synopsis, &m.DurationMinutes, &m.Rating, &genres); err != nil {
		return m, err
	}
	var err error
	m.Genres, err = parseList(genres)
	return m, err
}

// Cinemas lists every cinema ordered by (Name, ID), each with its halls ordered by (Name, ID)
// (an empty, non-nil list when it has none).
func (s *Store) Cinemas(ctx context.Context) ([]tickets.Cinema, error) {
	var out []tickets.Cinema
	err := s.read(ctx, func(t *tx) (err error) {
		out, err = cinemas(ctx, t, "")
		return err
	})
	return out, err
}

// Cinema returns one cinema with its halls, or tickets.ErrNotFound.
func (s *Store) Cinema(ctx context.Context, id string) (tickets.Cinema, error) {
	var cs []tickets.Cinema
	err := s.read(ctx, func(t *tx) (err error) {
		cs, err = cinemas(ctx, t, id)
		return err
	})
	if err != nil {
		return tickets.Cinema{}, err
	}
	if len(cs) == 0 {
		return tickets.Cinema{}, tickets.ErrNotFound
	}
	return cs[0], nil
}

// cinemas reads every cinema, or only the one with ID id when id is not empty.
func cinemas(ctx context.Context, t *tx, id string) ([]tickets.Cinema, error) {
	rows, err := t.QueryContext(ctx, `
		SELECT id, name, city, time_zone FROM cinemas WHERE ? = '' OR id = ? ORDER BY name, id`, id, id)
	if err != nil {
		return nil, err
	}
	out := []tickets.Cinema{}
	at := map[string]int{}
	for rows.Next() {
		c := tickets.Cinema{Halls: []tickets.HallSummary{}}
		if err := rows.Scan(&c.ID, &c.Name, &c.City, &c.TimeZone); err != nil {
			rows.Close()
			return nil, err
		}
		at[c.ID] = len(out)
		out = append(out, c)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	rows, err = t.QueryContext(ctx, `
		SELECT h.cinema_id, h.id, h.name, (SELECT count(*) FROM seats se WHERE se.hall_id = h.id)
		FROM halls h WHERE ? = '' OR h.cinema_id = ? ORDER BY h.name, h.id`, id, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var cinemaID string
		var h tickets.HallSummary
		if err := rows.Scan(&cinemaID, &h.ID, &h.Name, &h.SeatCount); err != nil {
			return nil, err
		}
		if i, ok := at[cinemaID]; ok {
			out[i].Halls = append(out[i].Halls, h)
		}
	}
	return out, rows.Err()
}

// PutCinema creates or replaces a cinema's fields (not its halls) and reports whether it
// created it.
func (s *Store) PutCinema(ctx context.Context, c tickets.Cinema) (created bool, err error) {
	err = s.write(ctx, func(t *tx) error {
		if created, err = absent(ctx, t, `SELECT 1 FROM cinemas WHERE id = ?`, c.ID); err != nil {
			return err
		}
		_, err := t.ExecContext(ctx, `
			INSERT INTO cinemas (id, name, city, time_zone) VALUES (?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, city = excluded.city,
				time_zone = excluded.time_zone`,
			c.ID, c.Name, c.City, c.TimeZone)
		return err
	})
	if err != nil {
		return false, err
	}
	return created, nil
}

// absent reports whether query (SELECT 1 ... WHERE key = ?) finds no row.
func absent(ctx context.Context, t *tx, query string, args ...any) (bool, error) {
	var one int
	err := t.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return true, nil
	}
	return false, err
}

// notFound turns sql.ErrNoRows into tickets.ErrNotFound (unwrapped: callers compare with ==).
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return tickets.ErrNotFound
	}
	return err
}
