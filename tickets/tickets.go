// Package tickets is boxoffice's ticketing domain: the catalogue (movies, cinemas, halls and
// their seat layouts, screenings), seat maps and seat holds, as plain Go rules over a Store
// that the database adapters (tickets/postgres, tickets/sqlite) implement.
//
// The database decides who gets a seat: a Store claims every seat of a hold in one
// transaction, all or nothing, and treats a hold whose deadline has passed on the database's
// clock as free (lazy expiry). The rules that need the hall's layout (seat groups, orphan
// seats, best available) run in this package, inside that transaction, through HoldTx.Plan.
package tickets

import "time"

// Money is an amount in minor units (cents) of an ISO 4217 currency.
type Money struct {
	Amount   int64
	Currency string
}

// Movie is a film in the catalogue.
type Movie struct {
	ID              string
	Title           string
	Synopsis        string
	DurationMinutes int
	Rating          string   // e.g. "PG-13"; may be empty
	Genres          []string // may be empty
}

// Cinema is a venue with its halls (without their seats; see Hall).
type Cinema struct {
	ID       string
	Name     string
	City     string
	TimeZone string // IANA zone, e.g. "Europe/Berlin"
	Halls    []HallSummary
}

// HallSummary is a hall as listed with its cinema.
type HallSummary struct {
	ID        string
	Name      string
	SeatCount int
}

// Hall is a screen with its seat layout. Seat IDs are unique within the hall.
type Hall struct {
	ID              string
	CinemaID        string
	Name            string
	CleaningMinutes int // kept free after each screening; default 15
	Seats           []Seat
}

// Seat is a place in a hall's layout. X and Y are drawing coordinates (one unit per seat
// width; a gap in X within a row is an aisle). Seats sharing a GroupID (a love seat) are held
// whole or not at all.
type Seat struct {
	ID         string
	Label      string // what the ticket prints, e.g. "F12"
	Row        string
	Number     int
	X, Y       int
	Category   string // price category, e.g. "standard", "premium"
	Accessible bool   // wheelchair space
	GroupID    string // empty for a seat sold alone
}

// Price is what a seat of Category costs at one screening.
type Price struct {
	Category string
	Amount   int64
	Currency string
}

// Screening statuses.
const (
	ScreeningScheduled = "scheduled"
	ScreeningCancelled = "cancelled"
)

// Screening is a movie shown in a hall at a time. EndsAt is when the film ends; the hall is
// busy until EndsAt plus its cleaning time.
type Screening struct {
	ID             string
	MovieID        string
	CinemaID       string
	HallID         string
	StartsAt       time.Time
	EndsAt         time.Time
	Prices         []Price
	Status         string // ScreeningScheduled or ScreeningCancelled
	SeatsAvailable int    // filled in by reads
}

// SeatState is a seat's availability at one screening.
type SeatState string

// Seat states. A hold past its deadline is Available.
const (
	Available SeatState = "available"
	Held      SeatState = "held"
	Sold      SeatState = "sold"
	Blocked   SeatState = "blocked"
)

// Claim is a seat that is not available at a screening, and why.
type Claim struct {
	SeatID    string
	State     SeatState // Held, Sold or Blocked
	HoldID    string    // for Held
	ExpiresAt time.Time // for Held
}

// Availability is the seats taken at a screening, read at one instant of the database's
// clock. Version only grows: every change of a seat's claim takes a new, higher number.
type Availability struct {
	ScreeningID string
	Version     int64
	Now         time.Time        // the database's clock at the read
	Taken       map[string]Claim // by seat ID; a seat not in it is available
}

// Hold statuses. A hold whose status is HoldActive but whose deadline has passed is reported
// as HoldExpired.
const (
	HoldActive    = "active"
	HoldReleased  = "released"  // by its owner
	HoldReplaced  = "replaced"  // by the owner's next hold on the same screening
	HoldExpired   = "expired"   // its deadline passed
	HoldRevoked   = "revoked"   // its session ended (logout, revocation, token reuse)
	HoldCancelled = "cancelled" // its screening was cancelled
	HoldConfirmed = "confirmed" // became an order (Tickets II)
)

// Hold is seats kept for one session until ExpiresAt.
type Hold struct {
	ID          string
	ScreeningID string
	UserID      string
	SessionID   string
	SeatIDs     []string // sorted
	Status      string
	Total       Money
	CreatedAt   time.Time
	ExpiresAt   time.Time
	ServerTime  time.Time // the database's clock when the hold was read or written
}

// Effective is the hold with its status as of ServerTime (an active hold past its deadline
// is expired).
func (h Hold) Effective() Hold {
	if h.Status == HoldActive && !h.ServerTime.Before(h.ExpiresAt) {
		h.Status = HoldExpired
	}
	return h
}

// ExpiresIn is how long the hold has left at ServerTime, in whole seconds (0 once expired or
// no longer active). Clients count down from it rather than from their own clock.
func (h Hold) ExpiresIn() int {
	if h.Status != HoldActive {
		return 0
	}
	d := h.ExpiresAt.Sub(h.ServerTime)
	if d <= 0 {
		return 0
	}
	return int(d / time.Second)
}
