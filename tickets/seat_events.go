package tickets

import (
	"context"
	"time"
)

// SeatEvent is one committed change of a screening's seats: the new status of every seat it
// changed, and its version. Every transaction that changes seats of a screening writes exactly
// one event, in the same transaction. Events are numbered — the screening's versions 1, 2, 3, …
// without gaps — when they are sequenced: at commit (SQLite) or by the next SequenceSeatEvents
// (PostgreSQL, which numbers them after the fact so that claim transactions take no lock for
// it). The numbering puts the changes of each seat in commit order; changes of different seats
// may be numbered in another order than they committed, which no seat map can tell apart.
//
// A seat map read at version V (Availability) shows every event up to V, and perhaps changes
// committed but not numbered yet: applying the events after V to it gives the seat map after
// them (an event already shown sets seats to what they already are). Holds that pass their
// deadline count as available in seat maps at once but produce their event (Available) only
// when the sweeper marks them expired.
type SeatEvent struct {
	ScreeningID string
	Version     int64
	Seats       []SeatChange // sorted by SeatID, at least one
	At          time.Time    // the database's clock in the transaction that made the change
}

// SeatChange is a seat's status after a change: Available (released, expired, cancelled,
// refunded, unblocked), Held, Sold or Blocked.
type SeatChange struct {
	SeatID string
	Status SeatState
}

// SeatEventStore is the part of Store that keeps seat events: an outbox written in the same
// transaction as each change of seat_claims, read by subscribers to resume and by one
// publisher at a time to push the events out. Events are never changed, only published once
// and pruned.
type SeatEventStore interface {
	// SeatEvents returns up to limit (> 0) numbered events of a screening with Version > after,
	// in version order, and the screening's current version (the Availability version: its last
	// numbered event's; 0 before any). When events after `after` have been pruned, the first event returned has a
	// Version above after+1 (or none is returned while current > after): the caller has missed
	// changes it cannot get back and must read the seat map again. ErrNotFound when the
	// screening does not exist.
	SeatEvents(ctx context.Context, screeningID string, after int64, limit int) ([]SeatEvent, int64, error)
	// SeatVersions returns the current version of each of the screenings that exist among ids
	// (the others are left out), in one read.
	SeatVersions(ctx context.Context, ids []string) (map[string]int64, error)
	// SequenceSeatEvents numbers up to limit (> 0) committed events that have no version yet,
	// and returns how many. One caller at a time across every instance sequences: a call made
	// while another is sequencing returns 0, nil. A store that numbers events at commit does
	// nothing.
	SequenceSeatEvents(ctx context.Context, limit int) (int, error)
	// PublishSeatEvents sequences (SequenceSeatEvents), then passes up to limit (> 0) numbered
	// events that have not been published yet to
	// publish, in version order within each screening, and marks them published when publish
	// returns nil (when it returns an error, nothing is marked and the error is returned). Only
	// one caller across every instance publishes at a time: a call made while another is
	// publishing returns 0, nil at once. An event is published again only when its publisher
	// failed after publish returned nil but before it was marked (a crash): subscribers ignore
	// versions they have seen.
	PublishSeatEvents(ctx context.Context, limit int, publish func([]SeatEvent) error) (int, error)
	// PruneSeatEvents deletes, for each screening, the events up to the newest one made more
	// than keep ago (the database's clock), published or not, so that what is left of a
	// screening's events is always a run without gaps ending at its current version. It returns
	// how many it deleted.
	PruneSeatEvents(ctx context.Context, keep time.Duration) (int, error)
}
