package sqlite

import (
	"context"
	"database/sql"
	"errors"

	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"

	"boxoffice/tickets"
)

// FinishOrder records what the provider said about an order's payment, in one BEGIN IMMEDIATE
// transaction, as tickets.FinishOrderTx describes, then completes the order's idempotency key
// with ftx.Reply (called inside the transaction, on the store's only connection: it must not
// call the store) if the key is in flight. It returns the order as Order does, afterwards, and
// the key's stored reply (nil while the key is in flight, or when the order has no key).
//
// A success that comes after the order's hold ended (late) claims the seats again when the
// screening is scheduled and has not started and each seat is free, held past its deadline or
// held by the order's hold; a success for an order whose hold already has another pending or
// confirmed order (an earlier attempt that was declined, then paid after all) is refunded.
//
// tickets.ErrNotFound when the order does not exist; FieldErrors for an unknown payment status,
// or when the order is to be confirmed and ftx.Tickets lacks a ticket (with an ID and a code)
// for one of its seats; tickets.ErrConflict when a ticket ID or code is taken.
func (s *Store) FinishOrder(ctx context.Context, ftx tickets.FinishOrderTx) (tickets.FinishOrderResult, error) {
	var res tickets.FinishOrderResult
	err := s.write(ctx, func(t *tx) error {
		o, err := t.order(ctx, ftx.OrderID)
		if err != nil {
			return err
		}
		if changed, err := t.recordPayment(ctx, o, ftx); err != nil {
			return err
		} else if changed {
			if o, err = t.order(ctx, o.ID); err != nil {
				return err
			}
		}
		res = tickets.FinishOrderResult{Order: o}
		res.Reply, err = t.completeKey(ctx, o, ftx.Reply)
		return err
	})
	if err != nil {
		return tickets.FinishOrderResult{}, err
	}
	return res, nil
}

// recordPayment applies a payment outcome to order o (as read in this transaction); it reports
// whether it changed anything.
func (t *tx) recordPayment(ctx context.Context, o tickets.Order, ftx tickets.FinishOrderTx) (bool, error) {
	p := ftx.Payment
	switch p.Status {
	case "":
		return false, nil
	case tickets.PaymentPending:
		if o.Payment.Status != tickets.PaymentPending || p.ProviderRef == "" || p.ProviderRef == o.Payment.ProviderRef {
			return false, nil
		}
		return true, t.setPayment(ctx, o.ID, p)
	case tickets.PaymentDeclined, tickets.PaymentCancelled:
		if o.Status != tickets.OrderPending {
			return false, nil
		}
		status := tickets.OrderDeclined
		if p.Status == tickets.PaymentCancelled {
			status = tickets.OrderExpired
		}
		if err := t.setPayment(ctx, o.ID, p); err != nil {
			return false, err
		}
		return true, t.setOrder(ctx, o.ID, status, "")
	case tickets.PaymentSucceeded:
		if o.Payment.Status == tickets.PaymentSucceeded {
			return false, nil
		}
		if err := t.setPayment(ctx, o.ID, p); err != nil {
			return false, err
		}
		return true, t.paid(ctx, o, ftx.Tickets)
	}
	return false, tickets.FieldErrors{"payment.status": "must be pending, succeeded, declined or cancelled"}
}

// paid settles order o whose payment has just succeeded: its seats are sold to it (the hold
// confirmed when it was still active: in time; otherwise claimed again: tickets.LateReclaimed)
// or, when they cannot be, it is refunded (tickets.LateRefunded).
func (t *tx) paid(ctx context.Context, o tickets.Order, tks []tickets.Ticket) error {
	var holdStatus, screeningStatus string
	var holdExpires, start int64
	if err := t.QueryRowContext(ctx, `
		SELECT h.status, h.expires_at, s.status, s.starts_at FROM holds h JOIN screenings s ON s.id = ?
		WHERE h.id = ?`, o.ScreeningID, o.HoldID).Scan(&holdStatus, &holdExpires, &screeningStatus, &start); err != nil {
		return err
	}
	scheduled := screeningStatus == tickets.ScreeningScheduled
	inTime := holdStatus == tickets.HoldActive && holdExpires > t.ms() && scheduled
	sell := inTime || scheduled && t.ms() < start
	if sell {
		other, err := t.liveOrder(ctx, o.HoldID, o.ID)
		if err != nil {
			return err
		}
		lost, err := t.idList(ctx, `
			SELECT c.seat_id FROM seat_claims c WHERE c.screening_id = :screening
				AND c.seat_id IN (SELECT value FROM json_each(:seats)) AND `+taken+`
				AND NOT (c.state = 'held' AND c.hold_id = :hold)`,
			sql.Named("screening", o.ScreeningID), sql.Named("seats", jsonList(o.SeatIDs)),
			sql.Named("hold", o.HoldID), sql.Named("now", t.ms()))
		if err != nil {
			return err
		}
		sell = other == "" && len(lost) == 0
	}
	if !sell {
		if err := t.setOrder(ctx, o.ID, tickets.OrderRefunded, tickets.LateRefunded); err != nil {
			return err
		}
		return t.recordRefund(ctx, o.ID, tickets.RefundLate)
	}
	late := tickets.LateReclaimed
	if inTime {
		late = ""
	}
	if err := t.setOrder(ctx, o.ID, tickets.OrderConfirmed, late); err != nil {
		return err
	}
	if err := t.sellSeats(ctx, o); err != nil {
		return err
	}
	if inTime {
		if err := t.finishHolds(ctx, []string{o.HoldID}, tickets.HoldConfirmed); err != nil {
			return err
		}
	}
	return t.issueTickets(ctx, o, tks)
}

// sellSeats sells order o's seats to it, whatever their claims, keeping o's hold on them and
// taking the transaction's availability version; the caller checked that they may be sold.
func (t *tx) sellSeats(ctx context.Context, o tickets.Order) error {
	_, err := t.ExecContext(ctx, `
		INSERT INTO seat_claims (screening_id, seat_id, state, hold_id, order_id, expires_at, version, updated_at)
		SELECT :screening, j.value, 'sold', :hold, :order, NULL, 0, :now
		FROM json_each(:seats) j WHERE true
		ON CONFLICT (screening_id, seat_id) DO UPDATE SET state = 'sold', hold_id = excluded.hold_id,
			order_id = excluded.order_id, expires_at = NULL, updated_at = excluded.updated_at`,
		sql.Named("screening", o.ScreeningID), sql.Named("hold", o.HoldID), sql.Named("order", o.ID),
		sql.Named("now", t.ms()), sql.Named("seats", jsonList(o.SeatIDs)))
	return err
}

// issueTickets stores order o's tickets, one per seat: for each seat the ticket of tks that
// names it (a ticket naming no seat stands for the seat at its position).
func (t *tx) issueTickets(ctx context.Context, o tickets.Order, tks []tickets.Ticket) error {
	bySeat := map[string]tickets.Ticket{}
	for i, tk := range tks {
		if tk.SeatID == "" && i < len(o.SeatIDs) {
			tk.SeatID = o.SeatIDs[i]
		}
		bySeat[tk.SeatID] = tk
	}
	for _, seat := range o.SeatIDs {
		tk, ok := bySeat[seat]
		if !ok || tk.ID == "" || tk.Code == "" {
			return tickets.FieldErrors{"tickets": "need a ticket with an ID and a code for seat " + seat}
		}
		if _, err := t.ExecContext(ctx, `
			INSERT INTO tickets (id, order_id, screening_id, seat_id, code, status, created_at)
			VALUES (?, ?, ?, ?, ?, 'valid', ?)`, tk.ID, o.ID, o.ScreeningID, seat, tk.Code, t.ms()); err != nil {
			if uniqueViolation(err) {
				return tickets.ErrConflict
			}
			return err
		}
	}
	return nil
}

// setPayment records a payment's status, and the provider's reference when p has one.
func (t *tx) setPayment(ctx context.Context, orderID string, p tickets.Payment) error {
	_, err := t.ExecContext(ctx, `
		UPDATE payments SET status = ?, provider_ref = CASE WHEN ? = '' THEN provider_ref ELSE ? END,
			updated_at = ?
		WHERE order_id = ?`, p.Status, p.ProviderRef, p.ProviderRef, t.ms(), orderID)
	return err
}

// setOrder sets an order's status and late-payment outcome.
func (t *tx) setOrder(ctx context.Context, id, status, late string) error {
	_, err := t.ExecContext(ctx, `UPDATE orders SET status = ?, late_payment = ?, updated_at = ? WHERE id = ?`,
		status, late, t.ms(), id)
	return err
}

// uniqueViolation reports whether err is a UNIQUE or PRIMARY KEY constraint failure.
func uniqueViolation(err error) bool {
	var se *sqlite3.Error
	return errors.As(err, &se) &&
		(se.Code() == sqlite3lib.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3lib.SQLITE_CONSTRAINT_PRIMARYKEY)
}
