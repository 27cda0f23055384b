package sqlite

import (
	"context"
	"database/sql"
	"time"

	"boxoffice/tickets"
)

// orderSelect reads orders with their payments; orders adds their tickets and refunds.
const orderSelect = `
	SELECT o.id, o.user_id, o.session_id, o.hold_id, o.screening_id, o.seat_ids, o.amount, o.currency,
		o.status, o.late_payment, o.payment_deadline, o.created_at, o.updated_at,
		p.id, p.method, p.token, p.status, p.provider_ref
	FROM orders o JOIN payments p ON p.order_id = o.id`

// Order returns an order with its payment, its tickets in seat order (an empty list before it
// is confirmed) and its refund (nil when it has none), or tickets.ErrNotFound.
func (s *Store) Order(ctx context.Context, id string) (tickets.Order, error) {
	var o tickets.Order
	err := s.read(ctx, func(t *tx) (err error) {
		o, err = t.order(ctx, id)
		return err
	})
	return o, err
}

// OrderByPayment returns the order a payment ID belongs to, as Order does, or
// tickets.ErrNotFound.
func (s *Store) OrderByPayment(ctx context.Context, paymentID string) (tickets.Order, error) {
	var o tickets.Order
	err := s.read(ctx, func(t *tx) error {
		list, err := t.orders(ctx, orderSelect+` WHERE p.id = ?`, paymentID)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			return tickets.ErrNotFound
		}
		o = list[0]
		return nil
	})
	return o, err
}

// Orders lists q.UserID's orders, as Order returns them, newest first: ordered by (CreatedAt,
// ID) descending, after (q.BeforeAt, q.BeforeID) when q.BeforeID is not empty, at most q.Limit.
// It returns an empty, non-nil slice when there are none, and FieldErrors when q.Limit is not
// positive.
func (s *Store) Orders(ctx context.Context, q tickets.OrderQuery) ([]tickets.Order, error) {
	if q.Limit <= 0 {
		return nil, tickets.FieldErrors{"limit": "must be positive"}
	}
	var out []tickets.Order
	err := s.read(ctx, func(t *tx) (err error) {
		out, err = t.orders(ctx, orderSelect+`
			WHERE o.user_id = :user AND (:before_id = '' OR (o.created_at, o.id) < (:before_at, :before_id))
			ORDER BY o.created_at DESC, o.id DESC LIMIT :limit`,
			sql.Named("user", q.UserID), sql.Named("before_id", q.BeforeID),
			sql.Named("before_at", q.BeforeAt.UnixMilli()), sql.Named("limit", q.Limit))
		return err
	})
	return out, err
}

// StalledOrders returns up to limit pending orders, oldest first (by CreatedAt, then ID), that
// the janitor must settle: those whose PaymentDeadline + grace is before now, and those whose
// idempotency key is still in flight with its lease ended (at or before now). It returns an
// empty, non-nil slice when there are none (or limit is not positive).
func (s *Store) StalledOrders(ctx context.Context, grace time.Duration, limit int) ([]tickets.Order, error) {
	if limit <= 0 {
		return []tickets.Order{}, nil
	}
	var out []tickets.Order
	err := s.read(ctx, func(t *tx) (err error) {
		out, err = t.orders(ctx, orderSelect+`
			WHERE o.status = 'pending' AND (o.payment_deadline + :grace < :now OR EXISTS (
				SELECT 1 FROM idempotency_keys k
				WHERE k.order_id = o.id AND k.status = 'in_flight' AND k.lease_until <= :now))
			ORDER BY o.created_at, o.id LIMIT :limit`,
			sql.Named("grace", grace.Milliseconds()), sql.Named("now", t.ms()), sql.Named("limit", limit))
		return err
	})
	return out, err
}

// order returns one order with its payment, tickets and refund, or tickets.ErrNotFound.
func (t *tx) order(ctx context.Context, id string) (tickets.Order, error) {
	list, err := t.orders(ctx, orderSelect+` WHERE o.id = ?`, id)
	if err != nil {
		return tickets.Order{}, err
	}
	if len(list) == 0 {
		return tickets.Order{}, tickets.ErrNotFound
	}
	return list[0], nil
}

// orders runs an orderSelect query and adds each order's tickets, in seat order (an empty,
// non-nil list when it has none), and its refund (nil when it has none).
func (t *tx) orders(ctx context.Context, query string, args ...any) ([]tickets.Order, error) {
	rows, err := t.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	out := []tickets.Order{}
	at := map[string]int{}
	var ids []string
	for rows.Next() {
		var o tickets.Order
		var seats string
		var deadline, created, updated int64
		if err := rows.Scan(&o.ID, &o.UserID, &o.SessionID, &o.HoldID, &o.ScreeningID, &seats,
			&o.Total.Amount, &o.Total.Currency, &o.Status, &o.LatePayment, &deadline, &created, &updated,
			&o.Payment.ID, &o.Payment.Method, &o.Payment.Token, &o.Payment.Status,
			&o.Payment.ProviderRef); err != nil {
			rows.Close()
			return nil, err
		}
		if o.SeatIDs, err = parseList(seats); err != nil {
			rows.Close()
			return nil, err
		}
		o.PaymentDeadline, o.CreatedAt, o.UpdatedAt = fromMillis(deadline), fromMillis(created), fromMillis(updated)
		o.ServerTime = t.now
		o.Tickets = []tickets.Ticket{}
		at[o.ID] = len(out)
		ids = append(ids, o.ID)
		out = append(out, o)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return out, nil
	}
	list := jsonList(ids)
	rows, err = t.QueryContext(ctx, `
		SELECT order_id, id, seat_id, code, status FROM tickets
		WHERE order_id IN (SELECT value FROM json_each(?)) ORDER BY order_id, seat_id`, list)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var orderID string
		var tk tickets.Ticket
		if err := rows.Scan(&orderID, &tk.ID, &tk.SeatID, &tk.Code, &tk.Status); err != nil {
			rows.Close()
			return nil, err
		}
		out[at[orderID]].Tickets = append(out[at[orderID]].Tickets, tk)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	refunds, err := t.refunds(ctx, refundSelect+` WHERE order_id IN (SELECT value FROM json_each(?))`, list)
	if err != nil {
		return nil, err
	}
	for _, rf := range refunds {
		out[at[rf.OrderID]].Refund = &rf
	}
	return out, nil
}
