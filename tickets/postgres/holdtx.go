package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"boxoffice/tickets"
)

// lockUserScreening makes one user's holds on one screening take turns (a double click, several
// tabs): each then finds the one before it committed, and replaces it, rather than both finding
// none and one failing on the holds_active_user index. Unrelated users whose keys collide merely
// take turns too.
const lockUserScreening = `SELECT pg_advisory_xact_lock(1938, hashtext($1 || '/' || $2))`

// planFailed carries Plan's error through the retry loop, to be returned unchanged.
type planFailed struct{ err error }

func (p planFailed) Error() string { return p.err.Error() }

// Hold runs the hold transaction described by tickets.HoldTx in two round trips, whether it
// succeeds or finds seats taken:
//
//  1. BEGIN; lock the screening against a cancellation (not against other holds: see
//     lockScreeningShared) and check it; take the user's turn on the screening
//     (lockUserScreening); lock the user's active hold on the screening FOR UPDATE; read the
//     availability. Plan then runs in Go, with the seats of the user's active hold available.
//  2. take_hold() (migrations): end the user's previous hold (tickets.HoldReplaced, or
//     tickets.HoldExpired if its deadline had passed), insert the new hold, claim the planned
//     seats in one statement, sorted, and free the previous hold's other seats, or undo all of
//     it and name the seats taken; COMMIT.
//
// It returns tickets.ErrNotFound, tickets.ErrScreeningCancelled, tickets.ErrScreeningStarted
// (now is at or after the start), Plan's error unchanged, FieldErrors when Plan chose no seat,
// tickets.ErrConflict when htx.ID is taken, and *tickets.UnavailableError naming the planned
// seats that were taken (then nothing changed). A deadlock runs the transaction (and Plan) again,
// up to three times in all. Plan runs inside the transaction, holding one of the pool's
// connections and the screening's shared lock: it must be quick and must not call the store.
func (s *Store) Hold(ctx context.Context, htx tickets.HoldTx) (tickets.Hold, error) {
	var h tickets.Hold
	err := s.retry(ctx, func() (err error) {
		h, err = s.hold(ctx, htx)
		return err
	})
	if pf := (planFailed{}); errors.As(err, &pf) {
		return tickets.Hold{}, pf.err
	}
	if err != nil {
		return tickets.Hold{}, err
	}
	return h, nil
}

func (s *Store) hold(ctx context.Context, htx tickets.HoldTx) (tickets.Hold, error) {
	c, err := s.acquire(ctx)
	if err != nil {
		return tickets.Hold{}, err
	}
	defer c.release()

	var (
		found, started, availabilityRead bool
		status, prevID                   string
		prevSeats                        []string
		a                                tickets.Availability
	)
	b := newBatch()
	if s.lockPerScreening { // benchmark baseline: the exclusive lock, so holds of a screening take turns
		b.Queue(lockScreening, htx.ScreeningID)
	} else {
		b.Queue(lockScreeningShared, htx.ScreeningID)
	}
	b.Queue(lockUserScreening, htx.UserID, htx.ScreeningID)
	b.Queue(`SELECT status, starts_at <= now() FROM screenings WHERE id = $1`,
		htx.ScreeningID).QueryRow(func(row pgx.Row) error {
		err := row.Scan(&status, &started)
		found = err == nil
		return noRowOK(err)
	})
	b.Queue(`SELECT id, seat_ids FROM holds WHERE user_id = $1 AND screening_id = $2 AND status = 'active'
		FOR UPDATE`, htx.UserID, htx.ScreeningID).QueryRow(func(row pgx.Row) error {
		return noRowOK(row.Scan(&prevID, &prevSeats))
	})
	b.Queue(availabilitySelect, htx.ScreeningID).Query(func(rows pgx.Rows) (err error) {
		a, availabilityRead, err = scanAvailability(rows, htx.ScreeningID)
		return err
	})
	if err := c.send(ctx, b); err != nil {
		return tickets.Hold{}, err
	}
	switch {
	case !found || !availabilityRead:
		return tickets.Hold{}, tickets.ErrNotFound
	case status != tickets.ScreeningScheduled:
		return tickets.Hold{}, tickets.ErrScreeningCancelled
	case started:
		return tickets.Hold{}, tickets.ErrScreeningStarted
	}
	for id, cl := range a.Taken { // the hold this one replaces gives its seats back
		if prevID != "" && cl.State == tickets.Held && cl.HoldID == prevID {
			delete(a.Taken, id)
		}
	}
	seatIDs, total, err := htx.Plan(a)
	if err != nil {
		return tickets.Hold{}, planFailed{err}
	}
	if seatIDs = sortedSet(seatIDs); len(seatIDs) == 0 {
		return tickets.Hold{}, tickets.FieldErrors{"seat_ids": "no seat chosen"}
	}
	h := tickets.Hold{ID: htx.ID, ScreeningID: htx.ScreeningID, UserID: htx.UserID, SessionID: htx.SessionID,
		SeatIDs: seatIDs, Status: tickets.HoldActive, Total: total}
	var missing []string
	b = &pgx.Batch{}
	b.Queue(`SELECT out_missing, out_created, out_expires, now()
		FROM take_hold($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		h.ID, h.ScreeningID, h.UserID, h.SessionID, seatIDs, total.Amount, total.Currency, htx.TTL,
		prevID, prevSeats).
		QueryRow(func(row pgx.Row) error {
			var created, expires *time.Time
			if err := row.Scan(&missing, &created, &expires, &h.ServerTime); err != nil {
				return err
			}
			if len(missing) == 0 {
				h.CreatedAt, h.ExpiresAt = *created, *expires
			}
			return nil
		})
	b.Queue("COMMIT") // of nothing when seats were missing: take_hold undid its work
	err = c.send(ctx, b)
	if code, constraint := pgCode(err); code == codeUnique && constraint == holdsPrimaryKey {
		return tickets.Hold{}, tickets.ErrConflict
	}
	if err != nil {
		return tickets.Hold{}, err
	}
	if len(missing) > 0 {
		return tickets.Hold{}, &tickets.UnavailableError{SeatIDs: missing}
	}
	h.CreatedAt, h.ExpiresAt, h.ServerTime = h.CreatedAt.UTC(), h.ExpiresAt.UTC(), h.ServerTime.UTC()
	return h, nil
}
