package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"boxoffice/tickets"
)

const movieColumns = `id, title, synopsis, duration_minutes, rating, genres`

func scanMovie(row pgx.Row) (tickets.Movie, error) {
	var m tickets.Movie
	err := row.Scan(&m.ID, &m.Title, &m.Synopsis, &m.DurationMinutes, &m.Rating, &m.Genres)
	return m, err
}

// Movies lists movies ordered by (Title, ID) in byte order, after (q.AfterTitle, q.AfterID), at
// most q.Limit of them (no limit when q.Limit <= 0).
func (s *Store) Movies(ctx context.Context, q tickets.MovieQuery) ([]tickets.Movie, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+movieColumns+` FROM movies
		WHERE (title, id) > ($1, $2) ORDER BY title, id LIMIT $3`, q.AfterTitle, q.AfterID, limitArg(q.Limit))
	if err != nil {
		return nil, s.fail(err)
	}
	ms, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (tickets.Movie, error) { return scanMovie(r) })
	return ms, s.fail(err)
}

// Movie returns one movie, or tickets.ErrNotFound.
func (s *Store) Movie(ctx context.Context, id string) (tickets.Movie, error) {
	m, err := scanMovie(s.pool.QueryRow(ctx, `SELECT `+movieColumns+` FROM movies WHERE id = $1`, id))
	return m, s.fail(notFound(err))
}

// PutMovie creates or replaces a movie (every field) and reports whether it created it.
func (s *Store) PutMovie(ctx context.Context, m tickets.Movie) (created bool, err error) {
	genres := m.Genres
	if genres == nil {
		genres = []string{}
	}
	err = s.pool.QueryRow(ctx, `
		INSERT INTO movies (id, title, synopsis, duration_minutes, rating, genres)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (id) DO UPDATE SET title = excluded.title, synopsis = excluded.synopsis,
			duration_minutes = excluded.duration_minutes, rating = excluded.rating,
			genres = excluded.genres, updated_at = now()
		RETURNING xmax = 0`,
		m.ID, m.Title, m.Synopsis, m.DurationMinutes, m.Rating, genres).Scan(&created)
	return created, s.fail(err)
}

// Cinemas lists every cinema ordered by (Name, ID), each with its halls ordered by (Name, ID).
func (s *Store) Cinemas(ctx context.Context) ([]tickets.Cinema, error) {
	return s.cinemas(ctx, "")
}

// Cinema returns one cinema with its halls ordered by (Name, ID), or tickets.ErrNotFound.
func (s *Store) Cinema(ctx context.Context, id string) (tickets.Cinema, error) {
	cs, err := s.cinemas(ctx, id)
	switch {
	case err != nil:
		return tickets.Cinema{}, err
	case len(cs) == 0:
		return tickets.Cinema{}, tickets.ErrNotFound
	}
	return cs[0], nil
}

// cinemas reads the cinema id, or every cinema when id is empty, with their halls, in one round
// trip.
func (s *Store) cinemas(ctx context.Context, id string) ([]tickets.Cinema, error) {
	var cs []tickets.Cinema
	byID := map[string]int{}
	b := &pgx.Batch{}
	b.Queue(`SELECT id, name, city, time_zone FROM cinemas WHERE $1 = '' OR id = $1 ORDER BY name, id`, id).
		Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var c tickets.Cinema
				if err := rows.Scan(&c.ID, &c.Name, &c.City, &c.TimeZone); err != nil {
					return err
				}
				byID[c.ID] = len(cs)
				cs = append(cs, c)
			}
			return rows.Err()
		})
	b.Queue(`SELECT h.cinema_id, h.id, h.name, (SELECT count(*) FROM seats st WHERE st.hall_id = h.id)
		FROM halls h WHERE $1 = '' OR h.cinema_id = $1 ORDER BY h.name, h.id`, id).
		Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var cinemaID string
				var h tickets.HallSummary
				if err := rows.Scan(&cinemaID, &h.ID, &h.Name, &h.SeatCount); err != nil {
					return err
				}
				if i, ok := byID[cinemaID]; ok {
					cs[i].Halls = append(cs[i].Halls, h)
				}
			}
			return rows.Err()
		})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, s.fail(err)
	}
	return cs, nil
}

// PutCinema creates or replaces a cinema's name, city and time zone (not its halls) and reports
// whether it created it.
func (s *Store) PutCinema(ctx context.Context, c tickets.Cinema) (created bool, err error) {
	err = s.pool.QueryRow(ctx, `
		INSERT INTO cinemas (id, name, city, time_zone) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, city = excluded.city,
			time_zone = excluded.time_zone, updated_at = now()
		RETURNING xmax = 0`, c.ID, c.Name, c.City, c.TimeZone).Scan(&created)
	return created, s.fail(err)
}

// notFound turns "no row" into tickets.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return tickets.ErrNotFound
	}
	return err
}

// limitArg is a LIMIT argument: n, or NULL (no limit) when n <= 0.
func limitArg(n int) any {
	if n <= 0 {
		return nil
	}
	return n
}
