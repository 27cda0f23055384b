// Package testpay is the built-in "test" payment provider: deterministic tokens and webhooks
// signed like Stripe's, so that every payment path can be driven without a real provider.
package testpay

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"boxoffice/tickets"
)

// Tokens the provider understands. Any other token is declined.
const (
	TokenSuccess = "test_success" // succeeds at once
	TokenDecline = "test_decline" // is declined at once
	TokenAsync   = "test_async"   // stays pending until a signed webhook says how it ended
	TokenError   = "test_error"   // the provider cannot be reached: Charge returns an error
)

// SignatureHeader is the request header that carries a webhook's signature.
const SignatureHeader = "Boxoffice-Signature"

// Tolerance is how old a webhook's signature may be (and how far in the future).
const Tolerance = 5 * time.Minute

// Event types in webhook bodies.
const (
	EventSucceeded = "payment.succeeded"
	EventDeclined  = "payment.declined"
)

// Provider is the test provider. It keeps no state: each token always gives the same answer,
// which makes every call idempotent.
type Provider struct {
	// Secret signs webhooks; empty refuses every webhook.
	Secret []byte
}

var _ tickets.PaymentProvider = (*Provider)(nil)

// Charge answers by token: TokenSuccess succeeded, TokenAsync pending, TokenError an error,
// anything else declined.
func (p *Provider) Charge(_ context.Context, c tickets.Charge) (tickets.PaymentResult, error) {
	ref := "test_ch_" + c.PaymentID
	switch c.Token {
	case TokenSuccess:
		return tickets.PaymentResult{Status: tickets.PaymentSucceeded, ProviderRef: ref}, nil
	case TokenAsync:
		return tickets.PaymentResult{Status: tickets.PaymentPending, ProviderRef: ref}, nil
	case TokenError:
		return tickets.PaymentResult{}, errors.New("testpay: provider unreachable (test_error)")
	default:
		return tickets.PaymentResult{Status: tickets.PaymentDeclined, ProviderRef: ref}, nil
	}
}

// Cancel cancels an async payment, and one whose charge never reached the provider
// (TokenError: the outage is over by the time the janitor cancels); others keep the status
// Charge gave them.
func (p *Provider) Cancel(ctx context.Context, pay tickets.Payment) (tickets.PaymentResult, error) {
	if pay.Token == TokenError {
		return tickets.PaymentResult{Status: tickets.PaymentCancelled, ProviderRef: "test_ch_" + pay.ID}, nil
	}
	r, err := p.Charge(ctx, tickets.Charge{PaymentID: pay.ID, Token: pay.Token})
	if err == nil && r.Status == tickets.PaymentPending {
		r.Status = tickets.PaymentCancelled
	}
	return r, err
}

// Refund always succeeds.
func (p *Provider) Refund(_ context.Context, r tickets.Refund) (string, error) {
	return "test_re_" + r.ID, nil
}

// event is a webhook body.
type event struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	PaymentID string `json:"payment_id"`
}

// Event verifies a signature header "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">"
// (several v1 values may be given, for secret rotation) within Tolerance of now, and reads the
// body {"id", "type": "payment.succeeded"|"payment.declined", "payment_id"}.
func (p *Provider) Event(signature string, body []byte, now time.Time) (tickets.PaymentEvent, error) {
	if len(p.Secret) == 0 {
		return tickets.PaymentEvent{}, fmt.Errorf("%w: no webhook secret is configured", tickets.ErrInvalidSignature)
	}
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(signature, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return tickets.PaymentEvent{}, fmt.Errorf("%w: malformed signature header", tickets.ErrInvalidSignature)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > Tolerance || d < -Tolerance {
		return tickets.PaymentEvent{}, fmt.Errorf("%w: signature timestamp outside the tolerance", tickets.ErrInvalidSignature)
	}
	want := mac(p.Secret, ts, body)
	ok := false
	for _, s := range sigs {
		ok = ok || hmac.Equal(s, want)
	}
	if !ok {
		return tickets.PaymentEvent{}, fmt.Errorf("%w: signature mismatch", tickets.ErrInvalidSignature)
	}
	var ev event
	if err := json.Unmarshal(body, &ev); err != nil || ev.PaymentID == "" {
		return tickets.PaymentEvent{}, tickets.FieldErrors{"body": "is not a payment event"}
	}
	out := tickets.PaymentEvent{ID: ev.ID, PaymentID: ev.PaymentID}
	switch ev.Type {
	case EventSucceeded:
		out.Status = tickets.PaymentSucceeded
	case EventDeclined:
		out.Status = tickets.PaymentDeclined
	default:
		return tickets.PaymentEvent{}, tickets.FieldErrors{"type": "must be " + EventSucceeded + " or " + EventDeclined}
	}
	return out, nil
}

// Sign returns the signature header value for body at now: what the provider sends, and what
// tests and operators use to simulate it.
func Sign(secret, body []byte, now time.Time) string {
	ts := strconv.FormatInt(now.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

// EventBody returns a webhook body for a payment ("payment.succeeded" or "payment.declined").
func EventBody(eventID, eventType, paymentID string) []byte {
	b, _ := json.Marshal(event{ID: eventID, Type: eventType, PaymentID: paymentID}) // plain strings
	return b
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}
