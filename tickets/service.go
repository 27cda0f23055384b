package tickets

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"strings"
	"time"

	"boxoffice/audit"
)

// Config is the ticketing policy. Zero values take the documented defaults.
type Config struct {
	HoldTTL         time.Duration    // how long a hold keeps its seats; default DefaultHoldTTL
	MaxSeatsPerHold int              // default DefaultMaxSeatsPerHold
	Now             func() time.Time // the application clock (validation, default filters); default time.Now
	// Sessions tells which sessions are still signed in (SessionsEnded, Janitor); nil means
	// only holds of sessions named explicitly are ended.
	Sessions SessionChecker

	// Payments are the payment providers by method name (e.g. "test"); orders can only be
	// paid with these.
	Payments map[string]PaymentProvider
	// CancelCutoff: buyers may cancel a confirmed order until this long before the screening
	// starts; default DefaultCancelCutoff.
	CancelCutoff time.Duration
	// PaymentGrace: a pending order whose payment has not completed this long after its
	// deadline is settled by the janitor (its payment cancelled); default DefaultPaymentGrace.
	PaymentGrace time.Duration
	// KeyLease: how long a request owns its idempotency key before a retry may take the order
	// over (after a crash); default DefaultKeyLease.
	KeyLease time.Duration
	// Audit records orders paid, refunded and cancelled (see events.go); nil records nothing.
	Audit audit.Recorder
}

// Defaults of Config's zero fields, as NewService applies them (exported so that
// configuration loaders and their documentation state the same values).
const (
	DefaultHoldTTL         = 10 * time.Minute
	DefaultMaxSeatsPerHold = 10
	DefaultCancelCutoff    = 2 * time.Hour
	DefaultPaymentGrace    = 30 * time.Second
	DefaultKeyLease        = 15 * time.Second
)

// Service is the ticketing domain over a Store: catalogue browsing and administration, seat
// maps, holds with their layout rules, and orders with their payments and refunds.
type Service struct {
	store    Store
	cfg      Config
	seatings seatingCache
}

// NewService returns a Service over store.
func NewService(store Store, cfg Config) *Service {
	if cfg.HoldTTL <= 0 {
		cfg.HoldTTL = DefaultHoldTTL
	}
	if cfg.MaxSeatsPerHold <= 0 {
		cfg.MaxSeatsPerHold = DefaultMaxSeatsPerHold
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CancelCutoff <= 0 {
		cfg.CancelCutoff = DefaultCancelCutoff
	}
	if cfg.PaymentGrace <= 0 {
		cfg.PaymentGrace = DefaultPaymentGrace
	}
	if cfg.KeyLease <= 0 {
		cfg.KeyLease = DefaultKeyLease
	}
	return &Service{store: store, cfg: cfg}
}

// Config returns the policy in effect, defaults filled in.
func (s *Service) Config() Config { return s.cfg }

// Ping checks that the store answers; it returns an error wrapping ErrUnavailable otherwise.
func (s *Service) Ping(ctx context.Context) error { return s.store.Ping(ctx) }

// Owner is who makes a hold: the signed-in user and the session it belongs to.
type Owner struct {
	UserID    string
	SessionID string
}

// newID returns a random ID with a prefix, e.g. "hold_3x7…" (128 bits).
func newID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return prefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// retryable reports whether err may go away by planning the hold again (someone took a seat
// between the read and the claim).
func retryable(err error) bool { return errors.Is(err, ErrSeatsUnavailable) }
