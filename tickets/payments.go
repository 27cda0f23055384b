package tickets

import (
	"context"
	"time"
)

// PaymentProvider takes and returns money for orders. Every call is idempotent by the ID it is
// given, so that a retry after a crash or a timeout never charges or refunds twice; its errors
// mean "no answer" (the call may be retried), never "declined".
type PaymentProvider interface {
	// Charge asks for c.Amount with c.Token. The result is PaymentSucceeded, PaymentDeclined
	// or PaymentPending (the answer comes later, through a webhook). Charging the same
	// c.PaymentID again returns the first outcome.
	Charge(ctx context.Context, c Charge) (PaymentResult, error)
	// Cancel stops a pending payment. It returns PaymentCancelled, or the payment's final
	// status when it ended before the cancellation reached it.
	Cancel(ctx context.Context, p Payment) (PaymentResult, error)
	// Refund returns a succeeded payment's whole amount; refunding the same r.ID again is not
	// an error. It returns the provider's reference for the refund.
	Refund(ctx context.Context, r Refund) (providerRef string, err error)
	// Event verifies a webhook's signature (the provider's signature header and the raw body)
	// at now, and reads it. It returns an error matching ErrInvalidSignature when the
	// signature does not verify or is too old, and FieldErrors when the body is not an event.
	Event(signature string, body []byte, now time.Time) (PaymentEvent, error)
}

// Charge is one payment to take.
type Charge struct {
	PaymentID string // the idempotency key at the provider
	OrderID   string
	Token     string
	Amount    Money
}

// PaymentResult is a provider's answer about a payment.
type PaymentResult struct {
	Status      string // PaymentSucceeded, PaymentDeclined, PaymentPending or PaymentCancelled
	ProviderRef string
}

// PaymentEvent is a webhook's news about a payment: Status PaymentSucceeded or
// PaymentDeclined.
type PaymentEvent struct {
	ID        string
	PaymentID string
	Status    string
}
