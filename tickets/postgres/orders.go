package postgres

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"boxoffice/tickets"
)

// BeginOrder runs tickets.OrderStore.BeginOrder in one round trip: begin_order() (migrations)
// is one statement, hence one transaction. Requests with the same key take turns on an advisory
// lock; orders for the same hold on the hold's row. A taken-over order is read back (a second
// round trip).
func (s *Store) BeginOrder(ctx context.Context, tx tickets.BeginOrderTx) (tickets.BeginOrderResult, error) {
	var (
		res                   tickets.BeginOrderResult
		outcome, orderID      string
		retryAfter            *float64
		replyStatus           *int32
		replyType, replyLoc   *string
		replyBody             []byte
		screeningID, currency *string
		seatIDs               []string
		amount                *int64
		deadline, createdAt   *time.Time
	)
	o := tx.Order
	err := s.retry(ctx, func() error {
		return s.pool.QueryRow(ctx, `
			SELECT outcome, coalesce(order_id, ''), extract(epoch FROM retry_after)::float8, reply_status,
				reply_content_type, reply_location, reply_body, screening_id, seat_ids, amount, currency,
				payment_deadline, created_at
			FROM begin_order($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			tx.Key.UserID, tx.Key.Key, tx.Key.Fingerprint, tx.Lease, tickets.KeyRetention, o.ID,
			o.SessionID, o.HoldID, o.Payment.ID, o.Payment.Method, o.Payment.Token).
			Scan(&outcome, &orderID, &retryAfter, &replyStatus, &replyType, &replyLoc, &replyBody,
				&screeningID, &seatIDs, &amount, &currency, &deadline, &createdAt)
	})
	if code, constraint := pgCode(err); code == codeUnique && (constraint == "orders_pkey" || constraint == "payments_pkey") {
		return res, tickets.ErrConflict
	}
	if err != nil {
		return res, s.fail(err)
	}
	switch outcome {
	case "new":
		o.Status, o.Payment.Status = tickets.OrderPending, tickets.PaymentPending
		o.ScreeningID, o.SeatIDs = *screeningID, seatIDs
		o.Total = tickets.Money{Amount: *amount, Currency: *currency}
		o.PaymentDeadline, o.CreatedAt = deadline.UTC(), createdAt.UTC()
		o.UpdatedAt, o.ServerTime, o.Tickets = o.CreatedAt, o.CreatedAt, []tickets.Ticket{}
		res.Order = o
		return res, nil
	case "replay":
		res.Replay = &tickets.Reply{Status: int(*replyStatus), ContentType: deref(replyType),
			Location: deref(replyLoc), Body: replyBody}
		return res, nil
	case "reused":
		return res, tickets.ErrIdempotencyKeyReused
	case "in_flight":
		secs := 1.0
		if retryAfter != nil {
			secs = max(1, math.Ceil(*retryAfter))
		}
		return res, &tickets.InFlightError{RetryAfter: time.Duration(secs) * time.Second}
	case "taken_over":
		res.Order, err = s.Order(ctx, orderID)
		res.TakenOver = true
		return res, err
	case "not_found":
		return res, tickets.ErrNotFound
	case "order_exists":
		return res, &tickets.OrderExistsError{OrderID: orderID}
	case "hold_expired":
		return res, tickets.ErrHoldExpired
	}
	return res, errors.New("postgres: begin_order returned " + outcome)
}

// FinishOrder runs tickets.OrderStore.FinishOrder in two round trips: BEGIN, finish_order()
// (migrations), and reads of the order and its key (locked); then, when the key is in flight,
// the reply rendered for the order is stored with it, and COMMIT. A deadlock runs it again, up
// to three times in all.
func (s *Store) FinishOrder(ctx context.Context, tx tickets.FinishOrderTx) (tickets.FinishOrderResult, error) {
	var res tickets.FinishOrderResult
	err := s.retry(ctx, func() (err error) {
		res, err = s.finishOrder(ctx, tx)
		return err
	})
	return res, err
}

func (s *Store) finishOrder(ctx context.Context, tx tickets.FinishOrderTx) (tickets.FinishOrderResult, error) {
	c, err := s.acquire(ctx)
	if err != nil {
		return tickets.FinishOrderResult{}, err
	}
	defer c.release()

	ids := make([]string, len(tx.Tickets))
	seats := make([]string, len(tx.Tickets))
	codes := make([]string, len(tx.Tickets))
	for i, t := range tx.Tickets {
		ids[i], seats[i], codes[i] = t.ID, t.SeatID, t.Code
	}
	var (
		res       tickets.FinishOrderResult
		found     bool
		keyStatus string
		stored    tickets.Reply
		replyType *string
		replyLoc  *string
		status    *int32
	)
	b := newBatch()
	b.Queue(`SELECT finish_order($1, $2, $3, $4, $5, $6)`, tx.OrderID, tx.Payment.Status,
		tx.Payment.ProviderRef, ids, seats, codes)
	s.queueOrder(b, tx.OrderID, &res.Order, &found)
	b.Queue(`SELECT status, reply_status, reply_content_type, reply_location, reply_body
		FROM idempotency_keys WHERE order_id = $1 FOR UPDATE`, tx.OrderID).QueryRow(func(row pgx.Row) error {
		return noRowOK(row.Scan(&keyStatus, &status, &replyType, &replyLoc, &stored.Body))
	})
	err = c.send(ctx, b)
	if code, _ := pgCode(err); code == codeNoOrder {
		return res, tickets.ErrNotFound
	}
	if err != nil {
		return res, err
	}
	if !found {
		return res, tickets.ErrNotFound
	}
	b = &pgx.Batch{}
	switch {
	case keyStatus == "in_flight" && tx.Reply != nil:
		r := tx.Reply(res.Order)
		b.Queue(`UPDATE idempotency_keys SET status = 'completed', reply_status = $2,
			reply_content_type = $3, reply_location = $4, reply_body = $5, completed_at = now()
			WHERE order_id = $1 AND status = 'in_flight'`, tx.OrderID, r.Status, r.ContentType, r.Location, r.Body)
		res.Reply = &r
	case keyStatus == "completed" && status != nil:
		stored.Status, stored.ContentType, stored.Location = int(*status), deref(replyType), deref(replyLoc)
		res.Reply = &stored
	}
	b.Queue("COMMIT")
	if err := c.send(ctx, b); err != nil {
		return tickets.FinishOrderResult{}, err
	}
	return res, nil
}

// CancelOrder runs tickets.OrderStore.CancelOrder in one round trip: cancel_order() (migrations)
// and the read of the order afterwards, in one implicit transaction.
func (s *Store) CancelOrder(ctx context.Context, orderID, userID string, startsAfter time.Time) (tickets.Order, error) {
	var (
		ord     tickets.Order
		found   bool
		outcome string
	)
	err := s.retry(ctx, func() error {
		b := &pgx.Batch{}
		b.Queue(`SELECT cancel_order($1, $2, $3)`, orderID, userID, startsAfter).
			QueryRow(func(row pgx.Row) error { return row.Scan(&outcome) })
		s.queueOrder(b, orderID, &ord, &found)
		return s.pool.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return tickets.Order{}, s.fail(err)
	}
	switch outcome {
	case "ok", "already":
		if !found {
			return tickets.Order{}, tickets.ErrNotFound
		}
		return ord, nil
	case "not_found":
		return tickets.Order{}, tickets.ErrNotFound
	case "not_cancellable":
		return tickets.Order{}, tickets.ErrOrderNotCancellable
	case "closed":
		return tickets.Order{}, tickets.ErrCancellationClosed
	}
	return tickets.Order{}, errors.New("postgres: cancel_order returned " + outcome)
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
