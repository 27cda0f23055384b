package live

import (
	"context"
	"log/slog"
	"time"

	"boxoffice/tickets"
)

// publishLoop numbers and publishes the outbox every PublishInterval (PublishSeatEvents does
// both); while another instance holds the store's sequencer or publisher lock, that instance
// does that part.
func (h *Hub) publishLoop(ctx context.Context) {
	failing := &failures{log: h.log, what: "publishing seat events"}
	tick := time.NewTicker(h.cfg.PublishInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for ctx.Err() == nil {
			n, err := h.store.PublishSeatEvents(ctx, pageSize, func(events []tickets.SeatEvent) error {
				return h.broker.Publish(ctx, events)
			})
			failing.report(ctx, err)
			if err != nil || n < pageSize {
				break
			}
		}
	}
}

// listenLoop keeps a subscription to the broker, subscribing again (after a pause that grows to
// 5s) when it breaks. Each new subscription polls at once for what was missed meanwhile.
func (h *Hub) listenLoop(ctx context.Context) {
	failing := &failures{log: h.log, what: "listening for seat events"}
	pause := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := h.broker.Listen(ctx, func() { failing.report(ctx, nil); h.pollNow() }, h.deliver)
		if ctx.Err() != nil {
			return
		}
		failing.report(ctx, err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, 5*time.Second)
	}
}

// pollLoop reads the versions of the screenings streamed here every PollInterval (or at once
// after pollNow) and queues those the broker left behind to be filled from the outbox.
func (h *Hub) pollLoop(ctx context.Context) {
	failing := &failures{log: h.log, what: "polling seat versions"}
	tick := time.NewTicker(h.cfg.PollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-h.kick:
		}
		topics := h.watched()
		if len(topics) == 0 {
			continue
		}
		ids := make([]string, len(topics))
		for i, t := range topics {
			ids[i] = t.id
		}
		versions, err := h.store.SeatVersions(ctx, ids)
		failing.report(ctx, err)
		for _, t := range topics {
			if v, ok := versions[t.id]; ok && v > t.lastVersion() {
				h.behind(t)
			}
		}
	}
}

// pollNow makes the poll loop run now.
func (h *Hub) pollNow() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// fillLoop reads the outbox for each topic queued as behind and hands on what it finds.
func (h *Hub) fillLoop(ctx context.Context) {
	failing := &failures{log: h.log, what: "reading seat events"}
	for {
		select {
		case <-ctx.Done():
			return
		case t := <-h.fill:
			t.dequeue()
			failing.report(ctx, h.fillTopic(ctx, t))
		}
	}
}

// fillTopic hands on every event of t's screening after its last version.
func (h *Hub) fillTopic(ctx context.Context, t *topic) error {
	for {
		last := t.lastVersion()
		events, current, err := h.store.SeatEvents(ctx, t.id, last, pageSize)
		if err != nil {
			return err
		}
		if len(events) == 0 {
			t.skipTo(current) // pruned (or nothing new): subscriptions reread and reset
			return nil
		}
		for _, ev := range events {
			t.force(ev)
		}
		if len(events) < pageSize {
			return nil
		}
	}
}

// pruneLoop deletes events older than Retention, every Retention/4 (at most every minute).
func (h *Hub) pruneLoop(ctx context.Context) {
	failing := &failures{log: h.log, what: "pruning seat events"}
	tick := time.NewTicker(min(h.cfg.Retention/4, time.Minute))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			_, err := h.store.PruneSeatEvents(ctx, h.cfg.Retention)
			failing.report(ctx, err)
		}
	}
}

// failures logs when a loop starts failing and when it recovers, not every failure.
type failures struct {
	log     *slog.Logger
	what    string
	failing bool
}

func (f *failures) report(ctx context.Context, err error) {
	switch {
	case ctx.Err() != nil:
	case err != nil && !f.failing:
		f.failing = true
		f.log.Warn(f.what+" failed; live seat maps fall back to reading the database", "err", err)
	case err == nil && f.failing:
		f.failing = false
		f.log.Info(f.what + " works again")
	}
}
