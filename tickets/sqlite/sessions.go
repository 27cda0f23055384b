package sqlite

import (
	"context"

	"boxoffice/tickets"
)

// EndSessionHolds ends every active hold made by the given sessions (one whose deadline has
// not passed; expired ones are left to Sweep) with status tickets.HoldRevoked and frees their
// seats. It returns how many holds it ended.
func (s *Store) EndSessionHolds(ctx context.Context, sessionIDs []string) (int, error) {
	if len(sessionIDs) == 0 {
		return 0, nil
	}
	var n int
	err := s.write(ctx, func(t *tx) (err error) {
		n, err = t.endHolds(ctx, tickets.HoldRevoked,
			`session_id IN (SELECT value FROM json_each(?))`, jsonList(sessionIDs))
		return err
	})
	return n, err
}

// MoveSessionHolds gives every hold of session from whose status is active to session to.
func (s *Store) MoveSessionHolds(ctx context.Context, from, to string) error {
	if from == to {
		return nil
	}
	return s.write(ctx, func(t *tx) error {
		_, err := t.ExecContext(ctx,
			`UPDATE holds SET session_id = ? WHERE session_id = ? AND status = 'active'`, to, from)
		return err
	})
}

// HoldSessions returns the distinct sessions, ordered by (UserID, SessionID), that have active
// holds (whose deadline has not passed): those of userID, or when userID is empty up to limit
// of any user's (limit <= 0: no limit), after the given session in that order.
func (s *Store) HoldSessions(ctx context.Context, userID string, after tickets.SessionRef, limit int) ([]tickets.SessionRef, error) {
	if userID != "" || limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	out := []tickets.SessionRef{}
	err := s.read(ctx, func(t *tx) error {
		rows, err := t.QueryContext(ctx, `
			SELECT DISTINCT user_id, session_id FROM holds
			WHERE status = 'active' AND expires_at > ? AND (? = '' OR user_id = ?)
				AND (user_id, session_id) > (?, ?)
			ORDER BY user_id, session_id LIMIT ?`, t.ms(), userID, userID, after.UserID, after.SessionID, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r tickets.SessionRef
			if err := rows.Scan(&r.UserID, &r.SessionID); err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
