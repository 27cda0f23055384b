package live

import (
	"sync"

	"boxoffice/tickets"
)

// topic is one screening's subscriptions on this instance and the last version handed to
// them: it passes on events in version order, and asks for the outbox to be read when one is
// missing.
type topic struct {
	id string

	mu     sync.Mutex
	last   int64 // the version of the last event handed on
	subs   map[*Subscription]struct{}
	queued bool // waiting for the filler
}

// offer hands ev on when it is the next version (an older one is a duplicate: true). It
// returns false when versions are missing before ev: the caller queues the topic to be filled
// from the outbox, which hands on ev with them.
func (t *topic) offer(ev tickets.SeatEvent) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case ev.Version <= t.last:
		return true
	case ev.Version == t.last+1:
		t.handOn(ev)
		return true
	}
	return false
}

// force hands on an event read from the outbox: the next one, or one after a pruned gap (the
// subscriptions notice the gap and reset).
func (t *topic) force(ev tickets.SeatEvent) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if ev.Version > t.last {
		t.handOn(ev)
	}
}

// skipTo moves the topic to version v when the events before it are gone from the outbox; every
// subscription rereads the outbox (and resets).
func (t *topic) skipTo(v int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if v <= t.last {
		return
	}
	t.last = v
	for s := range t.subs {
		s.lag()
	}
}

// handOn passes ev to every subscription without waiting: one whose buffer is full is told to
// catch up from the outbox instead. t.mu is held.
func (t *topic) handOn(ev tickets.SeatEvent) {
	t.last = ev.Version
	for s := range t.subs {
		if s.lagged.Load() {
			continue
		}
		select {
		case s.ch <- ev:
		default:
			s.lag()
		}
	}
}

func (t *topic) lastVersion() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last
}

// add registers s; it reports whether the topic is behind the version s has read.
func (t *topic) add(s *Subscription) (behind bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.subs[s] = struct{}{}
	return t.last < s.known
}

// remove unregisters s and reports whether it was registered.
func (t *topic) remove(s *Subscription) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.subs[s]
	delete(t.subs, s)
	return ok
}

func (t *topic) empty() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.subs) == 0
}

// queue marks the topic as waiting for the filler; false when it already is.
func (t *topic) queue() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.queued {
		return false
	}
	t.queued = true
	return true
}

func (t *topic) dequeue() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.queued = false
}
