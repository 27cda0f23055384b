package postgres

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"boxoffice/tickets"
)

// Hall returns a hall with its seats ordered by (Y, X), or tickets.ErrNotFound.
func (s *Store) Hall(ctx context.Context, id string) (tickets.Hall, error) {
	var h tickets.Hall
	b := &pgx.Batch{}
	b.Queue(`SELECT id, cinema_id, name, cleaning_minutes FROM halls WHERE id = $1`, id).
		QueryRow(func(row pgx.Row) error {
			return notFound(row.Scan(&h.ID, &h.CinemaID, &h.Name, &h.CleaningMinutes))
		})
	b.Queue(`SELECT `+seatColumns+` FROM seats WHERE hall_id = $1 ORDER BY y, x, id`, id).
		Query(func(rows pgx.Rows) (err error) {
			h.Seats, err = pgx.CollectRows(rows, scanSeat)
			return err
		})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return tickets.Hall{}, s.fail(err)
	}
	return h, nil
}

const seatColumns = `id, label, row_label, number, x, y, category, accessible, coalesce(group_id, '')`

func scanSeat(row pgx.CollectableRow) (tickets.Seat, error) {
	var st tickets.Seat
	err := row.Scan(&st.ID, &st.Label, &st.Row, &st.Number, &st.X, &st.Y, &st.Category, &st.Accessible, &st.GroupID)
	return st, err
}

// PutHall creates a hall or replaces its name, cleaning time and layout (seats), and reports
// whether it created it. It returns tickets.ErrNotFound when the cinema does not exist,
// tickets.ErrConflict when the hall exists in another cinema, and tickets.ErrHallInUse when the
// layout would change (the set of seats with every field, in any order) while a scheduled
// screening that has not ended (ends_at > now) uses the hall. A new cleaning time applies to
// screenings created afterwards. The layout check and the change hold the hall's row lock, which
// a concurrent CreateScreening in the hall waits for.
func (s *Store) PutHall(ctx context.Context, h tickets.Hall) (created bool, err error) {
	err = s.retry(ctx, func() error {
		created, err = s.putHall(ctx, h)
		return err
	})
	return created, err
}

func (s *Store) putHall(ctx context.Context, h tickets.Hall) (bool, error) {
	c, err := s.acquire(ctx)
	if err != nil {
		return false, err
	}
	defer c.release()

	var cinemaFound, hallFound, inUse bool
	var oldCinema string
	var old []tickets.Seat
	b := newBatch()
	b.Queue(`SELECT true FROM cinemas WHERE id = $1 FOR KEY SHARE`, h.CinemaID).
		QueryRow(func(row pgx.Row) error { return noRowOK(row.Scan(&cinemaFound)) })
	b.Queue(`SELECT cinema_id FROM halls WHERE id = $1 FOR UPDATE`, h.ID).
		QueryRow(func(row pgx.Row) error {
			err := row.Scan(&oldCinema)
			hallFound = err == nil
			return noRowOK(err)
		})
	b.Queue(`SELECT `+seatColumns+` FROM seats WHERE hall_id = $1`, h.ID).
		Query(func(rows pgx.Rows) (err error) {
			old, err = pgx.CollectRows(rows, scanSeat)
			return err
		})
	b.Queue(`SELECT EXISTS (SELECT 1 FROM screenings
		WHERE hall_id = $1 AND status = 'scheduled' AND ends_at > now())`, h.ID).
		QueryRow(func(row pgx.Row) error { return row.Scan(&inUse) })
	if err := c.send(ctx, b); err != nil {
		return false, err
	}
	switch {
	case !cinemaFound:
		return false, tickets.ErrNotFound
	case hallFound && oldCinema != h.CinemaID:
		return false, tickets.ErrConflict
	}
	changed := !hallFound || !sameLayout(old, h.Seats)
	if hallFound && changed && inUse {
		return false, tickets.ErrHallInUse
	}

	// A hall created meanwhile by another PutHall in another cinema is not taken over: the
	// upsert then returns no row and the seats are left alone.
	var created, ok bool
	b = &pgx.Batch{}
	b.Queue(`
		INSERT INTO halls (id, cinema_id, name, cleaning_minutes) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, cleaning_minutes = excluded.cleaning_minutes,
			updated_at = now()
		WHERE halls.cinema_id = excluded.cinema_id
		RETURNING xmax = 0`, h.ID, h.CinemaID, h.Name, h.CleaningMinutes).
		QueryRow(func(row pgx.Row) error {
			err := row.Scan(&created)
			ok = err == nil
			return noRowOK(err)
		})
	if changed {
		const mine = `EXISTS (SELECT 1 FROM halls WHERE id = $1 AND cinema_id = $2)`
		b.Queue(`DELETE FROM seats WHERE hall_id = $1 AND `+mine, h.ID, h.CinemaID)
		n := len(h.Seats)
		ids, labels, rowLabels, cats, groups := make([]string, n), make([]string, n), make([]string, n),
			make([]string, n), make([]string, n)
		numbers, xs, ys, acc := make([]int32, n), make([]int32, n), make([]int32, n), make([]bool, n)
		for i, st := range h.Seats {
			ids[i], labels[i], rowLabels[i], cats[i], groups[i] = st.ID, st.Label, st.Row, st.Category, st.GroupID
			numbers[i], xs[i], ys[i], acc[i] = int32(st.Number), int32(st.X), int32(st.Y), st.Accessible
		}
		b.Queue(`
			INSERT INTO seats (hall_id, id, label, row_label, number, x, y, category, accessible, group_id)
			SELECT $1, u.id, u.label, u.row_label, u.number, u.x, u.y, u.category, u.accessible, NULLIF(u.group_id, '')
			FROM unnest($3::text[], $4::text[], $5::text[], $6::int[], $7::int[], $8::int[], $9::text[],
				$10::bool[], $11::text[]) AS u(id, label, row_label, number, x, y, category, accessible, group_id)
			WHERE `+mine, h.ID, h.CinemaID, ids, labels, rowLabels, numbers, xs, ys, cats, acc, groups)
	}
	b.Queue("COMMIT")
	if err := c.send(ctx, b); err != nil {
		return false, err
	}
	if !ok {
		return false, tickets.ErrConflict
	}
	return created, nil
}

// sameLayout reports whether two layouts have the same seats, every field equal, in any order.
func sameLayout(a, b []tickets.Seat) bool {
	if len(a) != len(b) {
		return false
	}
	byID := func(xs []tickets.Seat) map[string]tickets.Seat {
		m := make(map[string]tickets.Seat, len(xs))
		for _, x := range xs {
			m[x.ID] = x
		}
		return m
	}
	return maps.Equal(byID(a), byID(b)) && len(byID(b)) == len(b)
}

// noRowOK treats "no row" as success (the callback reports it otherwise).
func noRowOK(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	return err
}

// sortedSet returns ids sorted (byte order), without duplicates.
func sortedSet(ids []string) []string {
	out := slices.Clone(ids)
	slices.SortFunc(out, strings.Compare)
	return slices.Compact(out)
}
