package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"boxoffice/tickets"
)

// orderSelect reads orders with their payment and refund (NULL refund columns when none); a
// WHERE clause follows.
const orderSelect = `
	SELECT o.id, o.user_id, o.session_id, o.hold_id, o.screening_id, o.seat_ids, o.amount, o.currency,
		o.status, o.late_payment, o.payment_deadline, o.created_at, o.updated_at,
		p.id, p.method, p.token, p.status, p.provider_ref,
		r.id, r.payment_id, r.method, r.amount, r.currency, r.reason, r.status, r.provider_ref,
		r.created_at, r.completed_at, now()
	FROM orders o JOIN payments p ON p.order_id = o.id LEFT JOIN refunds r ON r.order_id = o.id `

const ticketSelect = `SELECT order_id, id, seat_id, code, status FROM tickets WHERE order_id = ANY ($1)
	ORDER BY order_id, seat_id`

func scanOrder(row pgx.CollectableRow) (tickets.Order, error) {
	var (
		o                                        tickets.Order
		rID, rPay, rMethod, rCur, rReason, rStat *string
		rRef                                     *string
		rAmount                                  *int64
		rCreated, rDone                          *time.Time
	)
	err := row.Scan(&o.ID, &o.UserID, &o.SessionID, &o.HoldID, &o.ScreeningID, &o.SeatIDs, &o.Total.Amount,
		&o.Total.Currency, &o.Status, &o.LatePayment, &o.PaymentDeadline, &o.CreatedAt, &o.UpdatedAt,
		&o.Payment.ID, &o.Payment.Method, &o.Payment.Token, &o.Payment.Status, &o.Payment.ProviderRef,
		&rID, &rPay, &rMethod, &rAmount, &rCur, &rReason, &rStat, &rRef, &rCreated, &rDone, &o.ServerTime)
	if err != nil {
		return o, err
	}
	o.PaymentDeadline, o.CreatedAt, o.UpdatedAt = o.PaymentDeadline.UTC(), o.CreatedAt.UTC(), o.UpdatedAt.UTC()
	o.ServerTime = o.ServerTime.UTC()
	o.Tickets = []tickets.Ticket{}
	if rID != nil {
		o.Refund = &tickets.Refund{ID: *rID, OrderID: o.ID, ScreeningID: o.ScreeningID, PaymentID: *rPay,
			Method: *rMethod, Amount: tickets.Money{Amount: *rAmount, Currency: *rCur}, Reason: *rReason,
			Status: *rStat, ProviderRef: deref(rRef), CreatedAt: rCreated.UTC()}
		if rDone != nil {
			o.Refund.CompletedAt = rDone.UTC()
		}
	}
	return o, nil
}

// queueOrder queues the reads of one order and its tickets into b, filling *o and *found.
func (s *Store) queueOrder(b *pgx.Batch, id string, o *tickets.Order, found *bool) {
	b.Queue(orderSelect+`WHERE o.id = $1`, id).Query(func(rows pgx.Rows) error {
		list, err := pgx.CollectRows(rows, scanOrder)
		if err == nil && len(list) == 1 {
			*o, *found = list[0], true
		}
		return err
	})
	b.Queue(ticketSelect, []string{id}).Query(func(rows pgx.Rows) error {
		return addTickets(rows, []*tickets.Order{o})
	})
}

// addTickets appends the rows of ticketSelect to the orders they belong to.
func addTickets(rows pgx.Rows, orders []*tickets.Order) error {
	byID := make(map[string]*tickets.Order, len(orders))
	for _, o := range orders {
		byID[o.ID] = o
	}
	var orderID string
	var t tickets.Ticket
	_, err := pgx.ForEachRow(rows, []any{&orderID, &t.ID, &t.SeatID, &t.Code, &t.Status}, func() error {
		if o := byID[orderID]; o != nil {
			o.Tickets = append(o.Tickets, t)
		}
		return nil
	})
	return err
}

// Order returns an order with its payment, tickets and refund (one round trip), or
// tickets.ErrNotFound.
func (s *Store) Order(ctx context.Context, id string) (tickets.Order, error) {
	var o tickets.Order
	var found bool
	b := &pgx.Batch{}
	s.queueOrder(b, id, &o, &found)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return tickets.Order{}, s.fail(err)
	}
	if !found {
		return tickets.Order{}, tickets.ErrNotFound
	}
	return o, nil
}

// OrderByPayment returns the order a payment belongs to, or tickets.ErrNotFound.
func (s *Store) OrderByPayment(ctx context.Context, paymentID string) (tickets.Order, error) {
	list, err := s.orders(ctx, orderSelect+`WHERE p.id = $1`, paymentID)
	if err != nil {
		return tickets.Order{}, err
	}
	if len(list) == 0 {
		return tickets.Order{}, tickets.ErrNotFound
	}
	return list[0], nil
}

// Orders lists a user's orders newest first (by created_at, then ID, descending), after
// (BeforeAt, BeforeID) when BeforeID is set.
func (s *Store) Orders(ctx context.Context, q tickets.OrderQuery) ([]tickets.Order, error) {
	if q.BeforeID == "" {
		return s.orders(ctx, orderSelect+`WHERE o.user_id = $1
			ORDER BY o.created_at DESC, o.id DESC LIMIT $2`, q.UserID, limitArg(q.Limit))
	}
	return s.orders(ctx, orderSelect+`WHERE o.user_id = $1 AND (o.created_at, o.id) < ($3, $4)
		ORDER BY o.created_at DESC, o.id DESC LIMIT $2`, q.UserID, limitArg(q.Limit), q.BeforeAt, q.BeforeID)
}

// StalledOrders returns pending orders past their deadline plus grace, or whose key's lease
// ended in flight, oldest first.
func (s *Store) StalledOrders(ctx context.Context, grace time.Duration, limit int) ([]tickets.Order, error) {
	return s.orders(ctx, orderSelect+`WHERE o.status = 'pending' AND (o.payment_deadline + $1 < now()
			OR EXISTS (SELECT 1 FROM idempotency_keys k WHERE k.order_id = o.id AND k.status = 'in_flight'
				AND k.lease_until <= now()))
		ORDER BY o.created_at, o.id LIMIT $2`, grace, limitArg(limit))
}

// orders runs an orderSelect query and reads the tickets of the orders it found (a second
// round trip when there are any).
func (s *Store) orders(ctx context.Context, sql string, args ...any) ([]tickets.Order, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, s.fail(err)
	}
	list, err := pgx.CollectRows(rows, scanOrder)
	if err != nil {
		return nil, s.fail(err)
	}
	if len(list) == 0 {
		return []tickets.Order{}, nil
	}
	ids := make([]string, len(list))
	ptrs := make([]*tickets.Order, len(list))
	for i := range list {
		ids[i], ptrs[i] = list[i].ID, &list[i]
	}
	rows, err = s.pool.Query(ctx, ticketSelect, ids)
	if err != nil {
		return nil, s.fail(err)
	}
	if err := addTickets(rows, ptrs); err != nil {
		return nil, s.fail(err)
	}
	return list, nil
}

const refundSelect = `SELECT id, order_id, screening_id, payment_id, method, amount, currency, reason, status,
	provider_ref, created_at, completed_at FROM refunds `

func scanRefund(row pgx.CollectableRow) (tickets.Refund, error) {
	var r tickets.Refund
	var done *time.Time
	err := row.Scan(&r.ID, &r.OrderID, &r.ScreeningID, &r.PaymentID, &r.Method, &r.Amount.Amount,
		&r.Amount.Currency, &r.Reason, &r.Status, &r.ProviderRef, &r.CreatedAt, &done)
	r.CreatedAt = r.CreatedAt.UTC()
	if done != nil {
		r.CompletedAt = done.UTC()
	}
	return r, err
}

// PendingRefunds returns refunds the provider has not confirmed, created at least minAge ago,
// oldest first.
func (s *Store) PendingRefunds(ctx context.Context, minAge time.Duration, limit int) ([]tickets.Refund, error) {
	return s.refunds(ctx, refundSelect+`WHERE status = 'pending' AND created_at <= now() - $1::interval
		ORDER BY created_at, id LIMIT $2`, minAge, limitArg(limit))
}

// RefundSucceeded records a refund as returned by the provider; again is not an error.
// tickets.ErrNotFound when the refund does not exist.
func (s *Store) RefundSucceeded(ctx context.Context, refundID, providerRef string) error {
	var found bool
	b := &pgx.Batch{}
	b.Queue(`UPDATE refunds SET status = 'succeeded', provider_ref = $2, completed_at = now()
		WHERE id = $1 AND status = 'pending'`, refundID, providerRef)
	b.Queue(`SELECT true FROM refunds WHERE id = $1`, refundID).
		QueryRow(func(row pgx.Row) error { return noRowOK(row.Scan(&found)) })
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return s.fail(err)
	}
	if !found {
		return tickets.ErrNotFound
	}
	return nil
}

// Refunds lists a screening's refunds, oldest first; tickets.ErrNotFound when the screening
// does not exist.
func (s *Store) Refunds(ctx context.Context, screeningID string) ([]tickets.Refund, error) {
	list, err := s.refunds(ctx, refundSelect+`WHERE screening_id = $1 ORDER BY created_at, id`, screeningID)
	if err != nil || len(list) > 0 {
		return list, err
	}
	if _, err := s.Screening(ctx, screeningID); err != nil {
		return nil, err
	}
	return list, nil
}

func (s *Store) refunds(ctx context.Context, sql string, args ...any) ([]tickets.Refund, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, s.fail(err)
	}
	list, err := pgx.CollectRows(rows, scanRefund)
	if err != nil {
		return nil, s.fail(err)
	}
	if list == nil {
		list = []tickets.Refund{}
	}
	return list, nil
}
