package tickets

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel errors. Store methods return ErrUnavailable (wrapped) when the database cannot be
// consulted; every other error they return is a bug.
var (
	// ErrNotFound: no such movie, cinema, hall, screening, hold, order, payment or refund (or
	// not the caller's hold or order).
	ErrNotFound = errors.New("tickets: not found")
	// ErrInvalidInput is matched by FieldErrors.
	ErrInvalidInput = errors.New("tickets: invalid input")
	// ErrSeatsUnavailable is matched by *UnavailableError: a seat asked for is held or sold by
	// someone else, or blocked.
	ErrSeatsUnavailable = errors.New("tickets: seats unavailable")
	// ErrNotEnoughSeats: best available found fewer free seats than asked for.
	ErrNotEnoughSeats = errors.New("tickets: not enough seats")
	// ErrTooManySeats: more seats than Config.MaxSeatsPerHold in one hold.
	ErrTooManySeats = errors.New("tickets: too many seats in one hold")
	// ErrSeatGroupSplit: a hold takes part of a seat group (love seat) but not all of it.
	ErrSeatGroupSplit = errors.New("tickets: seat group split")
	// ErrOrphanSeat: the hold would leave a single empty seat stranded in a row where another
	// choice of the same number of seats would not.
	ErrOrphanSeat = errors.New("tickets: orphan seat")
	// ErrScreeningStarted: the screening has started (or ended); it takes no holds.
	ErrScreeningStarted = errors.New("tickets: screening started")
	// ErrScreeningCancelled: the screening was cancelled; it takes no holds.
	ErrScreeningCancelled = errors.New("tickets: screening cancelled")
	// ErrHallBusy: a screening would overlap another in the same hall, cleaning time included.
	ErrHallBusy = errors.New("tickets: hall busy")
	// ErrHallInUse: a hall's layout cannot change while screenings to come use it.
	ErrHallInUse = errors.New("tickets: hall in use")
	// ErrConflict: the resource exists with other contents (an ID taken by another kind of
	// record, a cinema that a hall cannot move away from).
	ErrConflict = errors.New("tickets: conflict")
	// ErrUnavailable: the database (or, as ErrProviderUnavailable, the payment provider) cannot
	// be consulted now; retry shortly.
	ErrUnavailable = errors.New("tickets: store unavailable")
)

// FieldErrors reports invalid input, one message per field; the messages are safe to show.
type FieldErrors map[string]string

func (e FieldErrors) Error() string { return fmt.Sprintf("invalid fields: %v", map[string]string(e)) }

// Is makes errors.Is(err, ErrInvalidInput) true.
func (e FieldErrors) Is(target error) bool { return target == ErrInvalidInput }

// UnavailableError names the seats that were taken. It matches ErrSeatsUnavailable.
type UnavailableError struct{ SeatIDs []string }

func (e *UnavailableError) Error() string {
	return "seats unavailable: " + strings.Join(e.SeatIDs, ", ")
}

// Is makes errors.Is(err, ErrSeatsUnavailable) true.
func (e *UnavailableError) Is(target error) bool { return target == ErrSeatsUnavailable }

// RuleError is a layout rule a hold breaks (ErrTooManySeats, ErrSeatGroupSplit,
// ErrOrphanSeat), with the seats concerned and a message safe to show.
type RuleError struct {
	Rule    error
	SeatIDs []string
	Detail  string
}

func (e *RuleError) Error() string { return e.Detail }

// Unwrap makes errors.Is(err, e.Rule) true.
func (e *RuleError) Unwrap() error { return e.Rule }

// Order errors.
var (
	// ErrHoldExpired: the hold to pay for is no longer active (its deadline passed, or it was
	// released, replaced, revoked or cancelled).
	ErrHoldExpired = errors.New("tickets: hold expired")
	// ErrOrderExists is matched by *OrderExistsError: the hold already has a pending or
	// confirmed order (made with another idempotency key).
	ErrOrderExists = errors.New("tickets: hold already ordered")
	// ErrIdempotencyKeyReused: the key was used before for a different request.
	ErrIdempotencyKeyReused = errors.New("tickets: idempotency key reused")
	// ErrIdempotencyInFlight is matched by *InFlightError: the first request with the key has
	// not finished.
	ErrIdempotencyInFlight = errors.New("tickets: idempotency key in flight")
	// ErrCancellationClosed: the screening starts within Config.CancelCutoff (or has started).
	ErrCancellationClosed = errors.New("tickets: cancellation closed")
	// ErrOrderNotCancellable: only confirmed orders can be cancelled.
	ErrOrderNotCancellable = errors.New("tickets: order not cancellable")
	// ErrInvalidSignature: a payment webhook whose signature does not verify (or is too old).
	ErrInvalidSignature = errors.New("tickets: invalid webhook signature")
	// ErrProviderUnavailable: the payment provider could not be reached or did not answer. The
	// errors that wrap it wrap ErrUnavailable too: retry shortly (an order's retry drives the
	// same payment).
	ErrProviderUnavailable = errors.New("tickets: payment provider unavailable")
)

// OrderExistsError names the order the hold already has. It matches ErrOrderExists.
type OrderExistsError struct{ OrderID string }

func (e *OrderExistsError) Error() string { return "hold already ordered as " + e.OrderID }

// Is makes errors.Is(err, ErrOrderExists) true.
func (e *OrderExistsError) Is(target error) bool { return target == ErrOrderExists }

// InFlightError says when to retry a request whose idempotency key is still in flight. It
// matches ErrIdempotencyInFlight.
type InFlightError struct{ RetryAfter time.Duration }

func (e *InFlightError) Error() string {
	return fmt.Sprintf("idempotency key in flight; retry after %s", e.RetryAfter)
}

// Is makes errors.Is(err, ErrIdempotencyInFlight) true.
func (e *InFlightError) Is(target error) bool { return target == ErrIdempotencyInFlight }
