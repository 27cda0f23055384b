package tickets

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// providerCallTimeout bounds one call to a payment provider from the janitor, so that a
// provider that hangs on one order cannot use up a round meant for all of them.
const providerCallTimeout = 3 * time.Second

// Settling with the payment provider after (or outside) a request: the janitor's steps for
// stalled orders and unsent refunds, and the refunds a flow sends once its transaction
// committed.

// settleStalled settles up to limit pending orders that the janitor must see to: past their
// deadline plus Config.PaymentGrace, the payment is cancelled at the provider (or recorded, if
// it succeeded meanwhile); with a key whose lease ended, the provider is asked again.
func (s *Service) settleStalled(ctx context.Context, limit int) (int, error) {
	list, err := s.store.StalledOrders(ctx, s.cfg.PaymentGrace, limit)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, ord := range list { // one order's failure does not hold up the others
		if err := s.settle(ctx, ord); err != nil {
			errs = append(errs, fmt.Errorf("order %s: %w", ord.ID, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

func (s *Service) settle(ctx context.Context, ord Order) error {
	p, err := s.provider(ord.Payment.Method)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, providerCallTimeout)
	defer cancel()
	// Overdue by the database's clock, the one StalledOrders chose the order by: an instance
	// whose clock is ahead must not cancel a payment whose hold still keeps its seats.
	now := ord.ServerTime
	if now.IsZero() {
		now = s.cfg.Now()
	}
	var result PaymentResult
	if now.After(ord.PaymentDeadline.Add(s.cfg.PaymentGrace)) {
		result, err = p.Cancel(ctx, ord.Payment)
	} else {
		result, err = p.Charge(ctx, Charge{PaymentID: ord.Payment.ID, OrderID: ord.ID,
			Token: ord.Payment.Token, Amount: ord.Total})
	}
	if err != nil {
		return providerDown(err)
	}
	_, err = s.finish(ctx, ord, result, nil)
	return err
}

// sendPendingRefunds sends refunds recorded at least a few seconds ago that the provider has
// not confirmed (a crash or a provider outage after the refund was recorded).
func (s *Service) sendPendingRefunds(ctx context.Context, limit int) (int, error) {
	list, err := s.store.PendingRefunds(ctx, 5*time.Second, limit)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, rf := range list {
		cctx, cancel := context.WithTimeout(ctx, providerCallTimeout)
		err := s.sendRefund(cctx, rf)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("refund %s: %w", rf.ID, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

func (s *Service) sendRefund(ctx context.Context, rf Refund) error {
	p, err := s.provider(rf.Method)
	if err != nil {
		return err
	}
	ref, err := p.Refund(ctx, rf)
	if err != nil {
		return providerDown(err)
	}
	return s.store.RefundSucceeded(ctx, rf.ID, ref)
}

// sendScreeningRefunds sends those of a screening's refunds (list) that are pending.
func (s *Service) sendScreeningRefunds(ctx context.Context, list []Refund) error {
	for _, rf := range list {
		if rf.Status == RefundPending {
			if err := s.sendRefund(ctx, rf); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Service) provider(method string) (PaymentProvider, error) {
	p, ok := s.cfg.Payments[method]
	if !ok {
		return nil, providerDown(fmt.Errorf("payment method %q is not configured", method))
	}
	return p, nil
}

func (s *Service) providerNames() []string {
	names := make([]string, 0, len(s.cfg.Payments))
	for name := range s.cfg.Payments {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// providerDown is the error for a provider call that got no answer: ErrProviderUnavailable and
// ErrUnavailable.
func providerDown(err error) error {
	return fmt.Errorf("%w (%w): %v", ErrProviderUnavailable, ErrUnavailable, err)
}
