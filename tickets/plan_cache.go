package tickets

import (
	"context"
	"sync"
	"time"
)

// seating is what a hold needs to know of a screening besides its availability: the hall's
// layout and the prices. It cannot change while the screening takes holds: prices are set
// when a screening is scheduled, and a hall's layout cannot change while a scheduled
// screening that has not ended uses it (ErrHallInUse). Whether the screening is still
// scheduled and has not started is checked by the store, in the hold's transaction.
type seating struct {
	screeningID string
	layout      *layout
	prices      map[string]Price
	loaded      time.Time
}

// seatingCache keeps seatings per instance, so that a hold costs no reads beyond its own
// transaction. Entries live at most seatingTTL (a bound on staleness should an administrator
// race a layout change with the scheduling of a screening in the same hall) and there are at
// most seatingMax of them.
type seatingCache struct {
	mu      sync.Mutex
	entries map[string]*seating
}

const (
	seatingTTL = 30 * time.Second
	seatingMax = 1024
)

// seating returns the screening's layout and prices, from the cache when fresh. ErrNotFound
// when the screening does not exist.
func (s *Service) seating(ctx context.Context, screeningID string) (*seating, error) {
	now := s.cfg.Now()
	c := &s.seatings
	c.mu.Lock()
	e, ok := c.entries[screeningID]
	c.mu.Unlock()
	if ok && now.Sub(e.loaded) < seatingTTL && now.Sub(e.loaded) >= 0 {
		return e, nil
	}
	sc, err := s.store.Screening(ctx, screeningID)
	if err != nil {
		return nil, err
	}
	h, err := s.store.Hall(ctx, sc.HallID)
	if err != nil {
		return nil, err
	}
	e = &seating{screeningID: sc.ID, layout: newLayout(h), prices: map[string]Price{}, loaded: now}
	for _, p := range sc.Prices {
		e.prices[p.Category] = p
	}
	c.mu.Lock()
	if c.entries == nil || len(c.entries) >= seatingMax {
		c.entries = make(map[string]*seating, 64) // start over rather than track recency
	}
	c.entries[screeningID] = e
	c.mu.Unlock()
	return e, nil
}
