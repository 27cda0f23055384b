package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"boxoffice/tickets"
)

// availabilitySelect reads, in one snapshot, the database's now, a screening's availability
// version ($1) and its taken claims (one row with NULL claim columns when none is taken).
//
// The version is the screening's row in seat_feed (migration 00003): every transaction that
// changes its claims takes the next version there, in commit order, and writes its seat event.
const availabilitySelect = `
	SELECT now(), coalesce(v.version, 0), c.seat_id, c.state, c.hold_id, c.expires_at
	FROM (SELECT 1) one LEFT JOIN seat_feed v ON v.screening_id = $1
	LEFT JOIN seat_claims c ON c.screening_id = $1 AND ` + taken

// scanAvailability reads the rows of availabilitySelect.
func scanAvailability(rows pgx.Rows, screeningID string) (tickets.Availability, bool, error) {
	a := tickets.Availability{ScreeningID: screeningID, Taken: map[string]tickets.Claim{}}
	found := false
	for rows.Next() {
		var seatID, state, holdID *string
		var expires *time.Time
		if err := rows.Scan(&a.Now, &a.Version, &seatID, &state, &holdID, &expires); err != nil {
			return a, false, err
		}
		found = true
		if seatID == nil {
			continue
		}
		cl := tickets.Claim{SeatID: *seatID, State: tickets.SeatState(*state)}
		if cl.State == tickets.Held && holdID != nil && expires != nil {
			cl.HoldID, cl.ExpiresAt = *holdID, expires.UTC()
		}
		a.Taken[cl.SeatID] = cl
	}
	a.Now = a.Now.UTC()
	return a, found, rows.Err()
}

// Availability reads the seats taken at a screening now (sold, blocked, or held until after now)
// and the screening's availability version (0 before any claim), in one snapshot.
// tickets.ErrNotFound when the screening does not exist.
func (s *Store) Availability(ctx context.Context, screeningID string) (tickets.Availability, error) {
	rows, err := s.pool.Query(ctx, availabilitySelect+`
		WHERE EXISTS (SELECT 1 FROM screenings WHERE id = $1)`, screeningID)
	if err != nil {
		return tickets.Availability{}, s.fail(err)
	}
	defer rows.Close()
	a, found, err := scanAvailability(rows, screeningID)
	switch {
	case err != nil:
		return tickets.Availability{}, s.fail(err)
	case !found:
		return tickets.Availability{}, tickets.ErrNotFound
	}
	return a, nil
}

const holdColumns = `id, screening_id, user_id, session_id, seat_ids, status, amount, currency,
	created_at, expires_at, now()`

func scanHold(row pgx.Row) (tickets.Hold, error) {
	var h tickets.Hold
	err := row.Scan(&h.ID, &h.ScreeningID, &h.UserID, &h.SessionID, &h.SeatIDs, &h.Status, &h.Total.Amount,
		&h.Total.Currency, &h.CreatedAt, &h.ExpiresAt, &h.ServerTime)
	h.CreatedAt, h.ExpiresAt, h.ServerTime = h.CreatedAt.UTC(), h.ExpiresAt.UTC(), h.ServerTime.UTC()
	return h, err
}

// GetHold returns a hold with its status as stored (see tickets.Hold.Effective) and ServerTime
// set to the database's now, or tickets.ErrNotFound.
func (s *Store) GetHold(ctx context.Context, id string) (tickets.Hold, error) {
	h, err := scanHold(s.pool.QueryRow(ctx, `SELECT `+holdColumns+` FROM holds WHERE id = $1`, id))
	if err != nil {
		return tickets.Hold{}, s.fail(notFound(err))
	}
	return h, nil
}

// ReleaseHold ends userID's active hold with status tickets.HoldReleased and frees its seats, in
// one transaction. A hold that is no longer active (ended, or past its deadline: expired) is
// left as it is, without error. It returns the hold as it is afterwards (status as stored,
// ServerTime now), or tickets.ErrNotFound when the hold does not exist or belongs to another
// user.
func (s *Store) ReleaseHold(ctx context.Context, id, userID string) (tickets.Hold, error) {
	var h tickets.Hold
	err := s.retry(ctx, func() error {
		b := &pgx.Batch{} // one implicit transaction
		b.Queue(`
			WITH h AS (
				UPDATE holds SET status = 'released', ended_at = now()
				WHERE id = $1 AND user_id = $2 AND status = 'active' AND expires_at > now()
				RETURNING id, screening_id, seat_ids
			)`+freeClaims, id, userID)
		b.Queue(`SELECT `+holdColumns+` FROM holds WHERE id = $1 AND user_id = $2`, id, userID).
			QueryRow(func(row pgx.Row) (err error) {
				h, err = scanHold(row)
				return notFound(err)
			})
		return s.pool.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return tickets.Hold{}, err
	}
	return h, nil
}

// EndSessionHolds ends every active hold made by the given sessions (one whose deadline has not
// passed; expired ones are left to Sweep) with status tickets.HoldRevoked and frees their seats,
// in one statement. It returns how many holds it ended.
func (s *Store) EndSessionHolds(ctx context.Context, sessionIDs []string) (int, error) {
	if len(sessionIDs) == 0 {
		return 0, nil
	}
	var n int
	err := s.retry(ctx, func() error {
		return s.pool.QueryRow(ctx, `
			WITH h AS (
				UPDATE holds SET status = 'revoked', ended_at = now()
				WHERE session_id = ANY ($1) AND status = 'active' AND expires_at > now()
				RETURNING id, screening_id, seat_ids
			), f AS (`+freeClaims+`)
			SELECT count(*) FROM h`, sessionIDs).Scan(&n)
	})
	return n, err
}

// MoveSessionHolds gives every hold of session from whose status is active to session to.
func (s *Store) MoveSessionHolds(ctx context.Context, from, to string) error {
	if from == to {
		return nil
	}
	_, err := s.pool.Exec(ctx, `UPDATE holds SET session_id = $2 WHERE session_id = $1 AND status = 'active'`,
		from, to)
	return s.fail(err)
}

// HoldSessions returns the distinct sessions, ordered by (UserID, SessionID), that have active
// holds (whose deadline has not passed): those of userID, or when userID is empty up to limit of
// any user's (limit <= 0: no limit), after the given session in that order. It returns an empty, non-nil slice when there are none.
func (s *Store) HoldSessions(ctx context.Context, userID string, after tickets.SessionRef, limit int) ([]tickets.SessionRef, error) {
	if userID != "" {
		limit = 0
	}
	rows, err := s.pool.Query(ctx, `
		SELECT DISTINCT user_id, session_id FROM holds
		WHERE status = 'active' AND expires_at > now() AND ($1 = '' OR user_id = $1)
			AND (user_id, session_id) > ($3, $4)
		ORDER BY user_id, session_id LIMIT $2`, userID, limitArg(limit), after.UserID, after.SessionID)
	if err != nil {
		return nil, s.fail(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[tickets.SessionRef])
	if err != nil {
		return nil, s.fail(err)
	}
	if out == nil {
		out = []tickets.SessionRef{}
	}
	return out, nil
}
