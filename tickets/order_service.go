package tickets

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"
)

// OrderRequest is what a buyer asks for: the seats of HoldID, paid with Token through the
// provider named Method.
type OrderRequest struct {
	HoldID string
	Method string
	Token  string
}

// PlaceOrder pays for the owner's hold under an idempotency key (draft-ietf-httpapi-
// idempotency-key-header): the first request with the key begins an order, asks the provider,
// and records the outcome with the reply render made for it, all stored with the key; a
// retry with the same key and request gets that same reply (replayed true) from any instance.
//
// The reply is 201 material for a confirmed or pending order and 402 material for a declined
// one: render decides. Errors are never stored. Before anything is begun: FieldErrors,
// ErrNotFound (no such hold, or another user's), ErrHoldExpired, *OrderExistsError,
// ErrIdempotencyKeyReused, *InFlightError (RetryAfter at most a second), ErrConflict (an order
// ID already used: practically never) and ErrUnavailable. After the order was begun:
// ErrProviderUnavailable (with ErrUnavailable; the key stays in flight until its lease ends,
// then a retry drives the same order and payment again) and ErrUnavailable.
func (s *Service) PlaceOrder(ctx context.Context, o Owner, key string, req OrderRequest, render func(Order) Reply) (reply Reply, replayed bool, err error) {
	if err := s.validOrder(key, req); err != nil {
		return Reply{}, false, err
	}
	r, err := s.store.BeginOrder(ctx, BeginOrderTx{
		Key:   IdempotencyKey{UserID: o.UserID, Key: key, Fingerprint: fingerprint(req)},
		Lease: s.cfg.KeyLease,
		Order: Order{ID: newID("order_"), UserID: o.UserID, SessionID: o.SessionID, HoldID: req.HoldID,
			Payment: Payment{ID: newID("pay_"), Method: req.Method, Token: req.Token}},
	})
	if ife := (*InFlightError)(nil); errors.As(err, &ife) {
		// The first request usually finishes within milliseconds: ask the client back in a
		// second, not at the end of the lease (which only bounds how long a crashed request
		// keeps the key).
		return Reply{}, false, &InFlightError{RetryAfter: min(ife.RetryAfter, time.Second)}
	}
	if err != nil {
		return Reply{}, false, err
	}
	if r.Replay != nil {
		return *r.Replay, true, nil
	}
	res, err := s.drive(ctx, r.Order, render)
	if err != nil {
		return Reply{}, false, err
	}
	if res.Reply == nil { // cannot happen with a render; be safe rather than answer nothing
		return render(res.Order), false, nil
	}
	return *res.Reply, false, nil
}

// drive asks the provider about a pending order (charging it again is idempotent) and records
// the answer; an order that is no longer pending only has its key completed.
func (s *Service) drive(ctx context.Context, ord Order, render func(Order) Reply) (FinishOrderResult, error) {
	var result PaymentResult
	if ord.Status == OrderPending {
		p, err := s.provider(ord.Payment.Method)
		if err != nil {
			return FinishOrderResult{}, err
		}
		result, err = p.Charge(ctx, Charge{PaymentID: ord.Payment.ID, OrderID: ord.ID,
			Token: ord.Payment.Token, Amount: ord.Total})
		if err != nil {
			return FinishOrderResult{}, providerDown(err)
		}
	}
	return s.finish(ctx, ord, result, render)
}

// finish records a payment result and then sends the refund it may have created.
func (s *Service) finish(ctx context.Context, ord Order, result PaymentResult, render func(Order) Reply) (FinishOrderResult, error) {
	res, err := s.store.FinishOrder(ctx, FinishOrderTx{OrderID: ord.ID,
		Payment: Payment{Status: result.Status, ProviderRef: result.ProviderRef},
		Tickets: newTickets(ord.SeatIDs), Reply: render})
	if err != nil {
		return FinishOrderResult{}, err
	}
	s.recordSettled(ctx, ord, res.Order)
	if rf := res.Order.Refund; rf != nil && rf.Status == RefundPending {
		// Best effort: the janitor sends refunds that are still pending later.
		if err := s.sendRefund(ctx, *rf); err == nil {
			if again, err := s.store.Order(ctx, ord.ID); err == nil {
				res.Order = again
			}
		}
	}
	return res, nil
}

// GetOrder returns one of the owner's orders, or ErrNotFound (also for another user's).
func (s *Service) GetOrder(ctx context.Context, o Owner, id string) (Order, error) {
	ord, err := s.store.Order(ctx, id)
	if err != nil {
		return Order{}, err
	}
	if ord.UserID != o.UserID {
		return Order{}, ErrNotFound
	}
	return ord, nil
}

// Orders lists the owner's orders, newest first, a page of at most limit (default
// DefaultPageLimit, at most MaxPageLimit) after cursor; it returns the next page's cursor ("" at
// the end). FieldErrors for a bad cursor or limit.
func (s *Service) Orders(ctx context.Context, o Owner, cursor string, limit int) ([]Order, string, error) {
	limit, err := pageLimit(limit)
	if err != nil {
		return nil, "", err
	}
	k, err := decodeCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	list, err := s.store.Orders(ctx, OrderQuery{UserID: o.UserID, BeforeAt: k.Start, BeforeID: k.ID, Limit: limit + 1})
	if err != nil {
		return nil, "", err
	}
	if len(list) <= limit {
		return list, "", nil
	}
	list = list[:limit]
	last := list[limit-1]
	return list, encodeCursor(cursorKey{Start: last.CreatedAt, ID: last.ID}), nil
}

// CancelOrder cancels the owner's confirmed order and refunds it in full, when its screening
// starts more than Config.CancelCutoff from now (the application clock); its seats become
// available. Cancelling a cancelled order returns it unchanged. ErrNotFound,
// ErrOrderNotCancellable, ErrCancellationClosed, ErrUnavailable.
func (s *Service) CancelOrder(ctx context.Context, o Owner, id string) (Order, error) {
	ord, err := s.store.CancelOrder(ctx, id, o.UserID, s.cfg.Now().Add(s.cfg.CancelCutoff))
	if err != nil {
		return Order{}, err
	}
	s.recordCancelled(ctx, o.SessionID, ord)
	if rf := ord.Refund; rf != nil && rf.Status == RefundPending {
		if err := s.sendRefund(ctx, *rf); err == nil {
			if again, err := s.store.Order(ctx, id); err == nil {
				ord = again
			}
		}
	}
	return ord, nil
}

// PaymentWebhook verifies and applies a provider's webhook (signature header and raw body):
// a success confirms the order, or re-claims its seats, or refunds it (see FinishOrderTx); a
// failure declines a pending order. Applying an event twice changes nothing more. It returns
// the order afterwards; ErrInvalidSignature, FieldErrors, ErrNotFound (no such payment) or
// ErrUnavailable.
func (s *Service) PaymentWebhook(ctx context.Context, signature string, body []byte) (Order, error) {
	var ev PaymentEvent
	var method string
	err := error(fmt.Errorf("%w: no payment provider is configured", ErrInvalidSignature))
	for _, method = range s.providerNames() {
		if ev, err = s.cfg.Payments[method].Event(signature, body, s.cfg.Now()); !errors.Is(err, ErrInvalidSignature) {
			break
		}
	}
	if err != nil {
		return Order{}, err
	}
	if ev.Status != PaymentSucceeded && ev.Status != PaymentDeclined {
		return Order{}, FieldErrors{"status": "must be succeeded or declined"}
	}
	ord, err := s.store.OrderByPayment(ctx, ev.PaymentID)
	if err != nil {
		return Order{}, err
	}
	if ord.Payment.Method != method { // a provider speaks only for its own payments
		return Order{}, ErrNotFound
	}
	res, err := s.finish(ctx, ord, PaymentResult{Status: ev.Status}, nil)
	return res.Order, err
}

// RefundReport returns a screening's refunds and their totals. ErrNotFound, ErrUnavailable.
func (s *Service) RefundReport(ctx context.Context, screeningID string) (RefundReport, error) {
	list, err := s.store.Refunds(ctx, screeningID)
	if err != nil {
		return RefundReport{}, err
	}
	r := RefundReport{ScreeningID: screeningID, Refunds: list}
	if len(list) == 0 { // a zero total, in the screening's currency
		sc, err := s.store.Screening(ctx, screeningID)
		if err != nil {
			return RefundReport{}, err
		}
		if len(sc.Prices) > 0 {
			r.Total.Currency = sc.Prices[0].Currency
		}
	}
	for _, rf := range list {
		r.Total.Amount += rf.Amount.Amount
		r.Total.Currency = rf.Amount.Currency
		if rf.Status == RefundPending {
			r.Pending++
		}
	}
	if r.Refunds == nil {
		r.Refunds = []Refund{}
	}
	return r, nil
}

// Idempotency keys and payment tokens: printable ASCII, at most this long.
const (
	MaxKeyLen   = 255
	maxTokenLen = 255
)

func (s *Service) validOrder(key string, req OrderRequest) error {
	fe := FieldErrors{}
	if !printable(key, MaxKeyLen) {
		fe["Idempotency-Key"] = fmt.Sprintf("must be 1 to %d printable ASCII characters", MaxKeyLen)
	}
	if req.HoldID == "" {
		fe["hold_id"] = "is required"
	}
	if _, ok := s.cfg.Payments[req.Method]; !ok {
		fe["payment.method"] = "must be one of: " + strings.Join(s.providerNames(), ", ")
		if len(s.cfg.Payments) == 0 {
			fe["payment.method"] = "no payment method is configured on this server"
		}
	}
	if !printable(req.Token, maxTokenLen) {
		fe["payment.token"] = fmt.Sprintf("must be 1 to %d printable ASCII characters", maxTokenLen)
	}
	if len(fe) > 0 {
		return fe
	}
	return nil
}

func printable(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// fingerprint identifies what an order request asks for, whatever the JSON looked like.
func fingerprint(req OrderRequest) []byte {
	h := sha256.New()
	for _, f := range []string{"POST /v1/orders", req.HoldID, req.Method, req.Token} {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	return h.Sum(nil)
}

// newTickets makes one ticket per seat with a fresh ID and a secret code (128 bits, base32,
// upper case so that a QR code can use its compact alphanumeric mode).
func newTickets(seatIDs []string) []Ticket {
	out := make([]Ticket, len(seatIDs))
	for i, id := range seatIDs {
		var b [16]byte
		_, _ = rand.Read(b[:]) // never fails (crypto/rand)
		out[i] = Ticket{ID: newID("ticket_"), SeatID: id, Status: TicketValid,
			Code: base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])}
	}
	return out
}
