package tickets

import "time"

// Order statuses. An order starts pending when its payment is asked for and ends in one of the
// others; see docs/architecture.md for the state machine.
const (
	OrderPending   = "pending"   // the payment has no answer yet (async, or being recorded)
	OrderConfirmed = "confirmed" // paid: the seats are sold and the tickets valid
	OrderDeclined  = "declined"  // the payment was declined; the hold is untouched
	OrderExpired   = "expired"   // the payment never completed: it was cancelled at the provider
	OrderRefunded  = "refunded"  // paid after its hold ended, with the seats gone: refunded
	OrderCancelled = "cancelled" // cancelled by the buyer or with its screening, and refunded
)

// Late payment outcomes (Order.LatePayment): what became of a payment that succeeded after
// the order's hold had ended.
const (
	LateReclaimed = "reclaimed" // the seats were still free and are now sold to the order
	LateRefunded  = "refunded"  // the seats were gone (or the screening cancelled or started)
)

// Payment statuses, as the provider reports them.
const (
	PaymentPending   = "pending"
	PaymentSucceeded = "succeeded"
	PaymentDeclined  = "declined"
	PaymentCancelled = "cancelled"
)

// Ticket statuses.
const (
	TicketValid = "valid"
	TicketVoid  = "void" // its order was cancelled
)

// Refund reasons and statuses.
const (
	RefundCustomer  = "customer_cancelled"  // the buyer cancelled before the cut-off
	RefundScreening = "screening_cancelled" // the cinema cancelled the screening
	RefundLate      = "late_payment"        // paid after the hold ended, with the seats gone

	RefundPending   = "pending"   // recorded; not yet confirmed by the provider
	RefundSucceeded = "succeeded" // the provider returned the money
)

// Order is a purchase of the seats of one hold: one payment, then tickets, maybe a refund.
// Orders are never deleted.
type Order struct {
	ID          string
	UserID      string
	SessionID   string
	HoldID      string
	ScreeningID string
	SeatIDs     []string // sorted; the hold's seats
	Total       Money
	Status      string
	// LatePayment is "" for a payment that arrived in time, else LateReclaimed or LateRefunded.
	LatePayment string
	Payment     Payment
	// PaymentDeadline is when the hold's seats stop being kept for the order (the hold's
	// deadline). A pending order is settled (its payment cancelled or recorded) by the janitor
	// within Config.PaymentGrace after it.
	PaymentDeadline time.Time
	Tickets         []Ticket // one per seat once confirmed, in seat order
	Refund          *Refund  // nil unless refunded
	CreatedAt       time.Time
	UpdatedAt       time.Time
	ServerTime      time.Time // the database's clock when the order was read
}

// Payment is an order's payment with its provider.
type Payment struct {
	ID          string // our ID, the provider's idempotency key
	Method      string // the provider's name, e.g. "test"
	Token       string // what the client gave the provider to pay with
	Status      string // PaymentPending, PaymentSucceeded, PaymentDeclined or PaymentCancelled
	ProviderRef string // the provider's own reference, when it gave one
}

// Ticket admits one person to one seat; Code is the secret printed in its QR code.
type Ticket struct {
	ID     string
	SeatID string
	Code   string
	Status string // TicketValid or TicketVoid
}

// Refund returns an order's whole payment.
type Refund struct {
	ID          string // RefundID(OrderID): one refund per order
	OrderID     string
	ScreeningID string
	PaymentID   string
	Method      string
	Amount      Money
	Reason      string // RefundCustomer, RefundScreening or RefundLate
	Status      string // RefundPending or RefundSucceeded
	ProviderRef string
	CreatedAt   time.Time
	CompletedAt time.Time // zero while pending
}

// Reply is an answer the API layer rendered for a request with an idempotency key; the store
// keeps it with the key, byte for byte, and replays it for the same key and request.
type Reply struct {
	Status      int
	ContentType string
	Location    string
	Body        []byte
}

// IdempotencyKey names one request of one user: retries with the same Key and the same
// Fingerprint (a hash of what was asked) get the same answer.
type IdempotencyKey struct {
	UserID      string
	Key         string
	Fingerprint []byte
}

// RefundReport sums up a screening's refunds.
type RefundReport struct {
	ScreeningID string
	Refunds     []Refund // oldest first
	Total       Money    // of every refund, pending or not
	Pending     int      // refunds the provider has not confirmed yet
}

// RefundID is the ID of an order's refund ("refund_" + the order's ID): an order has at most
// one refund, and deriving its ID lets a bulk cancellation in SQL and a retried refund name it
// the same way.
func RefundID(orderID string) string { return "refund_" + orderID }
