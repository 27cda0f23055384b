package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"boxoffice/tickets"
)

// Availability reads the seats taken at a screening now (sold, blocked, or held until after
// now) and the screening's availability version (its seat_feed row, migration 00003; 0 before
// any claim). tickets.ErrNotFound
// when the screening does not exist.
func (s *Store) Availability(ctx context.Context, screeningID string) (tickets.Availability, error) {
	var a tickets.Availability
	err := s.read(ctx, func(t *tx) (err error) {
		if missing, err := absent(ctx, t, `SELECT 1 FROM screenings WHERE id = ?`, screeningID); err != nil {
			return err
		} else if missing {
			return tickets.ErrNotFound
		}
		a, err = t.availability(ctx, screeningID)
		return err
	})
	return a, err
}

func (t *tx) availability(ctx context.Context, screeningID string) (tickets.Availability, error) {
	a := tickets.Availability{ScreeningID: screeningID, Now: t.now, Taken: map[string]tickets.Claim{}}
	if err := t.QueryRowContext(ctx, `SELECT coalesce((SELECT version FROM seat_feed WHERE screening_id = ?), 0)`,
		screeningID).Scan(&a.Version); err != nil {
		return a, err
	}
	rows, err := t.QueryContext(ctx, `
		SELECT c.seat_id, c.state, coalesce(c.hold_id, ''), coalesce(c.expires_at, 0) FROM seat_claims c
		WHERE c.screening_id = :screening AND `+taken,
		sql.Named("screening", screeningID), sql.Named("now", t.ms()))
	if err != nil {
		return a, err
	}
	defer rows.Close()
	for rows.Next() {
		var c tickets.Claim
		var expires int64
		if err := rows.Scan(&c.SeatID, &c.State, &c.HoldID, &expires); err != nil {
			return a, err
		}
		if c.State == tickets.Held {
			c.ExpiresAt = fromMillis(expires)
		} else {
			c.HoldID = ""
		}
		a.Taken[c.SeatID] = c
	}
	return a, rows.Err()
}

// Hold runs the hold transaction described by tickets.HoldTx, in one BEGIN IMMEDIATE
// transaction. It returns tickets.ErrNotFound, tickets.ErrScreeningCancelled,
// tickets.ErrScreeningStarted (now is at or after StartsAt), Plan's error unchanged,
// FieldErrors when TTL is not positive or Plan chose no seat, tickets.ErrConflict when htx.ID
// is taken, and *tickets.UnavailableError naming the planned seats that were taken. The
// user's previous active hold on the screening ends as tickets.HoldReplaced
// (tickets.HoldExpired if its deadline had passed). Plan runs inside the transaction, on the
// store's only connection: it must not call the store.
func (s *Store) Hold(ctx context.Context, htx tickets.HoldTx) (tickets.Hold, error) {
	if htx.TTL <= 0 {
		return tickets.Hold{}, tickets.FieldErrors{"ttl": "must be positive"}
	}
	var h tickets.Hold
	var planErr error
	err := s.write(ctx, func(t *tx) error {
		var status string
		var start int64
		err := t.QueryRowContext(ctx, `SELECT status, starts_at FROM screenings WHERE id = ?`,
			htx.ScreeningID).Scan(&status, &start)
		switch {
		case err != nil:
			return notFound(err)
		case status != tickets.ScreeningScheduled:
			return tickets.ErrScreeningCancelled
		case t.ms() >= start:
			return tickets.ErrScreeningStarted
		}
		if free, err := absent(ctx, t, `SELECT 1 FROM holds WHERE id = ?`, htx.ID); err != nil {
			return err
		} else if !free {
			return tickets.ErrConflict
		}
		var prevID string
		var prevExpires int64
		err = t.QueryRowContext(ctx, `
			SELECT id, expires_at FROM holds WHERE user_id = ? AND screening_id = ? AND status = 'active'`,
			htx.UserID, htx.ScreeningID).Scan(&prevID, &prevExpires)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		a, err := t.availability(ctx, htx.ScreeningID)
		if err != nil {
			return err
		}
		for id, c := range a.Taken { // the hold this one replaces gives its seats back
			if prevID != "" && c.State == tickets.Held && c.HoldID == prevID {
				delete(a.Taken, id)
			}
		}
		seatIDs, total, err := htx.Plan(a)
		if err != nil {
			planErr = err
			return err
		}
		if seatIDs = sortedSet(seatIDs); len(seatIDs) == 0 {
			return tickets.FieldErrors{"seat_ids": "no seat chosen"}
		}
		if prevID != "" {
			end := tickets.HoldReplaced
			if prevExpires <= t.ms() {
				end = tickets.HoldExpired
			}
			if err := t.finishHolds(ctx, []string{prevID}, end); err != nil {
				return err
			}
		}
		expires := fromMillis(t.now.Add(htx.TTL).UnixMilli())
		lost, err := t.claimSeats(ctx, htx.ScreeningID, seatIDs, "held", htx.ID, expires.UnixMilli())
		if err != nil {
			return err
		}
		if len(lost) > 0 {
			return &tickets.UnavailableError{SeatIDs: lost}
		}
		h = tickets.Hold{ID: htx.ID, ScreeningID: htx.ScreeningID, UserID: htx.UserID,
			SessionID: htx.SessionID, SeatIDs: seatIDs, Status: tickets.HoldActive, Total: total,
			CreatedAt: t.now, ExpiresAt: expires, ServerTime: t.now}
		_, err = t.ExecContext(ctx, `
			INSERT INTO holds (id, screening_id, user_id, session_id, seat_ids, status, amount, currency,
				created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?, ?)`,
			h.ID, h.ScreeningID, h.UserID, h.SessionID, jsonList(seatIDs), total.Amount, total.Currency,
			t.ms(), expires.UnixMilli())
		return err
	})
	if planErr != nil {
		return tickets.Hold{}, planErr
	}
	if err != nil {
		return tickets.Hold{}, err
	}
	return h, nil
}

const holdSelect = `SELECT id, screening_id, user_id, session_id, seat_ids, status, amount, currency,
	created_at, expires_at FROM holds`

func (t *tx) hold(ctx context.Context, id string) (tickets.Hold, error) {
	h := tickets.Hold{ServerTime: t.now}
	var seats string
	var created, expires int64
	err := t.QueryRowContext(ctx, holdSelect+` WHERE id = ?`, id).Scan(&h.ID, &h.ScreeningID, &h.UserID,
		&h.SessionID, &seats, &h.Status, &h.Total.Amount, &h.Total.Currency, &created, &expires)
	if err != nil {
		return tickets.Hold{}, notFound(err)
	}
	h.CreatedAt, h.ExpiresAt = fromMillis(created), fromMillis(expires)
	if h.SeatIDs, err = parseList(seats); err != nil {
		return tickets.Hold{}, err
	}
	return h, nil
}

// GetHold returns a hold with its status as stored (see tickets.Hold.Effective) and
// ServerTime set to now, or tickets.ErrNotFound.
func (s *Store) GetHold(ctx context.Context, id string) (tickets.Hold, error) {
	var h tickets.Hold
	err := s.read(ctx, func(t *tx) (err error) {
		h, err = t.hold(ctx, id)
		return err
	})
	return h, err
}

// ReleaseHold ends userID's active hold with status tickets.HoldReleased and frees its seats.
// A hold that is no longer active (ended, or past its deadline: expired) is left as it is,
// without error. It returns the hold as it is afterwards (status as stored, ServerTime now),
// or tickets.ErrNotFound when the hold does not exist or belongs to another user.
func (s *Store) ReleaseHold(ctx context.Context, id, userID string) (tickets.Hold, error) {
	var h tickets.Hold
	err := s.write(ctx, func(t *tx) (err error) {
		if h, err = t.hold(ctx, id); err != nil {
			return err
		}
		if h.UserID != userID {
			return tickets.ErrNotFound
		}
		if n, err := t.endHolds(ctx, tickets.HoldReleased, `id = ?`, id); err != nil || n == 0 {
			return err
		}
		h, err = t.hold(ctx, id)
		return err
	})
	if err != nil {
		return tickets.Hold{}, err
	}
	return h, nil
}
