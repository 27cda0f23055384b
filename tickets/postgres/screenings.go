package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"boxoffice/tickets"
)

// taken is the condition under which claim c keeps its seat from others now: sold, blocked, or
// held until after now (lazy expiry).
const taken = `(c.state IN ('sold', 'blocked') OR (c.state = 'held' AND c.expires_at > now()))`

// screeningSelect reads screenings (s) with their cinema, prices and SeatsAvailable as of now:
// the hall's seats less those taken.
const screeningSelect = `
	SELECT s.id, s.movie_id, h.cinema_id, s.hall_id, s.starts_at, s.ends_at, s.status,
		ARRAY(SELECT p.category FROM screening_prices p WHERE p.screening_id = s.id ORDER BY p.category),
		ARRAY(SELECT p.amount FROM screening_prices p WHERE p.screening_id = s.id ORDER BY p.category),
		ARRAY(SELECT p.currency FROM screening_prices p WHERE p.screening_id = s.id ORDER BY p.category),
		(SELECT count(*) FROM seats st WHERE st.hall_id = s.hall_id) -
		(SELECT count(*) FROM seat_claims c JOIN seats st ON st.hall_id = s.hall_id AND st.id = c.seat_id
			WHERE c.screening_id = s.id AND ` + taken + `)
	FROM screenings s JOIN halls h ON h.id = s.hall_id`

func scanScreening(row pgx.CollectableRow) (tickets.Screening, error) {
	var sc tickets.Screening
	var cats, currencies []string
	var amounts []int64
	err := row.Scan(&sc.ID, &sc.MovieID, &sc.CinemaID, &sc.HallID, &sc.StartsAt, &sc.EndsAt, &sc.Status,
		&cats, &amounts, &currencies, &sc.SeatsAvailable)
	if err != nil {
		return sc, err
	}
	sc.StartsAt, sc.EndsAt = sc.StartsAt.UTC(), sc.EndsAt.UTC()
	for i := range cats {
		sc.Prices = append(sc.Prices, tickets.Price{Category: cats[i], Amount: amounts[i], Currency: currencies[i]})
	}
	return sc, nil
}

// Screenings lists scheduled and cancelled screenings that start in [q.From, q.To), of q.MovieID
// and in q.CinemaID when not empty, ordered by (StartsAt, ID), after (q.AfterStart, q.AfterID)
// when q.AfterID is not empty, at most q.Limit (no limit when q.Limit <= 0).
func (s *Store) Screenings(ctx context.Context, q tickets.ScreeningQuery) ([]tickets.Screening, error) {
	rows, err := s.pool.Query(ctx, screeningSelect+`
		WHERE s.starts_at >= $1 AND s.starts_at < $2 AND ($3 = '' OR s.movie_id = $3)
			AND ($4 = '' OR h.cinema_id = $4) AND ($6 = '' OR (s.starts_at, s.id) > ($5, $6))
		ORDER BY s.starts_at, s.id LIMIT $7`,
		q.From, q.To, q.MovieID, q.CinemaID, q.AfterStart, q.AfterID, limitArg(q.Limit))
	if err != nil {
		return nil, s.fail(err)
	}
	ss, err := pgx.CollectRows(rows, scanScreening)
	return ss, s.fail(err)
}

// Screening returns one screening with its prices (ordered by category) and SeatsAvailable, or
// tickets.ErrNotFound.
func (s *Store) Screening(ctx context.Context, id string) (tickets.Screening, error) {
	rows, err := s.pool.Query(ctx, screeningSelect+` WHERE s.id = $1`, id)
	if err != nil {
		return tickets.Screening{}, s.fail(err)
	}
	sc, err := pgx.CollectExactlyOneRow(rows, scanScreening)
	return sc, s.fail(notFound(err))
}

// CreateScreening stores a new scheduled screening with its prices, busy until sc.EndsAt plus
// the hall's cleaning time (sc.Status, sc.CinemaID and sc.SeatsAvailable are ignored). It
// returns tickets.ErrHallBusy when that span overlaps another scheduled screening's in the hall
// (the exclusion constraint decides, also between concurrent calls), tickets.ErrNotFound when
// the movie or hall does not exist, and tickets.ErrConflict when the ID is taken.
func (s *Store) CreateScreening(ctx context.Context, sc tickets.Screening) error {
	cats, amounts, currencies := make([]string, len(sc.Prices)), make([]int64, len(sc.Prices)), make([]string, len(sc.Prices))
	for i, p := range sc.Prices {
		cats[i], amounts[i], currencies[i] = p.Category, p.Amount, p.Currency
	}
	return s.retry(ctx, func() error {
		var inserted int64
		b := &pgx.Batch{} // one implicit transaction
		b.Queue(`
			INSERT INTO screenings (id, movie_id, hall_id, starts_at, ends_at, busy_until)
			SELECT $1, $2, h.id, $4, $5, $5::timestamptz + h.cleaning_minutes * interval '1 minute'
			FROM halls h WHERE h.id = $3`, sc.ID, sc.MovieID, sc.HallID, sc.StartsAt, sc.EndsAt).
			Exec(func(tag pgconn.CommandTag) error {
				inserted = tag.RowsAffected()
				return nil
			})
		b.Queue(`
			INSERT INTO screening_prices (screening_id, category, amount, currency)
			SELECT $1, u.category, u.amount, u.currency
			FROM unnest($2::text[], $3::bigint[], $4::text[]) AS u(category, amount, currency)`,
			sc.ID, cats, amounts, currencies)
		err := s.pool.SendBatch(ctx, b).Close()
		switch code, constraint := pgCode(err); {
		case err != nil && code == codeExclusion:
			return tickets.ErrHallBusy
		case err != nil && code == codeForeignKey:
			return tickets.ErrNotFound
		case err != nil && code == codeUnique && constraint == "screenings_pkey":
			return tickets.ErrConflict
		case err != nil:
			return err
		case inserted == 0:
			return tickets.ErrNotFound // no such hall
		}
		return nil
	})
}

// CancelScreening marks a screening cancelled, every active hold on it (whose deadline has
// not passed; expired ones are left to Sweep) tickets.HoldCancelled, and every confirmed order
// tickets.OrderCancelled with a pending refund (cancel_refund() in migrations), freeing their
// seats, in one transaction. It first locks the screening exclusively (lockScreening), which waits for the
// holds being taken on it and makes later ones wait, then see the cancellation. Cancelling
// twice is not an error; tickets.ErrNotFound when the screening does not exist.
func (s *Store) CancelScreening(ctx context.Context, id string) error {
	return s.retry(ctx, func() error {
		var found bool
		b := &pgx.Batch{} // one implicit transaction
		b.Queue(lockScreening, id)
		b.Queue(`SELECT true FROM screenings WHERE id = $1`, id).
			QueryRow(func(row pgx.Row) error { return noRowOK(row.Scan(&found)) })
		b.Queue(`UPDATE screenings SET status = 'cancelled', cancelled_at = now()
			WHERE id = $1 AND status = 'scheduled'`, id)
		b.Queue(`
			WITH h AS (
				UPDATE holds SET status = 'cancelled', ended_at = now()
				WHERE screening_id = $1 AND status = 'active' AND expires_at > now()
				RETURNING id, screening_id, seat_ids
			)`+freeClaims, id)
		b.Queue(`SELECT cancel_refund(o.id, 'screening_cancelled') FROM orders o
			WHERE o.screening_id = $1 AND o.status = 'confirmed' ORDER BY o.id`, id)
		if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		if !found {
			return tickets.ErrNotFound
		}
		return nil
	})
}

// A hold locks its screening shared and a cancellation exclusively, so that a hold either commits
// before the cancellation (which then cancels it) or sees it. The locks are transaction-level
// advisory locks keyed by the screening ID rather than row locks on the screening: PostgreSQL
// queues a lock request behind a waiting conflicting one only for such (heavyweight) locks, so
// holds that keep arriving on a busy screening cannot starve a cancellation waiting for
// FOR UPDATE behind their FOR KEY SHARE. Each statement must stand alone in its pipeline: a
// statement that reads after it takes a new snapshot, once the lock is granted.
const (
	lockScreeningShared = `SELECT pg_advisory_xact_lock_shared(1937, hashtext($1))`
	lockScreening       = `SELECT pg_advisory_xact_lock(1937, hashtext($1))`
)

// freeClaims follows a WITH clause h (ended holds: id, screening_id, seat_ids) and frees the
// seats those holds still hold, each with a new version taken once the row is locked.
const freeClaims = `
	UPDATE seat_claims c SET state = 'free', hold_id = NULL, expires_at = NULL,
		version = nextval('claim_version'), updated_at = now()
	FROM h WHERE c.screening_id = h.screening_id AND c.seat_id = ANY (h.seat_ids)
		AND c.hold_id = h.id AND c.state = 'held'`
