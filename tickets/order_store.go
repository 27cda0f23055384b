package tickets

import (
	"context"
	"time"
)

// OrderStore is the part of Store that keeps orders, payments, tickets, refunds and
// idempotency keys. Nothing it stores is ever deleted, except that an idempotency key older
// than KeyRetention may be overwritten by a new request with the same key. "Now" is the
// database's clock, as for Store.
type OrderStore interface {
	// BeginOrder starts paying for a hold, in one transaction:
	//
	//  1. The key (tx.Key.UserID, tx.Key.Key) is looked up; one first used more than
	//     KeyRetention ago counts as unused. A used key with another fingerprint is
	//     ErrIdempotencyKeyReused. A completed key gives its stored reply
	//     (BeginOrderResult.Replay) and changes nothing. A key in flight whose lease has not
	//     ended is *InFlightError (RetryAfter: what is left of the lease, at least a second); one
	//     whose lease ended is taken over: the lease is renewed and its order returned with
	//     TakenOver set (whatever the order's status), to be driven again.
	//  2. For an unused key: the hold must exist and be tx.Order.UserID's (ErrNotFound), have
	//     no pending or confirmed order (*OrderExistsError), and be active by now
	//     (ErrHoldExpired). Concurrent BeginOrders for one hold take turns on it.
	//  3. The order is stored as OrderPending with the hold's screening, seats and total,
	//     PaymentDeadline = the hold's deadline, its payment (tx.Order.Payment: ID, Method,
	//     Token) PaymentPending, and the key in flight with a lease of tx.Lease.
	//
	// When step 1 or 2 refuses, nothing is stored. An order ID already used is ErrConflict.
	BeginOrder(ctx context.Context, tx BeginOrderTx) (BeginOrderResult, error)

	// FinishOrder records what the provider said about an order's payment, in one transaction
	// (see FinishOrderTx), and completes the order's idempotency key if it is in flight.
	FinishOrder(ctx context.Context, tx FinishOrderTx) (FinishOrderResult, error)

	// CancelOrder cancels a confirmed order of userID and refunds it, in one transaction: its
	// tickets become TicketVoid, its seats available (a new availability version), and a
	// Refund (RefundCustomer, RefundPending) is recorded. It returns the order as it is
	// afterwards. ErrNotFound for a missing order or another user's; a cancelled order is
	// returned unchanged; ErrOrderNotCancellable for any other status; ErrCancellationClosed
	// when the screening starts at or before startsAfter.
	CancelOrder(ctx context.Context, orderID, userID string, startsAfter time.Time) (Order, error)

	// Order returns an order with its payment, tickets and refund, or ErrNotFound.
	Order(ctx context.Context, id string) (Order, error)
	// OrderByPayment returns the order a payment ID belongs to, or ErrNotFound.
	OrderByPayment(ctx context.Context, paymentID string) (Order, error)
	// Orders lists a user's orders, newest first: ordered by (CreatedAt, ID) descending,
	// starting after the given key (q.BeforeID empty: from the newest), at most q.Limit.
	Orders(ctx context.Context, q OrderQuery) ([]Order, error)

	// StalledOrders returns up to limit (> 0) pending orders the janitor must settle, oldest first:
	// those whose PaymentDeadline + grace has passed, and those whose idempotency key's lease
	// ended while still in flight (a crash between asking the provider and recording its
	// answer).
	StalledOrders(ctx context.Context, grace time.Duration, limit int) ([]Order, error)

	// PendingRefunds returns up to limit (> 0) RefundPending refunds created at least minAge ago,
	// oldest first.
	PendingRefunds(ctx context.Context, minAge time.Duration, limit int) ([]Refund, error)
	// RefundSucceeded records that the provider returned a refund's money. Recording it twice
	// is not an error. ErrNotFound when the refund does not exist.
	RefundSucceeded(ctx context.Context, refundID, providerRef string) error
	// Refunds lists a screening's refunds, oldest first (by CreatedAt, then ID). ErrNotFound
	// when the screening does not exist.
	Refunds(ctx context.Context, screeningID string) ([]Refund, error)
}

// KeyRetention is how long an idempotency key is remembered after its first use.
const KeyRetention = 24 * time.Hour

// BeginOrderTx is what BeginOrder stores: the key and the order to create. Order needs ID,
// UserID, SessionID, HoldID and Payment (ID, Method, Token); the store fills in the rest.
type BeginOrderTx struct {
	Key   IdempotencyKey
	Lease time.Duration // how long the key stays the caller's while in flight (> 0)
	Order Order
}

// BeginOrderResult is either the stored reply for a completed key, or the order to drive.
type BeginOrderResult struct {
	Replay    *Reply
	Order     Order
	TakenOver bool // the order was begun by an earlier request whose lease ended
}

// FinishOrderTx records a payment's outcome:
//
//   - Payment.Status "" changes nothing (it only completes an in-flight key).
//   - PaymentPending: the provider's reference is recorded; the order stays pending.
//   - PaymentDeclined or PaymentCancelled: a pending order becomes OrderDeclined or
//     OrderExpired; any other order is unchanged.
//   - PaymentSucceeded, for an order whose payment had not succeeded yet (money received always
//     ends in tickets or a refund; tx.Tickets must then name every seat of the order once, else
//     FieldErrors and nothing is recorded):
//     if the hold has another pending or confirmed order, nothing is claimed and the order is
//     refunded as below (one hold, one sale); else if the hold is still active by now and the
//     screening scheduled, its seats become sold to the order and the hold HoldConfirmed;
//     otherwise (a late payment), when the screening is
//     scheduled and has not started and every seat is free, held past its deadline or still
//     held by the order's hold, the seats are claimed again, sold (LateReclaimed); otherwise
//     nothing is claimed and the order becomes OrderRefunded with a Refund (RefundLate,
//     RefundPending, LateRefunded). A confirmed order gets Tickets (one per seat, in seat
//     order, IDs and codes from tx.Tickets); every changed seat takes a new availability
//     version.
//
// When the order's key is still in flight, Reply renders the reply for the order as it is
// after the change, and the key is completed with it (nil Reply: the key is left in flight).
// Reply runs inside the transaction: it must be quick and must not call the store.
// FinishOrder returns ErrNotFound for an unknown order.
type FinishOrderTx struct {
	OrderID string
	Payment Payment // Status and ProviderRef
	Tickets []Ticket
	Reply   func(Order) Reply
}

// FinishOrderResult is the order after FinishOrder, and its key's stored reply (nil when the
// key is still in flight).
type FinishOrderResult struct {
	Order Order
	Reply *Reply
}

// OrderQuery pages through a user's orders, newest first; Limit > 0.
type OrderQuery struct {
	UserID   string
	BeforeAt time.Time
	BeforeID string
	Limit    int
}
