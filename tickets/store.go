package tickets

import (
	"context"
	"time"
)

// Store is the system of record for the catalogue, claims and holds. Both adapters implement
// it with the same semantics, checked by the conformance suite in tickets/ticketstest. Every
// method returns an error wrapping ErrUnavailable when the database cannot be consulted.
//
// Times are the database's: "now" below is the database server's clock (PostgreSQL) or the
// adapter's injected clock (SQLite), never the caller's. An "active" hold below is one whose
// status is HoldActive and whose deadline has not passed by now: a hold past its deadline is
// expired for every method, whether or not Sweep has marked it yet. An operation that changes
// nothing (a refused or rolled-back hold, a second release, an empty Sweep) takes no new
// availability version.
type Store interface {
	// Movies lists movies ordered by (Title, ID), starting after the given key.
	Movies(ctx context.Context, q MovieQuery) ([]Movie, error)
	// Movie returns one movie or ErrNotFound.
	Movie(ctx context.Context, id string) (Movie, error)
	// PutMovie creates or replaces a movie; it reports whether it created it.
	PutMovie(ctx context.Context, m Movie) (created bool, err error)

	// Cinemas lists every cinema ordered by (Name, ID), each with its halls ordered by
	// (Name, ID).
	Cinemas(ctx context.Context) ([]Cinema, error)
	// Cinema returns one cinema with its halls, or ErrNotFound.
	Cinema(ctx context.Context, id string) (Cinema, error)
	// PutCinema creates or replaces a cinema's fields (not its halls); it reports whether it
	// created it.
	PutCinema(ctx context.Context, c Cinema) (created bool, err error)

	// Hall returns a hall with its seats ordered by (Y, X), or ErrNotFound.
	Hall(ctx context.Context, id string) (Hall, error)
	// PutHall creates a hall or replaces its name, cleaning time and layout. It returns
	// ErrNotFound when the cinema does not exist, ErrConflict when the hall exists in another
	// cinema, and ErrHallInUse when the layout would change while a scheduled screening that
	// has not ended uses the hall (a name or cleaning-time change alone is allowed).
	PutHall(ctx context.Context, h Hall) (created bool, err error)

	// Screenings lists scheduled and cancelled screenings that start in [From, To), ordered
	// by (StartsAt, ID), after the given key, with SeatsAvailable filled in as of now.
	Screenings(ctx context.Context, q ScreeningQuery) ([]Screening, error)
	// Screening returns one screening with SeatsAvailable filled in, or ErrNotFound.
	Screening(ctx context.Context, id string) (Screening, error)
	// CreateScreening stores a new scheduled screening. The database refuses one whose
	// [StartsAt, EndsAt + the hall's cleaning time) overlaps another scheduled screening's in
	// the same hall: ErrHallBusy. ErrNotFound when the movie or hall does not exist;
	// ErrConflict when the ID is taken.
	CreateScreening(ctx context.Context, s Screening) error
	// CancelScreening marks a screening cancelled, every active hold on it HoldCancelled, and
	// every confirmed order for it OrderCancelled with its tickets void and a Refund
	// (RefundScreening, RefundPending), freeing all their seats, in one transaction; a hold or
	// order being made at the same time either commits first (and is cancelled) or sees the
	// cancellation (a hold: ErrScreeningCancelled; a payment: refunded, see FinishOrderTx).
	// Pending orders stay pending (their payment settles them). Cancelling twice is not an
	// error. ErrNotFound when missing.
	CancelScreening(ctx context.Context, id string) error

	// Availability reads the seats taken at a screening now (held seats whose deadline has
	// passed are not taken) and the screening's availability version. ErrNotFound when the
	// screening does not exist.
	Availability(ctx context.Context, screeningID string) (Availability, error)
	// Hold runs the hold transaction described by HoldTx.
	Hold(ctx context.Context, tx HoldTx) (Hold, error)
	// GetHold returns a hold (Status as stored; see Hold.Effective) with ServerTime set, or
	// ErrNotFound.
	GetHold(ctx context.Context, id string) (Hold, error)
	// ReleaseHold ends an active hold of userID with status HoldReleased and frees its seats.
	// Releasing a hold that is no longer active changes nothing and is not an error. It
	// returns the hold as it is afterwards, or ErrNotFound when the hold does not exist or
	// belongs to another user.
	ReleaseHold(ctx context.Context, id, userID string) (Hold, error)
	// EndSessionHolds ends every active hold made by the given sessions with status
	// HoldRevoked and frees their seats. It returns how many holds it ended.
	EndSessionHolds(ctx context.Context, sessionIDs []string) (int, error)
	// MoveSessionHolds gives the active holds of session from to session to (a password
	// change moves its caller to a new session ID).
	MoveSessionHolds(ctx context.Context, from, to string) error
	// HoldSessions returns the distinct sessions that have active holds, ordered by (UserID,
	// SessionID): those of userID, or when userID is empty up to limit of any user's (limit
	// <= 0: no limit) that come after the given one in that order (the zero SessionRef: from
	// the start). The janitor pages through them to check that they are still signed in.
	HoldSessions(ctx context.Context, userID string, after SessionRef, limit int) ([]SessionRef, error)

	// SetBlocked blocks (or unblocks) seats at a screening, all or nothing. Blocking a seat
	// that is held (not expired) or sold returns *UnavailableError; unblocking a seat that is
	// not blocked changes nothing. ErrNotFound when the screening does not exist; seat IDs
	// are checked by the caller.
	SetBlocked(ctx context.Context, screeningID string, seatIDs []string, blocked bool) error

	// Sweep tidies up to limit holds whose deadline has passed: marks them HoldExpired and
	// frees their seats (taking a new availability version), so that reads need not skip
	// them. Correctness never depends on it. Safe to run on every instance at once.
	Sweep(ctx context.Context, limit int) (int, error)

	OrderStore
	SeatEventStore

	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the store's connections.
	Close()
}

// SessionRef names a session and its user.
type SessionRef struct{ UserID, SessionID string }

// MovieQuery pages through movies: those after (AfterTitle, AfterID), at most Limit (> 0).
type MovieQuery struct {
	AfterTitle, AfterID string
	Limit               int
}

// ScreeningQuery filters and pages screenings. Empty MovieID or CinemaID match any; From and
// To are required (From < To); the page starts after (AfterStart, AfterID) when AfterID is
// not empty; at most Limit (> 0).
type ScreeningQuery struct {
	MovieID, CinemaID string
	From, To          time.Time
	AfterStart        time.Time
	AfterID           string
	Limit             int
}

// HoldTx is one hold, taken in one transaction:
//
//  1. The screening must exist (ErrNotFound), be scheduled (ErrScreeningCancelled) and not
//     have started by now (ErrScreeningStarted). The check locks the screening against a
//     concurrent cancellation (not against other holds).
//  2. Availability is read; the seats of UserID's active hold on the screening (which this
//     hold replaces) count as available in it. Plan picks the seats and prices them; its
//     error aborts the transaction and is returned as is. Plan may be called more than once
//     (an adapter may retry a transaction that failed to serialise), so it must have no side
//     effects, and it must not call the store.
//  3. UserID's active hold on the screening, if any, ends as HoldReplaced and frees its seats.
//  4. Every planned seat is claimed in one statement, in sorted order: a seat is taken when it
//     has no claim, its claim is free, or it is held past its deadline. If any planned seat
//     could not be taken, the transaction rolls back (the replaced hold stays active) and the
//     error is *UnavailableError naming the seats that were taken.
//  5. The hold is stored as HoldActive with ExpiresAt = now + TTL, and every change takes a
//     new availability version.
//
// A Plan that picks no seat is FieldErrors; an ID already used is ErrConflict. A previous hold
// that had already expired ends as HoldExpired rather than HoldReplaced.
type HoldTx struct {
	ID          string
	ScreeningID string
	UserID      string
	SessionID   string
	TTL         time.Duration
	Plan        func(Availability) (seatIDs []string, total Money, err error)
}
