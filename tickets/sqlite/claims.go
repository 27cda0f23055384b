package sqlite

import (
	"context"
	"database/sql"
	"slices"

	"boxoffice/tickets"
)

// taken is the condition under which a claim c keeps its seat from others at :now.
const taken = `(c.state IN ('sold', 'blocked') OR c.state = 'held' AND c.expires_at > :now)`

// claimSeats claims the seats of a JSON list (sorted) at a screening in one statement, setting
// state (with holdID and expiresAt for 'held'). A seat is claimed when it has no claim, its claim
// is free, or it is held past its deadline; it returns the seats that were not, sorted. The
// triggers on seat_claims (migration 00003) give the claims the screening's availability version
// (a new claim's version 0 is a placeholder) and write the seat event: every change of
// seat_claims here and elsewhere leaves the version column to them.
func (t *tx) claimSeats(ctx context.Context, screeningID string, seatIDs []string, state string,
	holdID any, expiresAt any) ([]string, error) {
	rows, err := t.QueryContext(ctx, `
		INSERT INTO seat_claims (screening_id, seat_id, state, hold_id, order_id, expires_at, version, updated_at)
		SELECT :screening, j.value, :state, :hold, NULL, :expires, 0, :now
		FROM json_each(:seats) j WHERE true
		ON CONFLICT (screening_id, seat_id) DO UPDATE SET state = excluded.state,
			hold_id = excluded.hold_id, order_id = NULL, expires_at = excluded.expires_at,
			updated_at = excluded.updated_at
		WHERE seat_claims.state = 'free' OR seat_claims.state = 'held' AND seat_claims.expires_at <= :now
		RETURNING seat_id`,
		sql.Named("screening", screeningID), sql.Named("state", state), sql.Named("hold", holdID),
		sql.Named("expires", expiresAt), sql.Named("now", t.ms()), sql.Named("seats", jsonList(seatIDs)))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	got := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		got[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var lost []string
	for _, id := range seatIDs {
		if !got[id] {
			lost = append(lost, id)
		}
	}
	slices.Sort(lost)
	return lost, nil
}

// idList returns the IDs (the first and only column, text) that a query selects.
func (t *tx) idList(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := t.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// endHolds ends the active holds matching where (a condition on holds, with args) whose
// deadline has not passed, with status, and frees their seats. Holds past their deadline are
// left to Sweep (and to lazy expiry): they are expired, not ended by anyone. It returns how
// many holds it ended.
func (t *tx) endHolds(ctx context.Context, status, where string, args ...any) (int, error) {
	ids, err := t.idList(ctx, `SELECT id FROM holds WHERE status = 'active' AND expires_at > ? AND (`+
		where+`) ORDER BY id`, append([]any{t.ms()}, args...)...)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	return len(ids), t.finishHolds(ctx, ids, status)
}

// finishHolds sets the status of holds, frees the seats they still hold and records when they
// ended: now, or their deadline for tickets.HoldExpired.
func (t *tx) finishHolds(ctx context.Context, ids []string, status string) error {
	list := jsonList(ids)
	if _, err := t.ExecContext(ctx, `
		UPDATE seat_claims SET state = 'free', hold_id = NULL, expires_at = NULL, updated_at = ?
		WHERE state = 'held' AND hold_id IN (SELECT value FROM json_each(?))`, t.ms(), list); err != nil {
		return err
	}
	_, err := t.ExecContext(ctx, `
		UPDATE holds SET status = :status,
			ended_at = CASE WHEN :status = 'expired' THEN min(expires_at, :now) ELSE :now END
		WHERE status = 'active' AND id IN (SELECT value FROM json_each(:ids))`,
		sql.Named("status", status), sql.Named("now", t.ms()), sql.Named("ids", list))
	return err
}

// SetBlocked blocks (or unblocks) seats at a screening, all or nothing. Blocking a seat that is
// held (past its deadline does not count) or sold returns *tickets.UnavailableError naming
// those seats, sorted; blocking a blocked seat or unblocking a seat that is not blocked changes
// nothing. Seat IDs are not checked against the hall. tickets.ErrNotFound when the screening
// does not exist.
func (s *Store) SetBlocked(ctx context.Context, screeningID string, seatIDs []string, blocked bool) error {
	ids := sortedSet(seatIDs)
	return s.write(ctx, func(t *tx) error {
		if missing, err := absent(ctx, t, `SELECT 1 FROM screenings WHERE id = ?`, screeningID); err != nil {
			return err
		} else if missing {
			return tickets.ErrNotFound
		}
		if len(ids) == 0 {
			return nil
		}
		if !blocked {
			_, err := t.ExecContext(ctx, `
				UPDATE seat_claims SET state = 'free', updated_at = ?
				WHERE screening_id = ? AND state = 'blocked' AND seat_id IN (SELECT value FROM json_each(?))`,
				t.ms(), screeningID, jsonList(ids))
			return err
		}
		lost, err := t.idList(ctx, `
			SELECT c.seat_id FROM seat_claims c WHERE c.screening_id = :screening
				AND c.seat_id IN (SELECT value FROM json_each(:seats)) AND c.state <> 'blocked' AND `+taken+`
			ORDER BY c.seat_id`,
			sql.Named("screening", screeningID), sql.Named("seats", jsonList(ids)), sql.Named("now", t.ms()))
		if err != nil {
			return err
		}
		if len(lost) > 0 {
			return &tickets.UnavailableError{SeatIDs: lost}
		}
		_, err = t.claimSeats(ctx, screeningID, ids, "blocked", nil, nil) // blocked seats stay as they are
		return err
	})
}

// Sweep marks up to limit holds whose deadline has passed tickets.HoldExpired (oldest deadline
// first) and frees their seats, taking a new availability version; it returns how many. Reads
// never depend on it. Safe to run from several processes: write transactions are serialised.
func (s *Store) Sweep(ctx context.Context, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	var n int
	err := s.write(ctx, func(t *tx) error {
		ids, err := t.idList(ctx, `
			SELECT id FROM holds WHERE status = 'active' AND expires_at <= ? ORDER BY expires_at, id LIMIT ?`,
			t.ms(), limit)
		if err != nil || len(ids) == 0 {
			return err
		}
		n = len(ids)
		return t.finishHolds(ctx, ids, tickets.HoldExpired)
	})
	return n, err
}
