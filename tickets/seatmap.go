package tickets

import (
	"context"
	"fmt"
	"hash/fnv"
)

// SeatStatus is a seat of the layout with its availability.
type SeatStatus struct {
	Seat
	Status SeatState
}

// SeatMap is a screening's layout with each seat's availability, read at one instant.
type SeatMap struct {
	ScreeningID string
	// Version is the availability version: it only grows, and every change of a claim takes
	// a higher one once its seat event is numbered (see SeatEvent).
	Version int64
	// ETag identifies exactly this availability (the version and what it shows, including
	// holds that have just expired, which change no version until the sweeper tidies them).
	ETag  string
	Seats []SeatStatus
}

// SeatMap returns a screening's seat map, or ErrNotFound.
func (s *Service) SeatMap(ctx context.Context, screeningID string) (SeatMap, error) {
	st, err := s.seating(ctx, screeningID)
	if err != nil {
		return SeatMap{}, err
	}
	h := st.layout.hall
	a, err := s.store.Availability(ctx, screeningID)
	if err != nil {
		return SeatMap{}, err
	}
	m := SeatMap{ScreeningID: screeningID, Version: a.Version, Seats: make([]SeatStatus, len(h.Seats))}
	sum := fnv.New64a()
	for i, seat := range h.Seats {
		st := Available
		if c, ok := a.Taken[seat.ID]; ok {
			st = c.State
		}
		m.Seats[i] = SeatStatus{Seat: seat, Status: st}
		fmt.Fprintf(sum, "%s,%s,%s,%d,%d,%s,%t,%s=%s;", seat.ID, seat.Label, seat.Row, seat.X, seat.Y, seat.Category, seat.Accessible, seat.GroupID, st)
	}
	m.ETag = fmt.Sprintf(`"%d-%x"`, a.Version, sum.Sum64())
	return m, nil
}
