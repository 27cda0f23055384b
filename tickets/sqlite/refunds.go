package sqlite

import (
	"context"
	"time"

	"boxoffice/tickets"
)

// CancelOrder cancels userID's confirmed order and refunds it, in one transaction: its tickets
// become tickets.TicketVoid, its seats free (taking a new availability version), and a refund
// (tickets.RefundCustomer, tickets.RefundPending) is recorded. It returns the order as Order
// does, afterwards. tickets.ErrNotFound when the order does not exist or is another user's; a
// cancelled order is returned unchanged (whenever its screening starts);
// tickets.ErrOrderNotCancellable for any other status; tickets.ErrCancellationClosed when the
// screening starts at or before startsAfter.
func (s *Store) CancelOrder(ctx context.Context, orderID, userID string, startsAfter time.Time) (tickets.Order, error) {
	var o tickets.Order
	err := s.write(ctx, func(t *tx) (err error) {
		if o, err = t.order(ctx, orderID); err != nil {
			return err
		}
		switch {
		case o.UserID != userID:
			return tickets.ErrNotFound
		case o.Status == tickets.OrderCancelled:
			return nil
		case o.Status != tickets.OrderConfirmed:
			return tickets.ErrOrderNotCancellable
		}
		var start int64
		if err := t.QueryRowContext(ctx, `SELECT starts_at FROM screenings WHERE id = ?`,
			o.ScreeningID).Scan(&start); err != nil {
			return err
		}
		if start <= startsAfter.UnixMilli() {
			return tickets.ErrCancellationClosed
		}
		if err := t.cancelOrders(ctx, []string{o.ID}, tickets.RefundCustomer); err != nil {
			return err
		}
		o, err = t.order(ctx, o.ID)
		return err
	})
	if err != nil {
		return tickets.Order{}, err
	}
	return o, nil
}

// cancelOrders cancels confirmed orders (ids, sorted): their seats become free (taking the
// transaction's availability version), their tickets void, and each gets a pending refund with
// reason. Orders among ids that are not confirmed are left as they are.
func (t *tx) cancelOrders(ctx context.Context, ids []string, reason string) error {
	if len(ids) == 0 {
		return nil
	}
	ids, err := t.idList(ctx, `
		SELECT id FROM orders WHERE status = 'confirmed' AND id IN (SELECT value FROM json_each(?)) ORDER BY id`,
		jsonList(ids))
	if err != nil || len(ids) == 0 {
		return err
	}
	list := jsonList(ids)
	if _, err := t.ExecContext(ctx, `
		UPDATE seat_claims SET state = 'free', hold_id = NULL, order_id = NULL, expires_at = NULL, updated_at = ?
		WHERE state = 'sold' AND order_id IN (SELECT value FROM json_each(?))`, t.ms(), list); err != nil {
		return err
	}
	if _, err := t.ExecContext(ctx, `
		UPDATE tickets SET status = 'void' WHERE status = 'valid' AND order_id IN (SELECT value FROM json_each(?))`,
		list); err != nil {
		return err
	}
	if _, err := t.ExecContext(ctx, `
		UPDATE orders SET status = 'cancelled', updated_at = ? WHERE id IN (SELECT value FROM json_each(?))`,
		t.ms(), list); err != nil {
		return err
	}
	for _, id := range ids {
		if err := t.recordRefund(ctx, id, reason); err != nil {
			return err
		}
	}
	return nil
}

// recordRefund records a pending refund of an order's whole payment, with ID
// tickets.RefundID(orderID).
func (t *tx) recordRefund(ctx context.Context, orderID, reason string) error {
	_, err := t.ExecContext(ctx, `
		INSERT INTO refunds (id, order_id, screening_id, payment_id, method, amount, currency, reason, status,
			created_at)
		SELECT ?, o.id, o.screening_id, p.id, p.method, o.amount, o.currency, ?, 'pending', ?
		FROM orders o JOIN payments p ON p.order_id = o.id WHERE o.id = ?`,
		tickets.RefundID(orderID), reason, t.ms(), orderID)
	return err
}

// PendingRefunds returns up to limit refunds that are still tickets.RefundPending and were
// created at least minAge ago, oldest first (by CreatedAt, then ID). It returns an empty,
// non-nil slice when there are none (or limit is not positive).
func (s *Store) PendingRefunds(ctx context.Context, minAge time.Duration, limit int) ([]tickets.Refund, error) {
	if limit <= 0 {
		return []tickets.Refund{}, nil
	}
	var out []tickets.Refund
	err := s.read(ctx, func(t *tx) (err error) {
		out, err = t.refunds(ctx, refundSelect+`
			WHERE status = 'pending' AND created_at <= ? ORDER BY created_at, id LIMIT ?`,
			t.ms()-minAge.Milliseconds(), limit)
		return err
	})
	return out, err
}

// RefundSucceeded records that the provider returned a refund's money: the refund becomes
// tickets.RefundSucceeded with providerRef, completed now. A refund that already succeeded is
// left as it is, without error. tickets.ErrNotFound when the refund does not exist.
func (s *Store) RefundSucceeded(ctx context.Context, refundID, providerRef string) error {
	return s.write(ctx, func(t *tx) error {
		if missing, err := absent(ctx, t, `SELECT 1 FROM refunds WHERE id = ?`, refundID); err != nil {
			return err
		} else if missing {
			return tickets.ErrNotFound
		}
		_, err := t.ExecContext(ctx, `
			UPDATE refunds SET status = 'succeeded', provider_ref = ?, completed_at = ?
			WHERE id = ? AND status = 'pending'`, providerRef, t.ms(), refundID)
		return err
	})
}

// Refunds lists a screening's refunds, oldest first (by CreatedAt, then ID); an empty, non-nil
// slice when it has none. tickets.ErrNotFound when the screening does not exist.
func (s *Store) Refunds(ctx context.Context, screeningID string) ([]tickets.Refund, error) {
	var out []tickets.Refund
	err := s.read(ctx, func(t *tx) (err error) {
		if missing, err := absent(ctx, t, `SELECT 1 FROM screenings WHERE id = ?`, screeningID); err != nil {
			return err
		} else if missing {
			return tickets.ErrNotFound
		}
		out, err = t.refunds(ctx, refundSelect+` WHERE screening_id = ? ORDER BY created_at, id`, screeningID)
		return err
	})
	return out, err
}

const refundSelect = `SELECT id, order_id, screening_id, payment_id, method, amount, currency, reason, status,
	provider_ref, created_at, completed_at FROM refunds`

// refunds runs a refundSelect query; an empty, non-nil slice when it selects none.
func (t *tx) refunds(ctx context.Context, query string, args ...any) ([]tickets.Refund, error) {
	rows, err := t.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []tickets.Refund{}
	for rows.Next() {
		var rf tickets.Refund
		var created int64
		var completed *int64
		if err := rows.Scan(&rf.ID, &rf.OrderID, &rf.ScreeningID, &rf.PaymentID, &rf.Method, &rf.Amount.Amount,
			&rf.Amount.Currency, &rf.Reason, &rf.Status, &rf.ProviderRef, &created, &completed); err != nil {
			return nil, err
		}
		rf.CreatedAt = fromMillis(created)
		if completed != nil {
			rf.CompletedAt = fromMillis(*completed)
		}
		out = append(out, rf)
	}
	return out, rows.Err()
}
