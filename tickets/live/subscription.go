package live

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"boxoffice/tickets"
)

// Kind tells what a Message is.
type Kind int

// Message kinds.
const (
	// Seats: Event is the next change, Version its version.
	Seats Kind = iota + 1
	// Reset: changes were missed that the outbox no longer has (or the client's version is
	// not one this database gave); the client must read the seat map again. The stream goes on
	// after Version.
	Reset
)

// Message is what a subscription delivers.
type Message struct {
	Kind    Kind
	Version int64
	Event   tickets.SeatEvent // for Seats
}

// Subscription is one client's stream of a screening's events, in version order without gaps
// (or a Reset). It is used by one goroutine at a time.
type Subscription struct {
	// Start is the version the stream starts after: the one asked for, or the screening's
	// current version.
	Start int64

	hub         *Hub
	screeningID string
	cursor      int64 // the version of the last message delivered
	known       int64 // the highest version read from the outbox
	backlog     []tickets.SeatEvent
	more        bool  // the outbox must be read again from cursor
	resetTo     int64 // > 0 or resetting: a Reset is due
	resetting   bool
	ch          chan tickets.SeatEvent
	lagged      atomic.Bool   // the topic stopped handing on events: read the outbox
	wake        chan struct{} // signalled when lagged is set
	closeOnce   sync.Once
}

// retryDelay is how long Next waits before reading the outbox again after it failed.
const retryDelay = time.Second

// Next returns the next message, waiting until there is one or ctx ends (ctx.Err()). It returns
// ErrClosed when the hub closes. A failed read of the outbox is retried until ctx ends.
func (s *Subscription) Next(ctx context.Context) (Message, error) {
	for {
		if s.resetting {
			s.resetting, s.cursor, s.backlog, s.more = false, s.resetTo, nil, false
			return Message{Kind: Reset, Version: s.cursor}, nil
		}
		if len(s.backlog) > 0 {
			ev := s.backlog[0]
			s.backlog = s.backlog[1:]
			if m, ok := s.take(ev); ok {
				return m, nil
			}
			continue
		}
		if s.more || s.lagged.Swap(false) {
			s.more = false
			events, current, err := s.hub.store.SeatEvents(ctx, s.screeningID, s.cursor, pageSize)
			if err != nil {
				s.more = true
				select {
				case <-time.After(retryDelay):
					continue
				case <-s.hub.done:
					return Message{}, ErrClosed
				case <-ctx.Done():
					return Message{}, ctx.Err()
				}
			}
			s.absorb(events, current)
			continue
		}
		select {
		case ev := <-s.ch:
			if m, ok := s.take(ev); ok {
				return m, nil
			}
		case <-s.wake:
		case <-s.hub.done:
			return Message{}, ErrClosed
		case <-ctx.Done():
			return Message{}, ctx.Err()
		}
	}
}

// ScreeningID is the screening the subscription streams.
func (s *Subscription) ScreeningID() string { return s.screeningID }

// Close ends the subscription. Safe to call more than once.
func (s *Subscription) Close() {
	s.closeOnce.Do(func() { s.hub.leave(s) })
}

// take delivers ev when it is the next version; a duplicate is skipped, and a gap makes Next
// read the outbox.
func (s *Subscription) take(ev tickets.SeatEvent) (Message, bool) {
	switch {
	case ev.Version <= s.cursor:
		return Message{}, false
	case ev.Version == s.cursor+1:
		s.cursor = ev.Version
		return Message{Kind: Seats, Version: ev.Version, Event: ev}, true
	}
	s.more, s.backlog = true, nil
	return Message{}, false
}

// absorb takes what the outbox returned after cursor: the events to deliver, or a Reset when
// some are gone (pruned) or the cursor is a version this screening never had.
func (s *Subscription) absorb(events []tickets.SeatEvent, current int64) {
	s.known = max(s.known, current)
	gone := len(events) > 0 && events[0].Version > s.cursor+1 || len(events) == 0 && current > s.cursor
	if gone || s.cursor > current {
		s.resetting, s.resetTo = true, current
		return
	}
	s.backlog = append(s.backlog[:0], events...)
	s.more = len(events) == pageSize
}

// lag makes the subscription read the outbox itself (its buffer was full, or the topic skipped
// versions).
func (s *Subscription) lag() {
	s.lagged.Store(true)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
