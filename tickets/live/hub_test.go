package live_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"boxoffice/tickets"
	"boxoffice/tickets/live"
	"boxoffice/tickets/sqlite"
	"boxoffice/tickets/ticketstest"
)

// broker is an in-process live.Broker (the interface is ours; the store under the hub is the
// real SQLite adapter). It can lose every message, or be down: Publish fails and listeners are
// cut off until it is up again.
type broker struct {
	mu        sync.Mutex
	listeners map[chan tickets.SeatEvent]struct{}
	lose      bool
	dropEvery int // > 0: every dropEvery-th event is lost
	sent      int
	down      bool
	published int
	cut       chan struct{} // closed when the broker goes down
}

func newBroker() *broker {
	return &broker{listeners: map[chan tickets.SeatEvent]struct{}{}, cut: make(chan struct{})}
}

func (b *broker) Publish(_ context.Context, events []tickets.SeatEvent) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.down {
		return errors.New("broker down")
	}
	b.published += len(events)
	if b.lose {
		return nil
	}
	for _, ev := range events {
		b.sent++
		if b.dropEvery > 0 && b.sent%b.dropEvery == 0 {
			continue
		}
		for l := range b.listeners {
			select {
			case l <- ev:
			default: // a slow listener loses messages, as with Redis
			}
		}
	}
	return nil
}

func (b *broker) Listen(ctx context.Context, subscribed func(), deliver func(tickets.SeatEvent)) error {
	b.mu.Lock()
	if b.down {
		b.mu.Unlock()
		return errors.New("broker down")
	}
	l, cut := make(chan tickets.SeatEvent, 1024), b.cut
	b.listeners[l] = struct{}{}
	b.mu.Unlock()
	defer func() { b.mu.Lock(); delete(b.listeners, l); b.mu.Unlock() }()
	subscribed()
	for {
		select {
		case ev := <-l:
			deliver(ev)
		case <-cut:
			return errors.New("connection lost")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (b *broker) setDown(down bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if down && !b.down {
		close(b.cut)
	} else if !down && b.down {
		b.cut = make(chan struct{})
	}
	b.down = down
}

func (b *broker) setLose(lose bool) { b.mu.Lock(); b.lose = lose; b.mu.Unlock() }

type world struct {
	store tickets.Store
	hub   *live.Hub
	b     *broker
	scr   string
	clock *clock
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newWorld(t *testing.T, cfg live.Config) *world {
	t.Helper()
	c := &clock{now: time.Now()}
	st, err := sqlite.Open(context.Background(), "", sqlite.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	_, _, _, scr := ticketstest.Fixture(t, st, ticketstest.StartsAt(c.Now().Add(24*time.Hour)))
	if cfg.PublishInterval == 0 {
		cfg.PublishInterval = 5 * time.Millisecond
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 20 * time.Millisecond
	}
	b := newBroker()
	hub := live.NewHub(st, b, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); hub.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return &world{store: st, hub: hub, b: b, scr: scr.ID, clock: c}
}

// block blocks (or unblocks) a seat: one change, one version.
func (w *world) block(t *testing.T, seat string, blocked bool) {
	t.Helper()
	if err := w.store.SetBlocked(context.Background(), w.scr, []string{seat}, blocked); err != nil {
		t.Fatal(err)
	}
}

// next reads the next message within 20s.
func next(t *testing.T, s *live.Subscription) live.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m, err := s.Next(ctx)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return m
}

func expectSeats(t *testing.T, s *live.Subscription, version int64, seat string, status tickets.SeatState) {
	t.Helper()
	m := next(t, s)
	if m.Kind != live.Seats || m.Version != version || m.Event.Version != version ||
		len(m.Event.Seats) != 1 || m.Event.Seats[0] != (tickets.SeatChange{SeatID: seat, Status: status}) {
		t.Fatalf("got %+v, want version %d: %s %s", m, version, seat, status)
	}
}

func subscribe(t *testing.T, w *world, after int64) *live.Subscription {
	t.Helper()
	s, err := w.hub.Subscribe(context.Background(), w.scr, after)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestDeliversEveryChangeInOrder(t *testing.T) {
	w := newWorld(t, live.Config{})
	s := subscribe(t, w, -1)
	if s.Start != 0 {
		t.Fatalf("Start %d on a screening without changes", s.Start)
	}
	seats := []string{"A2", "A3", "B1", "B2", "C3"}
	for _, seat := range seats {
		w.block(t, seat, true)
	}
	w.block(t, "A2", false)
	for i, seat := range seats {
		expectSeats(t, s, int64(i+1), seat, tickets.Blocked)
	}
	expectSeats(t, s, 6, "A2", tickets.Available)

	// A subscription from an earlier version gets what it missed, then the rest.
	r := subscribe(t, w, 3)
	expectSeats(t, r, 4, "B2", tickets.Blocked)
	expectSeats(t, r, 5, "C3", tickets.Blocked)
	expectSeats(t, r, 6, "A2", tickets.Available)
	w.block(t, "A3", false)
	expectSeats(t, r, 7, "A3", tickets.Available)
	expectSeats(t, s, 7, "A3", tickets.Available)
}

// TestLostMessagesComeFromTheOutbox: the broker loses every message; the poll finds the
// versions and the events come from the outbox, in order.
func TestLostMessagesComeFromTheOutbox(t *testing.T) {
	w := newWorld(t, live.Config{})
	w.b.setLose(true)
	s := subscribe(t, w, -1)
	for _, seat := range []string{"A2", "A3", "A4"} {
		w.block(t, seat, true)
	}
	expectSeats(t, s, 1, "A2", tickets.Blocked)
	expectSeats(t, s, 2, "A3", tickets.Blocked)
	expectSeats(t, s, 3, "A4", tickets.Blocked)
}

// TestDroppedMessagesLeaveNoGap: the broker loses every other event; subscribers still get
// every version, in order (the topic fills the gap from the outbox, and each subscription
// would too).
func TestDroppedMessagesLeaveNoGap(t *testing.T) {
	w := newWorld(t, live.Config{PollInterval: time.Hour}) // only gaps can trigger a fill
	w.b.mu.Lock()
	w.b.dropEvery = 2
	w.b.mu.Unlock()
	s := subscribe(t, w, -1)
	seats := []string{"A2", "A3", "A4", "A5", "A6", "B1", "B2"}
	for i, seat := range seats {
		w.block(t, seat, true)
		if i%2 == 1 {
			time.Sleep(10 * time.Millisecond) // publish in several batches
		}
	}
	w.block(t, "C3", true) // lost (8th), after B2 (7th) arrived and filled the gap before it
	for i, seat := range seats {
		expectSeats(t, s, int64(i+1), seat, tickets.Blocked)
	}
}

// TestBrokerDown: while the broker is down nothing is marked published, streams go on from the
// outbox, and once it is back the events are published.
func TestBrokerDown(t *testing.T) {
	w := newWorld(t, live.Config{})
	s := subscribe(t, w, -1)
	w.b.setDown(true)
	w.block(t, "B3", true)
	w.block(t, "B4", true)
	expectSeats(t, s, 1, "B3", tickets.Blocked)
	expectSeats(t, s, 2, "B4", tickets.Blocked)
	w.b.setDown(false)
	deadline := time.Now().Add(20 * time.Second)
	for {
		w.b.mu.Lock()
		n := w.b.published
		w.b.mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events published after the broker came back, want 2", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	w.block(t, "B3", false)
	expectSeats(t, s, 3, "B3", tickets.Available)
}

// TestSlowSubscriberCatchesUp: a subscription whose buffer fills is not dropped and does not
// hold the others back: it reads the outbox itself and loses nothing.
func TestSlowSubscriberCatchesUp(t *testing.T) {
	w := newWorld(t, live.Config{Buffer: 2})
	slow := subscribe(t, w, -1)
	fast := subscribe(t, w, -1)
	seats := []string{"A2", "A3", "A4", "A5", "A6", "B1", "B2", "B3"}
	for i, seat := range seats {
		w.block(t, seat, true)
		expectSeats(t, fast, int64(i+1), seat, tickets.Blocked)
	}
	for i, seat := range seats {
		expectSeats(t, slow, int64(i+1), seat, tickets.Blocked)
	}
}

// TestPrunedGapResets: a subscription from a version whose successors were pruned gets a Reset
// to the current version, then the changes after it.
func TestPrunedGapResets(t *testing.T) {
	w := newWorld(t, live.Config{})
	w.block(t, "A2", true)
	w.block(t, "A3", true)
	w.clock.add(time.Hour)
	if _, err := w.store.PruneSeatEvents(context.Background(), time.Minute); err != nil {
		t.Fatal(err)
	}
	s := subscribe(t, w, 0)
	if m := next(t, s); m.Kind != live.Reset || m.Version != 2 {
		t.Fatalf("got %+v, want a reset to version 2", m)
	}
	w.block(t, "A4", true)
	expectSeats(t, s, 3, "A4", tickets.Blocked)
	// A version this screening never had resets too.
	f := subscribe(t, w, 99)
	if m := next(t, f); m.Kind != live.Reset || m.Version != 3 {
		t.Fatalf("got %+v, want a reset to version 3", m)
	}
}

func TestLimitsAndClose(t *testing.T) {
	w := newWorld(t, live.Config{MaxStreams: 2})
	a := subscribe(t, w, -1)
	subscribe(t, w, -1)
	if _, err := w.hub.Subscribe(context.Background(), w.scr, -1); !errors.Is(err, live.ErrTooManyStreams) {
		t.Fatalf("third stream: %v, want ErrTooManyStreams", err)
	}
	a.Close()
	a.Close()
	if n := w.hub.Streams(); n != 1 {
		t.Fatalf("%d streams after one closed, want 1", n)
	}
	if _, err := w.hub.Subscribe(context.Background(), "scr_nope", -1); !errors.Is(err, tickets.ErrNotFound) {
		t.Fatalf("unknown screening: %v, want ErrNotFound", err)
	}
	c := subscribe(t, w, -1)
	w.hub.Close()
	if _, err := c.Next(context.Background()); !errors.Is(err, live.ErrClosed) {
		t.Fatalf("Next after Close: %v, want ErrClosed", err)
	}
	if _, err := w.hub.Subscribe(context.Background(), w.scr, -1); !errors.Is(err, live.ErrClosed) {
		t.Fatalf("Subscribe after Close: %v, want ErrClosed", err)
	}
}

// TestManySubscribersSeeTheSameSequence: concurrent changes and subscribers joining at random
// versions; every subscriber sees versions without gaps and the same change at each version.
func TestManySubscribersSeeTheSameSequence(t *testing.T) {
	w := newWorld(t, live.Config{Buffer: 4})
	seats := []string{"A2", "A3", "A4", "A5", "A6", "B1", "B2", "B3", "B4", "B5", "B6"}
	const rounds = 40
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range rounds {
			seat := seats[i%len(seats)]
			if err := w.store.SetBlocked(context.Background(), w.scr, []string{seat}, (i/len(seats))%2 == 0); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var mu sync.Mutex
	seen := map[int64]string{}
	for k := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := w.hub.Subscribe(context.Background(), w.scr, int64(k%2)-1) // from the start, or from now
			if err != nil {
				t.Error(err)
				return
			}
			defer s.Close()
			last := s.Start
			for last < rounds {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				m, err := s.Next(ctx)
				cancel()
				if err != nil {
					t.Errorf("subscriber %d: %v after version %d", k, err, last)
					return
				}
				if m.Kind != live.Seats || m.Version != last+1 {
					t.Errorf("subscriber %d: %+v after version %d", k, m, last)
					return
				}
				last = m.Version
				got := fmt.Sprint(m.Event.Seats)
				mu.Lock()
				if prev, ok := seen[m.Version]; ok && prev != got {
					t.Errorf("version %d is %s for one subscriber and %s for another", m.Version, prev, got)
				}
				seen[m.Version] = got
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}
