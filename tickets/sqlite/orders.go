package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"

	"boxoffice/tickets"
)

// BeginOrder starts paying for a hold, in one BEGIN IMMEDIATE transaction (so concurrent
// BeginOrders for one hold, or with one key, take turns), as tickets.OrderStore describes:
//
//   - The key (btx.Key.UserID, btx.Key.Key), when first used less than tickets.KeyRetention ago:
//     another fingerprint is tickets.ErrIdempotencyKeyReused; completed, its stored reply is
//     returned (Replay, with its order in Order) and nothing changes; in flight with its lease
//     running, *tickets.InFlightError (RetryAfter: the rest of the lease rounded up to whole
//     seconds, at least one); in flight with its lease ended (at or before now), the lease is
//     renewed to now + btx.Lease and its order returned with TakenOver set.
//   - Otherwise (a key never used, or forgotten: it is overwritten in place) the hold must
//     exist and be btx.Order.UserID's (tickets.ErrNotFound), have no pending or confirmed order
//     (*tickets.OrderExistsError), and be active by now (tickets.ErrHoldExpired). The order is
//     stored pending with the hold's screening, seats, total and deadline, its payment pending,
//     and the key in flight with a lease of btx.Lease; it is returned as Order returns it.
//
// tickets.ErrConflict when the order ID or the payment ID is taken; FieldErrors when btx.Lease
// is not positive. Nothing is stored when an error is returned.
func (s *Store) BeginOrder(ctx context.Context, btx tickets.BeginOrderTx) (tickets.BeginOrderResult, error) {
	if btx.Lease <= 0 {
		return tickets.BeginOrderResult{}, tickets.FieldErrors{"lease": "must be positive"}
	}
	var r tickets.BeginOrderResult
	err := s.write(ctx, func(t *tx) error {
		r = tickets.BeginOrderResult{}
		k, found, err := t.idemKey(ctx, `user_id = ? AND key = ?`, btx.Key.UserID, btx.Key.Key)
		if err != nil {
			return err
		}
		if found && k.remembered(t) {
			switch {
			case !bytes.Equal(k.fingerprint, btx.Key.Fingerprint):
				return tickets.ErrIdempotencyKeyReused
			case k.status == keyCompleted:
				r.Replay = &k.reply
			case k.leaseUntil > t.ms():
				return &tickets.InFlightError{RetryAfter: retryAfter(k.leaseUntil - t.ms())}
			default:
				if err := t.renewLease(ctx, k, btx.Lease); err != nil {
					return err
				}
				r.TakenOver = true
			}
			r.Order, err = t.order(ctx, k.orderID)
			return err
		}
		o := btx.Order
		if err := t.orderable(ctx, o); err != nil {
			return err
		}
		if err := t.insertOrder(ctx, o); err != nil {
			return err
		}
		if err := t.putKey(ctx, btx.Key, o.ID, btx.Lease); err != nil {
			return err
		}
		r.Order, err = t.order(ctx, o.ID)
		return err
	})
	if err != nil {
		return tickets.BeginOrderResult{}, err
	}
	return r, nil
}

// orderable checks that order o may be begun: its hold exists and is o.UserID's
// (tickets.ErrNotFound), has no live order (*tickets.OrderExistsError) and is active by now
// (tickets.ErrHoldExpired); its order and payment IDs are free (tickets.ErrConflict).
func (t *tx) orderable(ctx context.Context, o tickets.Order) error {
	h, err := t.hold(ctx, o.HoldID)
	if err != nil {
		return err
	}
	if h.UserID != o.UserID {
		return tickets.ErrNotFound
	}
	if other, err := t.liveOrder(ctx, h.ID, ""); err != nil {
		return err
	} else if other != "" {
		return &tickets.OrderExistsError{OrderID: other}
	}
	if h.Status != tickets.HoldActive || !h.ExpiresAt.After(t.now) {
		return tickets.ErrHoldExpired
	}
	for _, q := range []struct{ query, id string }{
		{`SELECT 1 FROM orders WHERE id = ?`, o.ID},
		{`SELECT 1 FROM payments WHERE id = ?`, o.Payment.ID},
	} {
		if free, err := absent(ctx, t, q.query, q.id); err != nil {
			return err
		} else if !free {
			return tickets.ErrConflict
		}
	}
	return nil
}

// liveOrder returns the ID of the hold's pending or confirmed order other than except, or "".
func (t *tx) liveOrder(ctx context.Context, holdID, except string) (string, error) {
	var id string
	err := t.QueryRowContext(ctx, `
		SELECT id FROM orders WHERE hold_id = ? AND id <> ? AND status IN ('pending', 'confirmed')`,
		holdID, except).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// insertOrder stores o pending, with its hold's screening, seats, total and deadline, and its
// payment pending.
func (t *tx) insertOrder(ctx context.Context, o tickets.Order) error {
	if _, err := t.ExecContext(ctx, `
		INSERT INTO orders (id, user_id, session_id, hold_id, screening_id, seat_ids, amount, currency, status,
			payment_deadline, created_at, updated_at)
		SELECT :id, :user, :session, h.id, h.screening_id, h.seat_ids, h.amount, h.currency, 'pending',
			h.expires_at, :now, :now
		FROM holds h WHERE h.id = :hold`,
		sql.Named("id", o.ID), sql.Named("user", o.UserID), sql.Named("session", o.SessionID),
		sql.Named("hold", o.HoldID), sql.Named("now", t.ms())); err != nil {
		return err
	}
	_, err := t.ExecContext(ctx, `
		INSERT INTO payments (id, order_id, method, token, status, created_at, updated_at)
		VALUES (?, ?, ?, ?, 'pending', ?, ?)`,
		o.Payment.ID, o.ID, o.Payment.Method, o.Payment.Token, t.ms(), t.ms())
	return err
}
