// Package live delivers every committed change of a screening's seats to the subscribers of
// every instance, in version order, resuming from the database's outbox whatever a broker lost.
package live

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"sync"
	"time"

	"boxoffice/tickets"
)

// Store is what the hub reads: the seat events outbox (tickets.SeatEventStore).
type Store interface {
	tickets.SeatEventStore
}

// Broker carries published events to every instance: Redis Pub/Sub in production
// (tickets/live/redisbroker). It may lose messages (a restart, a slow subscriber): the hub
// finds what is missing in the outbox.
type Broker interface {
	// Publish sends events to every instance's Listen.
	Publish(ctx context.Context, events []tickets.SeatEvent) error
	// Listen passes every event published after it has subscribed to deliver, until ctx ends
	// or the subscription breaks; it returns the reason. subscribed is called once the
	// subscription is in place.
	Listen(ctx context.Context, subscribed func(), deliver func(tickets.SeatEvent)) error
}

// Config tunes a Hub. Zero values take the defaults.
type Config struct {
	// PublishInterval is how often an instance numbers the events committed since
	// (SeatEventStore.SequenceSeatEvents) and publishes them (one instance at a time does each);
	// default DefaultPublishInterval.
	PublishInterval time.Duration
	// PollInterval is how often an instance reads the versions of the screenings it streams,
	// to find events the broker lost (and all of them while the broker is down); default
	// DefaultPollInterval.
	PollInterval time.Duration
	// Retention is how long events are kept for clients that resume; default DefaultRetention.
	// Older gaps get a reset.
	Retention time.Duration
	// MaxStreams bounds the subscriptions of this instance; default DefaultMaxStreams.
	// Subscribe returns ErrTooManyStreams beyond it.
	MaxStreams int
	// Buffer is how many events a subscription may fall behind before it is moved to reading
	// the outbox itself; default 256.
	Buffer int
	Logger *slog.Logger
}

// Defaults of Config's zero fields, as NewHub applies them (exported so that configuration
// loaders and their documentation state the same values).
const (
	DefaultPublishInterval = 50 * time.Millisecond
	DefaultPollInterval    = time.Second
	DefaultRetention       = 15 * time.Minute
	DefaultMaxStreams      = 10000
)

// Errors of Subscribe and Next.
var (
	// ErrTooManyStreams: this instance already serves Config.MaxStreams subscriptions.
	ErrTooManyStreams = errors.New("live: too many streams on this instance")
	// ErrClosed: the hub is shutting down; the client should reconnect (to another instance).
	ErrClosed = errors.New("live: hub closed")
)

// pageSize bounds each read of the outbox.
const pageSize = 500

// Hub is one instance's fan-out: it publishes the outbox through the broker, listens to it,
// and hands each screening's events to that screening's subscriptions.
type Hub struct {
	store  Store
	broker Broker
	cfg    Config
	log    *slog.Logger

	mu     sync.Mutex
	topics map[string]*topic
	subs   int
	closed bool
	done   chan struct{} // closed by Close

	fill chan *topic   // topics whose subscribers are behind the database
	kick chan struct{} // poll now
}

// NewHub returns a hub over store and broker; Run makes it work.
func NewHub(store Store, broker Broker, cfg Config) *Hub {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.PublishInterval, DefaultPublishInterval)
	def(&cfg.PollInterval, DefaultPollInterval)
	def(&cfg.Retention, DefaultRetention)
	if cfg.MaxStreams <= 0 {
		cfg.MaxStreams = DefaultMaxStreams
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = 256
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Hub{store: store, broker: broker, cfg: cfg, log: log, topics: map[string]*topic{},
		done: make(chan struct{}), fill: make(chan *topic, 1024), kick: make(chan struct{}, 1)}
}

// Run publishes, listens, polls, fills gaps and prunes the outbox until ctx ends, then closes
// the hub.
func (h *Hub) Run(ctx context.Context) {
	defer h.Close()
	var wg sync.WaitGroup
	for _, loop := range []func(context.Context){h.publishLoop, h.listenLoop, h.pollLoop, h.fillLoop, h.pruneLoop} {
		wg.Add(1)
		go func() { defer wg.Done(); loop(ctx) }()
	}
	wg.Wait()
}

// Close ends every subscription (their Next returns ErrClosed) and refuses new ones. Safe to
// call more than once.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	close(h.done) // every Next returns ErrClosed
	h.topics = map[string]*topic{}
	h.subs = 0
}

// Streams returns how many subscriptions are open on this instance.
func (h *Hub) Streams() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.subs
}

// Subscribe opens a subscription to a screening's events after version after (after < 0: from
// the current version). It returns tickets.ErrNotFound for a screening that does not exist,
// ErrTooManyStreams, ErrClosed, or the store's error (wrapping tickets.ErrUnavailable).
func (h *Hub) Subscribe(ctx context.Context, screeningID string, after int64) (*Subscription, error) {
	from := after
	if after < 0 {
		from = math.MaxInt64
	}
	events, current, err := h.store.SeatEvents(ctx, screeningID, from, pageSize)
	if err != nil {
		return nil, err
	}
	s := &Subscription{hub: h, screeningID: screeningID, cursor: after,
		ch: make(chan tickets.SeatEvent, h.cfg.Buffer), wake: make(chan struct{}, 1)}
	if after < 0 {
		s.cursor = current
	}
	s.Start = s.cursor
	s.absorb(events, current)
	if err := h.join(s); err != nil {
		return nil, err
	}
	return s, nil
}

// join registers s with its screening's topic, creating it at current version s.cursor.
func (h *Hub) join(s *Subscription) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return ErrClosed
	case h.subs >= h.cfg.MaxStreams:
		return ErrTooManyStreams
	}
	t := h.topics[s.screeningID]
	if t == nil {
		t = &topic{id: s.screeningID, last: s.known, subs: map[*Subscription]struct{}{}}
		h.topics[s.screeningID] = t
	}
	h.subs++
	if t.add(s) {
		h.behind(t) // the topic has not seen versions this subscription read: fill it
	}
	return nil
}

// leave unregisters s; a topic without subscriptions is dropped.
func (h *Hub) leave(s *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.topics[s.screeningID]
	if t == nil || !t.remove(s) {
		return
	}
	h.subs--
	if t.empty() {
		delete(h.topics, s.screeningID)
	}
}

// topicFor returns the topic of a screening that has subscriptions here, or nil.
func (h *Hub) topicFor(id string) *topic {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.topics[id]
}

// watched returns the topics with subscriptions.
func (h *Hub) watched() []*topic {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*topic, 0, len(h.topics))
	for _, t := range h.topics {
		out = append(out, t)
	}
	return out
}

// deliver hands an event from the broker to its topic, if this instance streams it.
func (h *Hub) deliver(ev tickets.SeatEvent) {
	if t := h.topicFor(ev.ScreeningID); t != nil && !t.offer(ev) {
		h.behind(t)
	}
}

// behind queues a topic to be filled from the outbox (once, however often it is called before
// the filler gets to it).
func (h *Hub) behind(t *topic) {
	if t.queue() {
		select {
		case h.fill <- t:
		default: // the filler is far behind: the next poll finds this topic again
			t.dequeue()
		}
	}
}
