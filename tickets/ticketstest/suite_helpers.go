package ticketstest

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"boxoffice/tickets"
)

// sameInstant is how far apart two readings of one stored timestamp may be (the database
// keeps microseconds or milliseconds; Go times carry nanoseconds).
const sameInstant = time.Millisecond

// ttlSlack is how far ExpiresAt − ServerTime of a fresh hold may differ from its TTL: the
// two may be read at different instants of one transaction.
const ttlSlack = 5 * time.Second

// errPlan is what a refusing Plan returns; the store must hand it back unchanged.
var errPlan = errors.New("ticketstest: plan refused")

// customer is a signed-in user with one session.
type customer struct{ user, session string }

func newCustomer() customer { return customer{user: newID(), session: newID()} }

func (c customer) ref() tickets.SessionRef {
	return tickets.SessionRef{UserID: c.user, SessionID: c.session}
}

// plan is HoldTx.Plan.
type plan = func(tickets.Availability) ([]string, tickets.Money, error)

// fixed plans the given seats for amount EUR cents.
func fixed(amount int64, seatIDs ...string) plan {
	return func(tickets.Availability) ([]string, tickets.Money, error) {
		return slices.Clone(seatIDs), tickets.Money{Amount: amount, Currency: "EUR"}, nil
	}
}

// recorder is a plan that keeps the Availability it was last given.
type recorder struct {
	seatIDs []string
	amount  int64
	calls   int
	got     tickets.Availability
}

func (r *recorder) plan(a tickets.Availability) ([]string, tickets.Money, error) {
	r.calls++
	r.got = a
	return slices.Clone(r.seatIDs), tickets.Money{Amount: r.amount, Currency: "EUR"}, nil
}

// refusing is a plan that fails with errPlan and counts its calls.
func refusing(calls *int) plan {
	return func(tickets.Availability) ([]string, tickets.Money, error) {
		*calls++
		return nil, tickets.Money{}, errPlan
	}
}

// tx is a hold of c on screeningID with a fresh ID.
func tx(c customer, screeningID string, ttl time.Duration, p plan) tickets.HoldTx {
	return tickets.HoldTx{ID: newID(), ScreeningID: screeningID, UserID: c.user, SessionID: c.session, TTL: ttl, Plan: p}
}

// hold has c hold seatIDs at screeningID for ten minutes (or ttl when given), at 1200 cents a
// seat, and fails the test unless the store accepts.
func hold(t *testing.T, s tickets.Store, c customer, screeningID string, seatIDs []string, ttl ...time.Duration) tickets.Hold {
	t.Helper()
	d := 10 * time.Minute
	if len(ttl) > 0 {
		d = ttl[0]
	}
	h, err := s.Hold(t.Context(), tx(c, screeningID, d, fixed(1200*int64(len(seatIDs)), seatIDs...)))
	if err != nil {
		t.Fatalf("hold %v at %s for user %s: %v", seatIDs, screeningID, c.user, err)
	}
	return h
}

func getHold(t *testing.T, s tickets.Store, id string) tickets.Hold {
	t.Helper()
	h, err := s.GetHold(t.Context(), id)
	if err != nil {
		t.Fatalf("GetHold(%s): %v", id, err)
	}
	if h.ServerTime.IsZero() {
		t.Fatalf("GetHold(%s): ServerTime is zero", id)
	}
	return h
}

// wantStatus fails unless hold id is stored with status.
func wantStatus(t *testing.T, s tickets.Store, id, status, why string) tickets.Hold {
	t.Helper()
	h := getHold(t, s, id)
	if h.Status != status {
		t.Fatalf("%s: hold %s has status %q, want %q", why, id, h.Status, status)
	}
	return h
}

// wantNoHold fails unless no hold with id exists.
func wantNoHold(t *testing.T, s tickets.Store, id, why string) {
	t.Helper()
	if h, err := s.GetHold(t.Context(), id); !errors.Is(err, tickets.ErrNotFound) {
		t.Fatalf("%s: GetHold(%s) = %+v, %v; want ErrNotFound (nothing of it stored)", why, id, h, err)
	}
}

// settle numbers the events committed so far (PostgreSQL numbers them after the fact), so that
// versions read next count every change made before.
func settle(t *testing.T, s tickets.Store) {
	t.Helper()
	for {
		n, err := s.SequenceSeatEvents(t.Context(), 1000)
		if err != nil {
			t.Fatalf("SequenceSeatEvents: %v", err)
		}
		if n < 1000 {
			return
		}
	}
}

// availability reads a screening's availability once every change made before is numbered.
func availability(t *testing.T, s tickets.Store, screeningID string) tickets.Availability {
	t.Helper()
	settle(t, s)
	a, err := s.Availability(t.Context(), screeningID)
	if err != nil {
		t.Fatalf("Availability(%s): %v", screeningID, err)
	}
	if a.ScreeningID != screeningID || a.Now.IsZero() {
		t.Fatalf("Availability(%s) = screening %q, now %v; want the screening and a non-zero Now", screeningID, a.ScreeningID, a.Now)
	}
	return a
}

func version(t *testing.T, s tickets.Store, screeningID string) int64 {
	t.Helper()
	return availability(t, s, screeningID).Version
}

func screening(t *testing.T, s tickets.Store, id string) tickets.Screening {
	t.Helper()
	scr, err := s.Screening(t.Context(), id)
	if err != nil {
		t.Fatalf("Screening(%s): %v", id, err)
	}
	return scr
}

// wantSeatsAvailable fails unless Screening reports n seats available.
func wantSeatsAvailable(t *testing.T, s tickets.Store, screeningID string, n int, why string) {
	t.Helper()
	if got := screening(t, s, screeningID).SeatsAvailable; got != n {
		t.Fatalf("%s: Screening(%s).SeatsAvailable = %d, want %d", why, screeningID, got, n)
	}
}

// claims is what a test expects of the taken seats of a screening, by seat ID. Only State,
// HoldID (for Held) and ExpiresAt (for Held, when not zero) are compared.
type claims map[string]tickets.Claim

// heldBy is the claims of the seats of the given holds.
func heldBy(holds ...tickets.Hold) claims {
	out := claims{}
	for _, h := range holds {
		for _, id := range h.SeatIDs {
			out[id] = tickets.Claim{SeatID: id, State: tickets.Held, HoldID: h.ID, ExpiresAt: h.ExpiresAt}
		}
	}
	return out
}

// blocked is the claims of blocked seats.
func blocked(seatIDs ...string) claims {
	out := claims{}
	for _, id := range seatIDs {
		out[id] = tickets.Claim{SeatID: id, State: tickets.Blocked}
	}
	return out
}

func (c claims) and(more claims) claims {
	out := claims{}
	for k, v := range c {
		out[k] = v
	}
	for k, v := range more {
		out[k] = v
	}
	return out
}

// wantTaken fails unless exactly the seats in want are taken in a, as want describes.
func wantTaken(t *testing.T, why string, a tickets.Availability, want claims) {
	t.Helper()
	var problems []string
	for id, w := range want {
		c, ok := a.Taken[id]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s is available, want %s", id, describe(w)))
		case c.State != w.State || (w.State == tickets.Held && c.HoldID != w.HoldID):
			problems = append(problems, fmt.Sprintf("%s is %s, want %s", id, describe(c), describe(w)))
		case w.State == tickets.Held && !w.ExpiresAt.IsZero() && !near(c.ExpiresAt, w.ExpiresAt, sameInstant):
			problems = append(problems, fmt.Sprintf("%s is held until %v, want until %v (the hold's ExpiresAt)", id, c.ExpiresAt, w.ExpiresAt))
		case c.SeatID != id:
			problems = append(problems, fmt.Sprintf("Taken[%q].SeatID = %q", id, c.SeatID))
		}
	}
	for id, c := range a.Taken {
		if _, ok := want[id]; !ok {
			problems = append(problems, fmt.Sprintf("%s is %s, want available", id, describe(c)))
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		t.Fatalf("%s: availability of screening %s (version %d, now %v):\n\t%s", why, a.ScreeningID, a.Version, a.Now,
			strings.Join(problems, "\n\t"))
	}
}

func describe(c tickets.Claim) string {
	if c.State == tickets.Held {
		return fmt.Sprintf("held by %s", c.HoldID)
	}
	return string(c.State)
}

// wantUnavailable fails unless err is a *tickets.UnavailableError naming exactly seatIDs
// (in any order) and matching ErrSeatsUnavailable.
func wantUnavailable(t *testing.T, err error, why string, seatIDs ...string) {
	t.Helper()
	var ue *tickets.UnavailableError
	if !errors.As(err, &ue) {
		t.Fatalf("%s: err = %v, want *tickets.UnavailableError naming %v", why, err, seatIDs)
	}
	if !errors.Is(err, tickets.ErrSeatsUnavailable) {
		t.Fatalf("%s: errors.Is(%v, ErrSeatsUnavailable) = false", why, err)
	}
	if got, want := sorted(ue.SeatIDs), sorted(seatIDs); !slices.Equal(got, want) {
		t.Fatalf("%s: UnavailableError names %v, want exactly the taken seats %v", why, got, want)
	}
}

// wantErr fails unless errors.Is(err, target).
func wantErr(t *testing.T, err, target error, why string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: err = %v, want %v", why, err, target)
	}
}

// waitExpired sleeps in small steps until GetHold reports, for every hold in ids, a
// ServerTime at or past its ExpiresAt: the store's own clock decides. It fails after 30 s.
func waitExpired(t *testing.T, s tickets.Store, ids ...string) {
	t.Helper()
	const patience = 30 * time.Second
	deadline := time.Now().Add(patience)
	for _, id := range ids {
		for {
			h := getHold(t, s, id)
			if !h.ServerTime.Before(h.ExpiresAt) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("hold %s: after %v of waiting the store's clock reads %v, still before the deadline %v; "+
					"does the store's clock follow the host's?", id, patience, h.ServerTime, h.ExpiresAt)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// wantFreshHold checks the hold that Hold returned for a transaction.
func wantFreshHold(t *testing.T, h tickets.Hold, in tickets.HoldTx, seatIDs []string, total tickets.Money) {
	t.Helper()
	if h.ID != in.ID || h.ScreeningID != in.ScreeningID || h.UserID != in.UserID || h.SessionID != in.SessionID {
		t.Fatalf("hold = id %q screening %q user %q session %q; want those of the transaction %q %q %q %q",
			h.ID, h.ScreeningID, h.UserID, h.SessionID, in.ID, in.ScreeningID, in.UserID, in.SessionID)
	}
	if h.Status != tickets.HoldActive {
		t.Fatalf("hold %s: status %q, want %q", h.ID, h.Status, tickets.HoldActive)
	}
	if want := sorted(seatIDs); !slices.Equal(h.SeatIDs, want) {
		t.Fatalf("hold %s: SeatIDs = %v, want %v (sorted)", h.ID, h.SeatIDs, want)
	}
	if h.Total != total {
		t.Fatalf("hold %s: Total = %+v, want %+v as planned", h.ID, h.Total, total)
	}
	if h.ServerTime.IsZero() || h.CreatedAt.IsZero() {
		t.Fatalf("hold %s: ServerTime %v, CreatedAt %v; want both set", h.ID, h.ServerTime, h.CreatedAt)
	}
	if left := h.ExpiresAt.Sub(h.ServerTime); !near(h.ExpiresAt, h.ServerTime.Add(in.TTL), ttlSlack) {
		t.Fatalf("hold %s: ExpiresAt %v is %v after ServerTime %v, want the TTL %v", h.ID, h.ExpiresAt, left, h.ServerTime, in.TTL)
	}
}

// wantSameHold fails unless got (read back) describes the same hold as want (as written).
func wantSameHold(t *testing.T, got, want tickets.Hold, why string) {
	t.Helper()
	if got.ID != want.ID || got.ScreeningID != want.ScreeningID || got.UserID != want.UserID ||
		got.SessionID != want.SessionID || !slices.Equal(got.SeatIDs, want.SeatIDs) || got.Status != want.Status ||
		got.Total != want.Total || !near(got.CreatedAt, want.CreatedAt, sameInstant) || !near(got.ExpiresAt, want.ExpiresAt, sameInstant) {
		t.Fatalf("%s:\n\tread    %+v\n\twant    %+v", why, got, want)
	}
}

func near(a, b time.Time, d time.Duration) bool {
	diff := a.Sub(b)
	return diff <= d && diff >= -d
}

func sorted(xs []string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	if out == nil {
		out = []string{}
	}
	return out
}

func sortPrices(ps []tickets.Price) []tickets.Price {
	out := slices.Clone(ps)
	slices.SortFunc(out, func(a, b tickets.Price) int { return cmp.Compare(a.Category, b.Category) })
	return out
}
