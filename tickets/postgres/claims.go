package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"boxoffice/tickets"
)

// claimBlocked blocks every seat of $2 (sorted) at screening $1 in one statement: a seat is
// blocked when it has no claim, its claim is free, or it is held past its deadline; a blocked
// seat stays as it is. When another seat (held or sold) could not be blocked, seats_taken()
// aborts the transaction, naming the seats.
const claimBlocked = `
	WITH claimed AS (
		INSERT INTO seat_claims (screening_id, seat_id, state, version, updated_at)
		SELECT $1, u.seat_id, 'blocked', nextval('claim_version'), now()
		FROM unnest($2::text[]) WITH ORDINALITY AS u(seat_id, n) ORDER BY u.n
		ON CONFLICT (screening_id, seat_id) DO UPDATE SET state = 'blocked', hold_id = NULL,
			order_id = NULL, expires_at = NULL, version = nextval('claim_version'),
			updated_at = excluded.updated_at
		WHERE seat_claims.state = 'free' OR (seat_claims.state = 'held' AND seat_claims.expires_at <= now())
		RETURNING seat_id
	)
	SELECT seats_taken(ARRAY(
		SELECT u.s FROM unnest($2::text[]) AS u(s)
		EXCEPT SELECT seat_id FROM claimed
		EXCEPT SELECT c.seat_id FROM seat_claims c
			WHERE c.screening_id = $1 AND c.seat_id = ANY ($2) AND c.state = 'blocked'))`

// SetBlocked blocks (or unblocks) seats at a screening, all or nothing, in one transaction.
// Blocking a seat that is held (past its deadline does not count) or sold returns
// *tickets.UnavailableError naming those seats, sorted; blocking a blocked seat or unblocking a
// seat that is not blocked changes nothing. Seat IDs are not checked against the hall.
// tickets.ErrNotFound when the screening does not exist.
func (s *Store) SetBlocked(ctx context.Context, screeningID string, seatIDs []string, blocked bool) error {
	ids := sortedSet(seatIDs)
	return s.retry(ctx, func() error {
		var found bool
		b := &pgx.Batch{} // one implicit transaction
		b.Queue(`SELECT true FROM screenings WHERE id = $1`, screeningID).
			QueryRow(func(row pgx.Row) error { return noRowOK(row.Scan(&found)) })
		switch {
		case len(ids) == 0:
		case blocked:
			b.Queue(claimBlocked, screeningID, ids)
		default:
			b.Queue(`UPDATE seat_claims SET state = 'free', version = nextval('claim_version'), updated_at = now()
				WHERE screening_id = $1 AND seat_id = ANY ($2) AND state = 'blocked'`, screeningID, ids)
		}
		err := s.pool.SendBatch(ctx, b).Close()
		if code, _ := pgCode(err); code == codeForeignKey {
			return tickets.ErrNotFound
		}
		if ue := seatsTaken(err); ue != nil {
			return ue
		}
		if err == nil && !found {
			return tickets.ErrNotFound
		}
		return err
	})
}

// Sweep marks up to limit holds whose deadline has passed tickets.HoldExpired (oldest deadline
// first, ended at their deadline) and frees the seats they still hold, each with a new version,
// in one statement; it returns how many. Holds that another transaction has locked are skipped
// (FOR UPDATE SKIP LOCKED), so every instance may sweep at once. limit <= 0 sweeps nothing.
func (s *Store) Sweep(ctx context.Context, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	var n int
	err := s.retry(ctx, func() error {
		return s.pool.QueryRow(ctx, `
			WITH h AS (
				UPDATE holds SET status = 'expired', ended_at = expires_at
				WHERE id IN (
					SELECT id FROM holds WHERE status = 'active' AND expires_at <= now()
					ORDER BY expires_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)
				RETURNING id, screening_id, seat_ids
			), f AS (`+freeClaims+`)
			SELECT count(*) FROM h`, limit).Scan(&n)
	})
	return n, err
}
