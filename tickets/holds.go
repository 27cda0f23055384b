package tickets

import (
	"context"
	"fmt"
	"slices"
)

// Selection is what a hold asks for: either SeatIDs, or Count seats chosen by best available
// (optionally only of Category, and only wheelchair spaces when Accessible).
type Selection struct {
	SeatIDs    []string
	Count      int
	Category   string
	Accessible bool
}

// planAttempts bounds how often a best-available hold re-plans after losing a seat to a
// concurrent hold (the request's deadline bounds it too). Every lost attempt means another
// hold committed, so with fewer than planAttempts buyers at once nobody is refused while seats
// remain; and each new attempt chooses among more of the best blocks, so buyers asking at the
// same moment spread out instead of colliding again.
const planAttempts = 64

// Hold keeps seats of a screening for the owner's session until the hold expires
// (Config.HoldTTL), replacing the owner's previous hold on that screening. All or nothing.
// It returns FieldErrors for a malformed selection or unknown seats, *RuleError
// (ErrTooManySeats, ErrSeatGroupSplit, ErrOrphanSeat), *UnavailableError when a seat is
// taken, ErrNotEnoughSeats, ErrNotFound, ErrScreeningCancelled, ErrScreeningStarted and
// ErrUnavailable.
func (s *Service) Hold(ctx context.Context, o Owner, screeningID string, sel Selection) (Hold, error) {
	if err := s.validSelection(sel); err != nil {
		return Hold{}, err
	}
	st, err := s.seating(ctx, screeningID)
	if err != nil {
		return Hold{}, err
	}
	l, prices := st.layout, st.prices
	if sel.Category != "" && !l.hasCategory(sel.Category) {
		return Hold{}, FieldErrors{"category": "this hall has no seats of category " + sel.Category}
	}
	spread := 1
	plan := func(a Availability) ([]string, Money, error) {
		occ := l.occupancy(a)
		var idx []int
		var err error
		if sel.Count > 0 {
			idx, err = l.bestAvailable(sel.Count, sel.Category, sel.Accessible, occ, spread)
		} else {
			idx, err = l.checkSeats(sel.SeatIDs, occ)
		}
		if err != nil {
			return nil, Money{}, err
		}
		var total Money
		for _, i := range idx {
			p, ok := prices[l.hall.Seats[i].Category]
			if !ok {
				// The hall gained a category after the screening was priced.
				return nil, Money{}, fmt.Errorf("%w: screening %s has no price for seat category %q", ErrConflict, screeningID, l.hall.Seats[i].Category)
			}
			total.Amount += p.Amount
			total.Currency = p.Currency
		}
		return l.ids(idx), total, nil
	}
	for attempt := 1; ; attempt++ {
		hold, err := s.store.Hold(ctx, HoldTx{ID: newID("hold_"), ScreeningID: screeningID,
			UserID: o.UserID, SessionID: o.SessionID, TTL: s.cfg.HoldTTL, Plan: plan})
		if err != nil && sel.Count > 0 && retryable(err) {
			if attempt < planAttempts && ctx.Err() == nil {
				spread = min(2*spread, 1<<10)
				continue // a seat chosen for us went to someone else: choose again
			}
			// The buyer named no seats: tell them it is busy, not that "their" seats are taken.
			return Hold{}, fmt.Errorf("%w: the seats chosen were taken by others %d times", ErrNotEnoughSeats, attempt)
		}
		return hold, err
	}
}

func (s *Service) validSelection(sel Selection) error {
	switch {
	case (len(sel.SeatIDs) == 0) == (sel.Count == 0):
		return FieldErrors{"seat_ids": "give either seat_ids or count"}
	case sel.Count < 0:
		return FieldErrors{"count": "must be positive"}
	case len(sel.SeatIDs) > s.cfg.MaxSeatsPerHold || sel.Count > s.cfg.MaxSeatsPerHold:
		return &RuleError{Rule: ErrTooManySeats,
			Detail: fmt.Sprintf("A hold takes at most %d seats.", s.cfg.MaxSeatsPerHold)}
	case len(sel.SeatIDs) > 0 && (sel.Category != "" || sel.Accessible):
		return FieldErrors{"category": "category and accessible go with count, not seat_ids"}
	}
	seen := map[string]bool{}
	for _, id := range sel.SeatIDs {
		if seen[id] {
			return FieldErrors{"seat_ids": "seat " + id + " is listed twice"}
		}
		seen[id] = true
	}
	return nil
}

// GetHold returns the owner's hold with its effective status, or ErrNotFound (also for
// another user's hold).
func (s *Service) GetHold(ctx context.Context, o Owner, id string) (Hold, error) {
	h, err := s.store.GetHold(ctx, id)
	if err != nil {
		return Hold{}, err
	}
	if h.UserID != o.UserID {
		return Hold{}, ErrNotFound
	}
	return h.Effective(), nil
}

// ReleaseHold ends the owner's hold and frees its seats; releasing a hold that has already
// ended is not an error. ErrNotFound for an unknown or another user's hold.
func (s *Service) ReleaseHold(ctx context.Context, o Owner, id string) error {
	_, err := s.store.ReleaseHold(ctx, id, o.UserID)
	return err
}

// EndSessions ends the active holds of sessions that ended (logout, revocation, refresh-token
// reuse) and frees their seats; it returns how many holds it ended.
func (s *Service) EndSessions(ctx context.Context, sessionIDs ...string) (int, error) {
	if len(sessionIDs) == 0 {
		return 0, nil
	}
	return s.store.EndSessionHolds(ctx, sessionIDs)
}

// SessionsEnded ends the holds of sessions that have just ended (logout, logout-all,
// revocation, password change, refresh-token reuse) and frees their seats: those named, and,
// when userID is not empty, those of any of the user's sessions that Config.Sessions reports
// gone. It returns ErrUnavailable when the store or the session check cannot be consulted
// (the janitor catches up later).
func (s *Service) SessionsEnded(ctx context.Context, userID string, sessionIDs ...string) error {
	if _, err := s.EndSessions(ctx, sessionIDs...); err != nil {
		return err
	}
	if userID == "" || s.cfg.Sessions == nil {
		return nil
	}
	_, err := s.endDeadSessions(ctx, userID, SessionRef{}, 0)
	return err
}

// MoveSession gives session from's active holds to session to (a password change moves its
// caller to a new session).
func (s *Service) MoveSession(ctx context.Context, from, to string) error {
	return s.store.MoveSessionHolds(ctx, from, to)
}

func dedupSorted(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}
