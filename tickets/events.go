package tickets

import (
	"context"

	"boxoffice/audit"
)

// Orders' audit events: the money of an order moved (audit.OrderPaid, OrderRefunded,
// OrderCancelled), recorded once by the call whose transaction moved it. A store reads an
// order back in the transaction that changed it, so that call sees UpdatedAt equal to
// ServerTime (the transaction's clock); any other call — a retry, a replay, a webhook or a
// janitor round racing it — sees an older UpdatedAt, or the status it read before, and records
// nothing. Events from the janitor or a webhook have no request circumstances.

// changedHere reports whether o, as a store call returned it, was changed by that call's
// transaction.
func changedHere(o Order) bool { return !o.UpdatedAt.IsZero() && o.UpdatedAt.Equal(o.ServerTime) }

// recordSettled records what recording a payment did to an order: paid (reason late_payment
// when its seats were claimed again after its hold ended), refunded (paid too late, the seats
// gone), or cancelled without payment (payment_failed: declined; expired: cancelled at the
// provider past its deadline). before is the order as read before the payment was recorded.
func (s *Service) recordSettled(ctx context.Context, before, after Order) {
	if s.cfg.Audit == nil || after.Status == before.Status || !changedHere(after) {
		return
	}
	e := audit.Event{UserID: after.UserID, SessionID: after.SessionID, Target: after.ID}
	switch after.Status {
	case OrderConfirmed:
		e.Type = audit.OrderPaid
		if after.LatePayment == LateReclaimed {
			e.Reason = "late_payment"
		}
	case OrderRefunded:
		e.Type, e.Reason = audit.OrderRefunded, "late_payment"
	case OrderDeclined:
		e.Type, e.Outcome, e.Reason = audit.OrderCancelled, audit.Failure, "payment_failed"
	case OrderExpired:
		e.Type, e.Outcome, e.Reason = audit.OrderCancelled, audit.Failure, "expired"
	default:
		return
	}
	s.cfg.Audit.Record(ctx, e)
}

// recordCancelled records a buyer's cancellation (order_cancelled, reason buyer) by session
// sid, when this call made it.
func (s *Service) recordCancelled(ctx context.Context, sid string, o Order) {
	if s.cfg.Audit == nil || o.Status != OrderCancelled || !changedHere(o) {
		return
	}
	s.cfg.Audit.Record(ctx, audit.Event{Type: audit.OrderCancelled, Reason: "buyer", UserID: o.UserID,
		SessionID: sid, Target: o.ID})
}

// recordScreeningCancelled records the cancellation of every order a screening's cancellation
// refunded (order_cancelled, reason screening_cancelled). The caller saw the screening
// scheduled before cancelling it: a repeated cancellation records nothing (two administrators
// cancelling one screening at the same instant would both record). An order that cannot be
// read is recorded without its buyer.
func (s *Service) recordScreeningCancelled(ctx context.Context, refunds []Refund) {
	if s.cfg.Audit == nil {
		return
	}
	for _, rf := range refunds {
		if rf.Reason != RefundScreening {
			continue
		}
		e := audit.Event{Type: audit.OrderCancelled, Reason: "screening_cancelled", Target: rf.OrderID}
		if o, err := s.store.Order(ctx, rf.OrderID); err == nil {
			e.UserID, e.SessionID = o.UserID, o.SessionID
		}
		s.cfg.Audit.Record(ctx, e)
	}
}
