package ticketstest

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"boxoffice/tickets"
)

// seatMap is the status of a screening's seats that are not available, by seat ID: the seat
// map a subscriber keeps.
type seatMap map[string]tickets.SeatState

// snapshot is a screening's seats as Availability read them, with the version they are at.
type snapshot struct {
	version int64
	now     time.Time
	seats   seatMap
}

func readSnapshot(t *testing.T, s tickets.Store, screeningID string) snapshot {
	t.Helper()
	a := availability(t, s, screeningID)
	snap := snapshot{version: a.Version, now: a.Now, seats: seatMap{}}
	for id, c := range a.Taken {
		snap.seats[id] = c.State
	}
	return snap
}

func (m seatMap) String() string {
	var parts []string
	for id, st := range m {
		parts = append(parts, id+":"+string(st))
	}
	slices.Sort(parts)
	return "{" + strings.Join(parts, " ") + "}"
}

// changes is what a test expects of one event: the new status of each seat it changed.
type changes = seatMap

// eventSeats is an event's changes.
func eventSeats(ev tickets.SeatEvent) changes {
	out := changes{}
	for _, c := range ev.Seats {
		out[c.SeatID] = c.Status
	}
	return out
}

// replayed is seats after the events, in order.
func replayed(seats seatMap, events []tickets.SeatEvent) seatMap {
	out := maps.Clone(seats)
	for _, ev := range events {
		for _, c := range ev.Seats {
			if c.Status == tickets.Available {
				delete(out, c.SeatID)
			} else {
				out[c.SeatID] = c.Status
			}
		}
	}
	return out
}

// wantEventShape fails unless ev is an event of screeningID with at least one seat, its seats
// sorted by ID without duplicates, each with a known status, and a time.
func wantEventShape(t *testing.T, ev tickets.SeatEvent, screeningID, why string) {
	t.Helper()
	if ev.ScreeningID != screeningID || ev.Version <= 0 || ev.At.IsZero() || len(ev.Seats) == 0 {
		t.Fatalf("%s: event %+v; want one of screening %s with a positive version, a time and at least one seat",
			why, ev, screeningID)
	}
	for i, c := range ev.Seats {
		if i > 0 && ev.Seats[i-1].SeatID >= c.SeatID {
			t.Fatalf("%s: event %d's seats %+v are not sorted by seat ID without duplicates", why, ev.Version, ev.Seats)
		}
		switch c.Status {
		case tickets.Available, tickets.Held, tickets.Sold, tickets.Blocked:
		default:
			t.Fatalf("%s: event %d gives seat %s the status %q", why, ev.Version, c.SeatID, c.Status)
		}
	}
}

// allEvents reads the events of a screening after version after, page events at a time,
// checking each page (version order, above after, at most page long, well formed), and
// returns them with the current version the last read reported.
func allEvents(t *testing.T, s tickets.Store, screeningID string, after int64, page int) ([]tickets.SeatEvent, int64) {
	t.Helper()
	var (
		out     []tickets.SeatEvent
		current int64 = -1
	)
	settle(t, s)
	for {
		evs, cur, err := s.SeatEvents(t.Context(), screeningID, after, page)
		if err != nil {
			t.Fatalf("SeatEvents(%s, after %d, limit %d): %v", screeningID, after, page, err)
		}
		if cur < current {
			t.Fatalf("SeatEvents(%s): the current version went down from %d to %d while paging", screeningID, current, cur)
		}
		current = cur
		if len(evs) > page {
			t.Fatalf("SeatEvents(%s, after %d, limit %d) returned %d events", screeningID, after, page, len(evs))
		}
		if len(evs) == 0 {
			return out, current
		}
		for _, ev := range evs {
			wantEventShape(t, ev, screeningID, fmt.Sprintf("SeatEvents(%s, after %d)", screeningID, after))
			if ev.Version <= after {
				t.Fatalf("SeatEvents(%s, after %d, limit %d): versions %v, want each above the last (%d), in order",
					screeningID, after, page, versions(evs), after)
			}
			if ev.Version > cur {
				t.Fatalf("SeatEvents(%s): event %d is above the current version %d", screeningID, ev.Version, cur)
			}
			after = ev.Version
		}
		out = append(out, evs...)
	}
}

func versions(evs []tickets.SeatEvent) []int64 {
	out := make([]int64, len(evs))
	for i, ev := range evs {
		out[i] = ev.Version
	}
	return out
}

// wantRun fails unless evs are the versions from, from+1, …, to without gaps (none when
// from > to).
func wantRun(t *testing.T, evs []tickets.SeatEvent, from, to int64, why string) {
	t.Helper()
	ok := int64(len(evs)) == max(0, to-from+1)
	for i, ev := range evs {
		ok = ok && ev.Version == from+int64(i)
	}
	if !ok {
		t.Fatalf("%s: event versions %v; want %d to %d without gaps", why, versions(evs), from, to)
	}
}

// wantReplays fails unless the events after snap, applied to snap's seats, give the seats read
// now, and are the versions after snap's up to the current one (which is Availability's)
// without gaps: the invariant that lets a subscriber keep a seat map from one read and the
// events after it. Valid while no event has been pruned and no hold is past its deadline
// unswept.
func wantReplays(t *testing.T, s tickets.Store, screeningID string, snap snapshot, page int, why string) {
	t.Helper()
	evs, current := allEvents(t, s, screeningID, snap.version, page)
	now := readSnapshot(t, s, screeningID)
	if current != now.version {
		t.Fatalf("%s: SeatEvents reports version %d, Availability %d", why, current, now.version)
	}
	wantRun(t, evs, snap.version+1, now.version, why+": events after version "+fmt.Sprint(snap.version))
	if got := replayed(snap.seats, evs); !maps.Equal(got, now.seats) {
		t.Fatalf("%s: the seats read at version %d %v with the events after it %v replayed give %v; read now (version %d): %v",
			why, snap.version, snap.seats, showEvents(evs), got, now.version, now.seats)
	}
}

func showEvents(evs []tickets.SeatEvent) string {
	var parts []string
	for _, ev := range evs {
		parts = append(parts, fmt.Sprintf("%d%v", ev.Version, eventSeats(ev)))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// feed follows one screening through a case: after each operation, step checks the events it
// wrote against what the case expects, and that every seat map read so far, with the events
// after it, gives the one read now.
type feed struct {
	t           *testing.T
	s           tickets.Store
	screeningID string
	last        snapshot
	snaps       []snapshot
	// lapsed is set while a hold is past its deadline but not swept: seat maps count its
	// seats available at once, its event comes with the sweep, so replays are not checked.
	lapsed bool
}

func newFeed(t *testing.T, s tickets.Store, screeningID string) *feed {
	t.Helper()
	f := &feed{t: t, s: s, screeningID: screeningID, last: readSnapshot(t, s, screeningID)}
	f.snaps = append(f.snaps, f.last)
	return f
}

// step checks what the operation just done wrote: nothing and no new version when want is
// nil; otherwise exactly one event, the next version (Availability's now), with the seats of
// want.
func (f *feed) step(why string, want changes) {
	f.t.Helper()
	f.steps(why, want, false)
}

// steps is step; with several, the operation may have been a few transactions (a helper that
// retries), each writing one event with the seats of want.
func (f *feed) steps(why string, want changes, several bool) {
	t := f.t
	t.Helper()
	evs, current := allEvents(t, f.s, f.screeningID, f.last.version, 10)
	now := readSnapshot(t, f.s, f.screeningID)
	if current != now.version {
		t.Fatalf("%s: SeatEvents reports version %d, Availability %d", why, current, now.version)
	}
	if want == nil {
		if len(evs) != 0 || now.version != f.last.version {
			t.Fatalf("%s changed no seat but wrote events %v; version %d, was %d", why, showEvents(evs), now.version, f.last.version)
		}
	} else {
		if len(evs) == 0 || len(evs) > 1 && !several {
			t.Fatalf("%s: events %v, version %d; want one event, version %d (the last was %d)",
				why, showEvents(evs), now.version, f.last.version+1, f.last.version)
		}
		wantRun(t, evs, f.last.version+1, now.version, why)
		for _, ev := range evs {
			if got := eventSeats(ev); !maps.Equal(got, want) {
				t.Fatalf("%s: event %d changes %v, want %v", why, ev.Version, got, want)
			}
			if ev.At.Before(f.last.now.Add(-sameInstant)) || ev.At.After(now.now.Add(sameInstant)) {
				t.Fatalf("%s: event %d made at %v, want between the reads before (%v) and after (%v)", why, ev.Version, ev.At,
					f.last.now, now.now)
			}
		}
	}
	f.last = now
	f.snaps = append(f.snaps, now)
	if !f.lapsed {
		f.replays(why)
	}
}

// replays checks the replay invariant from every seat map read so far.
func (f *feed) replays(why string) {
	f.t.Helper()
	for i, snap := range f.snaps {
		wantReplays(f.t, f.s, f.screeningID, snap, 1+i%4, why)
	}
}

// noChange checks that the operation just done wrote no event and took no version.
func (f *feed) noChange(why string) { f.t.Helper(); f.step(why, nil) }

func all(st tickets.SeatState, seatIDs ...string) changes {
	out := changes{}
	for _, id := range seatIDs {
		out[id] = st
	}
	return out
}

func (c changes) with(more changes) changes {
	out := maps.Clone(c)
	maps.Copy(out, more)
	return out
}

func testSeatEventsHolds(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	_, _, _, scr := Fixture(t, s)
	f := newFeed(t, s, scr.ID)
	if f.last.version != 0 || len(f.last.seats) != 0 {
		t.Fatalf("a new screening: version %d, seats %v; want 0 and none taken", f.last.version, f.last.seats)
	}
	u1, u2, u3 := newCustomer(), newCustomer(), newCustomer()

	hold(t, s, u1, scr.ID, []string{"A1", "A2"})
	f.step("a hold", all(tickets.Held, "A1", "A2"))
	_, err := s.Hold(ctx, tx(u2, scr.ID, time.Minute, fixed(2400, "A2", "A3")))
	wantUnavailable(t, err, "an overlapping hold", "A2")
	f.noChange("a refused hold")
	calls := 0
	_, err = s.Hold(ctx, tx(u2, scr.ID, time.Minute, refusing(&calls)))
	wantErr(t, err, errPlan, "a hold whose plan fails")
	f.noChange("a hold whose plan failed")
	_, err = s.Hold(ctx, tx(u1, scr.ID, time.Minute, fixed(2400, "A3", "A1", "B6")))
	if err != nil {
		t.Fatalf("a replacing hold taking back one of its own seats: %v", err)
	}
	f.step("a replacing hold (one event: its new seats held, the old ones freed, a seat kept held)",
		all(tickets.Held, "A1", "A3", "B6").with(all(tickets.Available, "A2")))
	h1, err := s.Hold(ctx, tx(u1, scr.ID, time.Minute, fixed(1200, "A2")))
	if err != nil {
		t.Fatal(err)
	}
	f.step("a second replacing hold", all(tickets.Held, "A2").with(all(tickets.Available, "A1", "A3", "B6")))
	_, err = s.Hold(ctx, tx(u2, scr.ID, time.Minute, fixed(1200, "A3")))
	if err != nil {
		t.Fatal(err)
	}
	f.step("another user's hold", all(tickets.Held, "A3"))
	_, err = s.Hold(ctx, tx(u1, scr.ID, time.Minute, fixed(2400, "A3", "A4")))
	wantUnavailable(t, err, "a replacing hold of a taken seat", "A3")
	f.noChange("a refused replacing hold (the replaced hold stays)")

	wantStatus(t, s, h1.ID, tickets.HoldActive, "a hold whose replacement was refused")
	if _, err := s.ReleaseHold(ctx, h1.ID, u1.user); err != nil {
		t.Fatal(err)
	}
	f.step("a release", all(tickets.Available, "A2"))
	if _, err := s.ReleaseHold(ctx, h1.ID, u1.user); err != nil {
		t.Fatal(err)
	}
	f.noChange("a second release")

	hold(t, s, u3, scr.ID, []string{"C1", "C2"})
	f.step("a hold of a love seat", all(tickets.Held, "C1", "C2"))
	if n, err := s.EndSessionHolds(ctx, []string{u3.session}); err != nil || n != 1 {
		t.Fatalf("EndSessionHolds = %d, %v; want 1", n, err)
	}
	f.step("ending a session's holds", all(tickets.Available, "C1", "C2"))
	if n, err := s.EndSessionHolds(ctx, []string{u3.session}); err != nil || n != 0 {
		t.Fatalf("EndSessionHolds again = %d, %v; want 0", n, err)
	}
	f.noChange("ending a session without holds")
	if err := s.MoveSessionHolds(ctx, u2.session, newID()); err != nil {
		t.Fatal(err)
	}
	f.noChange("moving holds to another session")
}

func testSeatEventsBlocking(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	_, _, _, scr := Fixture(t, s)
	f := newFeed(t, s, scr.ID)
	hold(t, s, newCustomer(), scr.ID, []string{"B2"})
	f.step("a hold", all(tickets.Held, "B2"))
	if err := s.SetBlocked(ctx, scr.ID, []string{"B1", "B3"}, true); err != nil {
		t.Fatal(err)
	}
	f.step("blocking two seats", all(tickets.Blocked, "B1", "B3"))
	if err := s.SetBlocked(ctx, scr.ID, []string{"B3", "B1"}, true); err != nil {
		t.Fatal(err)
	}
	f.noChange("blocking blocked seats")
	err := s.SetBlocked(ctx, scr.ID, []string{"B2", "B4"}, true)
	wantUnavailable(t, err, "blocking a held seat with a free one", "B2")
	f.noChange("a refused block (all or nothing)")
	if err := s.SetBlocked(ctx, scr.ID, []string{"B3", "B4", "B5"}, false); err != nil {
		t.Fatal(err)
	}
	f.step("unblocking a blocked seat with free ones", all(tickets.Available, "B3"))
	if err := s.SetBlocked(ctx, scr.ID, []string{"B3", "B2"}, false); err != nil {
		t.Fatal(err)
	}
	f.noChange("unblocking seats that are not blocked")
	if err := s.SetBlocked(ctx, scr.ID, []string{"B1", "B3", "B4"}, true); err != nil {
		t.Fatal(err)
	}
	f.step("blocking a blocked seat with free ones", all(tickets.Blocked, "B3", "B4"))
}

func testSeatEventsSweep(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	_, _, _, scr := Fixture(t, s)
	f := newFeed(t, s, scr.ID)
	f.lapsed = true // from the first short hold until the sweep: it may expire at any time
	short := hold(t, s, newCustomer(), scr.ID, []string{"A1"}, time.Second)
	f.step("a short hold", all(tickets.Held, "A1"))
	lapsed := hold(t, s, newCustomer(), scr.ID, []string{"B1", "B2"}, time.Second)
	f.step("another short hold", all(tickets.Held, "B1", "B2"))
	long := hold(t, s, newCustomer(), scr.ID, []string{"C5"})
	f.step("a long hold", all(tickets.Held, "C5"))

	waitExpired(t, s, short.ID, lapsed.ID)
	f.noChange("holds passing their deadline (the seat maps count their seats available at once)")
	hold(t, s, newCustomer(), scr.ID, []string{"A1"})
	f.step("a hold of an expired hold's seat", all(tickets.Held, "A1"))
	if n, err := s.Sweep(ctx, 100); err != nil || n != 2 {
		t.Fatalf("Sweep = %d, %v; want 2", n, err)
	}
	f.lapsed = false
	f.step("sweeping two expired holds (only the seats they still held)", all(tickets.Available, "B1", "B2"))
	if n, err := s.Sweep(ctx, 100); err != nil || n != 0 {
		t.Fatalf("second Sweep = %d, %v; want 0", n, err)
	}
	f.noChange("a sweep with nothing to do")
	wantStatus(t, s, long.ID, tickets.HoldActive, "a hold within its deadline")
}

func testSeatEventsOrders(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	_, _, _, scr := Fixture(t, s)
	f := newFeed(t, s, scr.ID)
	u, u2 := newCustomer(), newCustomer()

	h := hold(t, s, u, scr.ID, []string{"A5", "A6"})
	f.step("a hold", all(tickets.Held, "A5", "A6"))
	o, _ := beginFor(t, s, u, h)
	f.noChange("beginning an order")
	finish(t, s, finishTx(o, tickets.PaymentPending, "pi_"+o.ID, nil))
	f.noChange("a pending payment")
	res := finish(t, s, finishTx(o, tickets.PaymentSucceeded, "pi_"+o.ID, nil))
	if res.Order.Status != tickets.OrderConfirmed {
		t.Fatalf("order %s is %q after its payment succeeded", o.ID, res.Order.Status)
	}
	f.step("an order confirmed", all(tickets.Sold, "A5", "A6"))
	finish(t, s, finishTx(o, tickets.PaymentSucceeded, "pi_"+o.ID, nil))
	f.noChange("the payment's success reported again")
	if _, err := s.CancelOrder(ctx, o.ID, u.user, time.Now()); err != nil {
		t.Fatalf("CancelOrder: %v", err)
	}
	f.step("an order cancelled", all(tickets.Available, "A5", "A6"))
	if _, err := s.CancelOrder(ctx, o.ID, u.user, time.Now()); err != nil {
		t.Fatalf("CancelOrder again: %v", err)
	}
	f.noChange("cancelling a cancelled order")

	h2 := hold(t, s, u2, scr.ID, []string{"B3"})
	f.step("another hold", all(tickets.Held, "B3"))
	o2, _ := beginFor(t, s, u2, h2)
	finish(t, s, finishTx(o2, tickets.PaymentDeclined, "", nil))
	f.noChange("a declined payment")

	// A payment that succeeds after its hold expired and was swept claims the seats again.
	f.lapsed = true
	late, _ := beginShort(t, s, u, scr.ID, time.Second, "C3", "C4")
	// beginShort holds again, with a longer TTL, when its hold expired before BeginOrder ran.
	f.steps("a short hold being paid for", all(tickets.Held, "C3", "C4"), true)
	waitExpired(t, s, late.HoldID)
	if n, err := s.Sweep(ctx, 100); err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want 1", n, err)
	}
	f.lapsed = false
	f.step("sweeping the hold of a pending order", all(tickets.Available, "C3", "C4"))
	res = finish(t, s, finishTx(late, tickets.PaymentSucceeded, "ch_"+late.ID, nil))
	if res.Order.Status != tickets.OrderConfirmed || res.Order.LatePayment != tickets.LateReclaimed {
		t.Fatalf("a late payment for free seats: order %s, late %q; want confirmed, reclaimed", res.Order.Status, res.Order.LatePayment)
	}
	f.step("a late payment reclaiming its seats", all(tickets.Sold, "C3", "C4"))
}

func testSeatEventsCancelledScreening(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	m, _, hall, scr := Fixture(t, s)
	other := addScreening(t, s, m.ID, hall, scr.StartsAt.Add(3*time.Hour))
	f := newFeed(t, s, scr.ID)
	g := newFeed(t, s, other.ID)
	u1, u2, u3 := newCustomer(), newCustomer(), newCustomer()
	hold(t, s, u1, scr.ID, []string{"A1", "A2"})
	f.step("a hold", all(tickets.Held, "A1", "A2"))
	hold(t, s, u2, scr.ID, []string{"B1"})
	f.step("a hold", all(tickets.Held, "B1"))
	if err := s.SetBlocked(ctx, scr.ID, []string{"C5"}, true); err != nil {
		t.Fatal(err)
	}
	f.step("a block", all(tickets.Blocked, "C5"))
	h3 := hold(t, s, u3, scr.ID, []string{"A5", "A6"})
	f.step("a hold", all(tickets.Held, "A5", "A6"))
	o, _ := beginFor(t, s, u3, h3)
	finish(t, s, finishTx(o, tickets.PaymentSucceeded, "ch_"+o.ID, nil))
	f.step("an order confirmed", all(tickets.Sold, "A5", "A6"))
	hold(t, s, u1, other.ID, []string{"A1"})
	g.step("a hold at another screening", all(tickets.Held, "A1"))

	if err := s.CancelScreening(ctx, scr.ID); err != nil {
		t.Fatal(err)
	}
	f.step("cancelling the screening (one event freeing every held and sold seat; blocked seats stay)",
		all(tickets.Available, "A1", "A2", "A5", "A6", "B1"))
	g.noChange("another screening's cancellation")
	if err := s.CancelScreening(ctx, scr.ID); err != nil {
		t.Fatal(err)
	}
	f.noChange("cancelling again")
	_, err := s.Hold(ctx, tx(u1, scr.ID, time.Minute, fixed(1200, "B6")))
	wantErr(t, err, tickets.ErrScreeningCancelled, "a hold at a cancelled screening")
	f.noChange("a hold refused at a cancelled screening")
}

// testSeatEventsSeveralScreenings: a transaction that changes the seats of several screenings
// writes one event, and takes one version, per screening.
func testSeatEventsSeveralScreenings(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	m, _, hall, scr := Fixture(t, s)
	other := addScreening(t, s, m.ID, hall, scr.StartsAt.Add(3*time.Hour))
	idle := addScreening(t, s, m.ID, hall, scr.StartsAt.Add(6*time.Hour))
	f, g := newFeed(t, s, scr.ID), newFeed(t, s, other.ID)
	u := newCustomer()
	hold(t, s, u, scr.ID, []string{"A1", "A2"})
	f.step("a hold", all(tickets.Held, "A1", "A2"))
	hold(t, s, u, other.ID, []string{"B1"})
	g.step("the same user's hold at another screening", all(tickets.Held, "B1"))
	f.noChange("a hold at another screening")
	if n, err := s.EndSessionHolds(ctx, []string{u.session}); err != nil || n != 2 {
		t.Fatalf("EndSessionHolds = %d, %v; want 2", n, err)
	}
	f.step("ending a session with holds at two screenings", all(tickets.Available, "A1", "A2"))
	g.step("ending a session with holds at two screenings", all(tickets.Available, "B1"))

	unknown := newID()
	settle(t, s)
	got, err := s.SeatVersions(ctx, []string{scr.ID, idle.ID, unknown, other.ID, scr.ID})
	if err != nil {
		t.Fatalf("SeatVersions: %v", err)
	}
	want := map[string]int64{scr.ID: f.last.version, other.ID: g.last.version, idle.ID: 0}
	if !maps.Equal(got, want) {
		t.Fatalf("SeatVersions = %v; want %v (Availability's versions; 0 for a screening never changed; unknown %s left out)",
			got, want, unknown)
	}
	if got, err := s.SeatVersions(ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("SeatVersions(none) = %v, %v; want an empty map", got, err)
	}
	if got, err := s.SeatVersions(ctx, []string{unknown}); err != nil || len(got) != 0 {
		t.Fatalf("SeatVersions(unknown) = %v, %v; want an empty map", got, err)
	}
}

func testSeatEventsPaging(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	m, _, hall, scr := Fixture(t, s)
	idle := addScreening(t, s, m.ID, hall, scr.StartsAt.Add(3*time.Hour))
	f := newFeed(t, s, scr.ID)
	for _, seat := range []string{"A1", "A2", "A3", "A4", "A5", "A6", "B1"} {
		hold(t, s, newCustomer(), scr.ID, []string{seat})
		f.step("a hold", all(tickets.Held, seat))
	}
	current := f.last.version // 7
	if current != 7 {
		t.Fatalf("version %d after 7 holds at a new screening; want 7", current)
	}
	for _, page := range []int{1, 2, 3, 7, 100} {
		evs, cur := allEvents(t, s, scr.ID, 0, page)
		if cur != current {
			t.Fatalf("SeatEvents reports version %d, Availability %d", cur, current)
		}
		wantRun(t, evs, 1, current, fmt.Sprintf("every event, %d at a time", page))
	}
	settle(t, s)
	evs, cur, err := s.SeatEvents(ctx, scr.ID, 2, 3)
	if err != nil || cur != current {
		t.Fatalf("SeatEvents(after 2, limit 3): version %d, %v; want %d", cur, err, current)
	}
	wantRun(t, evs, 3, 5, "SeatEvents(after 2, limit 3)")
	for _, after := range []int64{current, current + 5} {
		evs, cur, err := s.SeatEvents(ctx, scr.ID, after, 10)
		if err != nil || len(evs) != 0 || cur != current {
			t.Fatalf("SeatEvents(after %d) = %v, %d, %v; want none, %d", after, showEvents(evs), cur, err, current)
		}
	}
	evs, cur, err = s.SeatEvents(ctx, idle.ID, 0, 10)
	if err != nil || len(evs) != 0 || cur != 0 {
		t.Fatalf("SeatEvents of a screening never changed = %v, %d, %v; want none, 0, nil", showEvents(evs), cur, err)
	}
	if evs, cur, err := s.SeatEvents(ctx, newID(), 0, 10); !errors.Is(err, tickets.ErrNotFound) {
		t.Fatalf("SeatEvents of an unknown screening = %v, %d, %v; want ErrNotFound", showEvents(evs), cur, err)
	}
}

// testSeatEventsReplay runs random operations on two screenings and checks that every seat map
// read along the way, with the events after it, gives the seat map read at the end.
func testSeatEventsReplay(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	m, _, hall, scr := Fixture(t, s)
	other := addScreening(t, s, m.ID, hall, scr.StartsAt.Add(3*time.Hour))
	screenings := []string{scr.ID, other.ID}
	seed := uint64(time.Now().UnixNano())
	t.Logf("random operations seeded with %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>7))
	users := []customer{newCustomer(), newCustomer(), newCustomer(), newCustomer(), newCustomer()}
	seats := make([]string, 0, len(Layout()))
	for _, st := range Layout() {
		seats = append(seats, st.ID)
	}
	pick := func(n int) []string {
		p := rng.Perm(len(seats))[:n]
		out := make([]string, n)
		for i, j := range p {
			out[i] = seats[j]
		}
		return out
	}
	type held struct {
		h tickets.Hold
		c customer
	}
	var holds []held
	type sale struct {
		o tickets.Order
		c customer
	}
	var sales []sale
	snaps := map[string][]snapshot{}
	last := map[string]int64{}
	for _, id := range screenings {
		snaps[id] = []snapshot{readSnapshot(t, s, id)}
	}

	const ops = 60
	for i := range ops {
		scrID := screenings[rng.IntN(len(screenings))]
		var what string
		switch op := rng.IntN(10); {
		case op < 4: // hold, or replace one's hold
			c := users[rng.IntN(len(users))]
			want := pick(1 + rng.IntN(3))
			what = fmt.Sprintf("user %d holds %v", slices.Index(users, c), want)
			h, err := s.Hold(ctx, tx(c, scrID, 10*time.Minute, fixed(1200*int64(len(want)), want...)))
			var ue *tickets.UnavailableError
			switch {
			case err == nil:
				holds = append(holds, held{h, c})
			case !errors.As(err, &ue):
				t.Fatalf("op %d, %s: %v", i, what, err)
			}
		case op == 4 && len(holds) > 0:
			h := holds[rng.IntN(len(holds))]
			what = "release " + h.h.ID
			if _, err := s.ReleaseHold(ctx, h.h.ID, h.c.user); err != nil {
				t.Fatalf("op %d, %s: %v", i, what, err)
			}
		case op == 5:
			ids := pick(1 + rng.IntN(2))
			block := rng.IntN(2) == 0
			what = fmt.Sprintf("SetBlocked(%v, %v)", ids, block)
			err := s.SetBlocked(ctx, scrID, ids, block)
			var ue *tickets.UnavailableError
			if err != nil && !errors.As(err, &ue) {
				t.Fatalf("op %d, %s: %v", i, what, err)
			}
		case op == 6:
			c := users[rng.IntN(len(users))]
			what = "end the session of user " + fmt.Sprint(slices.Index(users, c))
			if _, err := s.EndSessionHolds(ctx, []string{c.session}); err != nil {
				t.Fatalf("op %d, %s: %v", i, what, err)
			}
		case op == 7 && len(holds) > 0:
			h := holds[rng.IntN(len(holds))]
			what = "pay for " + h.h.ID
			if getHold(t, s, h.h.ID).Status != tickets.HoldActive {
				break
			}
			o, _ := beginFor(t, s, h.c, h.h)
			res := finish(t, s, finishTx(o, tickets.PaymentSucceeded, "ch_"+o.ID, nil))
			if res.Order.Status == tickets.OrderConfirmed {
				sales = append(sales, sale{res.Order, h.c})
			}
		case op == 8 && len(sales) > 0:
			o := sales[rng.IntN(len(sales))]
			what = "cancel order " + o.o.ID
			if _, err := s.CancelOrder(ctx, o.o.ID, o.c.user, time.Now()); err != nil {
				t.Fatalf("op %d, %s: %v", i, what, err)
			}
		default:
			what = "sweep"
			if _, err := s.Sweep(ctx, 10); err != nil {
				t.Fatalf("op %d, %s: %v", i, what, err)
			}
		}
		for _, id := range screenings {
			snap := readSnapshot(t, s, id)
			if snap.version < last[id] {
				t.Fatalf("op %d, %s: version of %s went down from %d to %d", i, what, id, last[id], snap.version)
			}
			last[id] = snap.version
			if rng.IntN(3) == 0 || i == ops-1 {
				snaps[id] = append(snaps[id], snap)
			}
		}
		if i%20 == 19 {
			for _, id := range screenings {
				for j, snap := range snaps[id] {
					wantReplays(t, s, id, snap, 1+j%5, fmt.Sprintf("after op %d (%s)", i, what))
				}
			}
		}
	}
	settle(t, s)
	got, err := s.SeatVersions(ctx, screenings)
	if err != nil || !maps.Equal(got, last) {
		t.Fatalf("SeatVersions = %v, %v; want Availability's %v", got, err, last)
	}
}

// testSeatEventsConcurrent: holds and releases racing at one screening, while seat maps are
// read, still give one event per change, versions without gaps, and seat maps that the events
// after them bring up to date.
func testSeatEventsConcurrent(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	_, _, _, scr := Fixture(t, s)
	seats := []string{"A1", "A2", "A3", "A4", "A5"}
	const workers, rounds = 6, 5
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		nChanges int
		failed   []error
	)
	start := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			<-start
			c := newCustomer()
			count := 0
			defer func() { mu.Lock(); nChanges += count; mu.Unlock() }()
			for r := range rounds {
				want := []string{seats[(w+r)%len(seats)], seats[(w+2*r+1)%len(seats)]}
				h, err := s.Hold(ctx, tx(c, scr.ID, 10*time.Minute, fixed(2400, want...)))
				var ue *tickets.UnavailableError
				switch {
				case errors.As(err, &ue):
					continue
				case err != nil:
					mu.Lock()
					failed = append(failed, fmt.Errorf("hold %v: %w", want, err))
					mu.Unlock()
					return
				}
				count++
				if r%2 == 1 {
					continue // keep it: the next hold replaces it
				}
				if got, err := s.ReleaseHold(ctx, h.ID, c.user); err != nil || got.Status != tickets.HoldReleased {
					mu.Lock()
					failed = append(failed, fmt.Errorf("release %s: %s, %v", h.ID, got.Status, err))
					mu.Unlock()
					return
				}
				count++
			}
		})
	}
	var snaps []snapshot
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 3 * workers {
			a, err := s.Availability(ctx, scr.ID)
			if err != nil {
				return
			}
			snap := snapshot{version: a.Version, now: a.Now, seats: seatMap{}}
			for id, c := range a.Taken {
				snap.seats[id] = c.State
			}
			snaps = append(snaps, snap)
		}
	}()
	close(start)
	wg.Wait()
	<-done
	if len(failed) > 0 {
		t.Fatalf("concurrent holds and releases: %v", failed)
	}
	evs, current := allEvents(t, s, scr.ID, 0, 7)
	wantRun(t, evs, 1, current, "concurrent holds and releases")
	if len(evs) != nChanges {
		t.Fatalf("%d events after %d successful holds and releases; want one each", len(evs), nChanges)
	}
	wantReplays(t, s, scr.ID, snapshot{seats: seatMap{}}, 3, "concurrent changes replayed from the start")
	for i, snap := range snaps {
		wantReplays(t, s, scr.ID, snap, 1+i%4, fmt.Sprintf("a seat map read during concurrent changes (#%d)", i))
	}
}

// testSeatEventsPrune: PruneSeatEvents deletes, per screening, the events up to the newest one
// made more than keep ago, leaving a run without gaps that ends at the current version; a
// subscriber resuming before it is told by a gap.
func testSeatEventsPrune(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	// The store decides what is old by its own clock; a busy machine may take longer than keep
	// between a change and the prune: then that change's event is old too, and the case tries
	// again with a longer keep.
	for keep := 50 * time.Millisecond; ; keep *= 4 {
		if pruneOnce(t, s, keep) {
			break
		}
		if keep > 10*time.Second {
			t.Fatalf("PruneSeatEvents(%v) deleted the events made just before it, every time", keep)
		}
		t.Logf("the prune came more than %v after the last changes: trying again with a longer keep", keep)
	}

	// Every event older than keep: all are deleted, and a subscriber learns it missed some.
	_, _, _, scr := Fixture(t, s)
	hold(t, s, newCustomer(), scr.ID, []string{"A1"})
	hold(t, s, newCustomer(), scr.ID, []string{"A2"})
	evs, current := allEvents(t, s, scr.ID, 0, 10)
	wantRun(t, evs, 1, 2, "two holds")
	const keep = time.Millisecond
	waitStoreClock(t, s, scr.ID, evs[1].At.Add(keep+sameInstant))
	if _, err := s.PruneSeatEvents(ctx, keep); err != nil {
		t.Fatal(err)
	}
	settle(t, s)
	evs, cur, err := s.SeatEvents(ctx, scr.ID, 0, 10)
	if err != nil || len(evs) != 0 || cur != current {
		t.Fatalf("SeatEvents(after 0) once every event is pruned = %v, %d, %v; want none and version %d (the caller sees it missed changes)",
			showEvents(evs), cur, err, current)
	}
	evs, cur, err = s.SeatEvents(ctx, scr.ID, current, 10)
	if err != nil || len(evs) != 0 || cur != current {
		t.Fatalf("SeatEvents(after the current version) once every event is pruned = %v, %d, %v; want none, %d",
			showEvents(evs), cur, err, current)
	}
	snap := readSnapshot(t, s, scr.ID)
	hold(t, s, newCustomer(), scr.ID, []string{"A3"})
	evs, cur = allEvents(t, s, scr.ID, 0, 10)
	wantRun(t, evs, current+1, current+1, "a change after every event was pruned")
	if cur != current+1 {
		t.Fatalf("version %d after a change at version %d", cur, current)
	}
	wantReplays(t, s, scr.ID, snap, 1, "a seat map read after the prune")
	if n, err := s.PruneSeatEvents(ctx, 24*time.Hour); err != nil || n != 0 {
		t.Fatalf("PruneSeatEvents(a day) = %d, %v; want 0 (every event is newer)", n, err)
	}
}

// pruneOnce makes old events at two screenings and new ones at one of them, prunes with keep,
// and checks what is left; it reports false when the new events were old too by the time of
// the prune (so nothing could be checked of a partial prune).
func pruneOnce(t *testing.T, s tickets.Store, keep time.Duration) bool {
	t.Helper()
	ctx := t.Context()
	m, _, hall, a := Fixture(t, s)
	b := addScreening(t, s, m.ID, hall, a.StartsAt.Add(3*time.Hour))
	u := newCustomer()
	ha := hold(t, s, u, a.ID, []string{"A1"})
	hold(t, s, newCustomer(), a.ID, []string{"A2"})
	if _, err := s.ReleaseHold(ctx, ha.ID, u.user); err != nil {
		t.Fatal(err)
	}
	hold(t, s, newCustomer(), b.ID, []string{"B1"})
	if err := s.SetBlocked(ctx, b.ID, []string{"C1"}, true); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PruneSeatEvents(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("PruneSeatEvents(an hour) = %d, %v; want 0 (every event is newer)", n, err)
	}
	old, _ := allEvents(t, s, b.ID, 0, 10)
	wantRun(t, old, 1, 2, "a hold and a block")
	snap := readSnapshot(t, s, b.ID) // version 2
	// Published or not, old events go: publish some of them.
	if _, err := s.PublishSeatEvents(ctx, 2, func([]tickets.SeatEvent) error { return nil }); err != nil {
		t.Fatal(err)
	}
	waitStoreClock(t, s, b.ID, old[1].At.Add(2*keep+sameInstant))
	hold(t, s, newCustomer(), b.ID, []string{"B2"})
	if err := s.SetBlocked(ctx, b.ID, []string{"C1"}, false); err != nil {
		t.Fatal(err)
	}
	beforeA, _ := allEvents(t, s, a.ID, 0, 10)
	beforeB, _ := allEvents(t, s, b.ID, 0, 10)
	wantRun(t, beforeA, 1, 3, "two holds and a release")
	wantRun(t, beforeB, 1, 4, "two holds, a block and an unblock")
	t0 := readSnapshot(t, s, b.ID).now
	n, err := s.PruneSeatEvents(ctx, keep)
	if err != nil {
		t.Fatalf("PruneSeatEvents(%v): %v", keep, err)
	}
	t1 := readSnapshot(t, s, b.ID).now

	why := fmt.Sprintf("PruneSeatEvents(%v) between store clock readings %v and %v", keep, t0, t1)
	cutA := wantPruned(t, s, a.ID, beforeA, t0, t1, keep, why)
	cutB := wantPruned(t, s, b.ID, beforeB, t0, t1, keep, why)
	if cutA != 3 || cutB < 2 {
		t.Fatalf("%s: events of %s up to %d and of %s up to %d were deleted; want those made before the wait (3 and 2)",
			why, a.ID, cutA, b.ID, cutB)
	}
	if want := int(cutA + cutB); n != want {
		t.Fatalf("%s = %d; want %d, the events it deleted", why, n, want)
	}
	if cutB == 4 {
		return false
	}
	for _, after := range []int64{0, 1} {
		evs, cur, err := s.SeatEvents(ctx, b.ID, after, 10)
		if err != nil || cur != 4 || len(evs) == 0 || evs[0].Version <= after+1 {
			t.Fatalf("SeatEvents(after %d) once events up to %d are pruned = %v, %d, %v; want a first version above %d (a gap)",
				after, cutB, showEvents(evs), cur, err, after+1)
		}
	}
	if cutB == 2 {
		wantReplays(t, s, b.ID, snap, 1, "a seat map read before the prune, at the last version pruned")
	}
	return true
}

// wantPruned fails unless what is left of a screening's events after PruneSeatEvents(keep),
// which ran between the store clock readings t0 and t1, is a run ending at the current version
// that starts after the newest event made more than keep before the prune's now (which is
// between t0 and t1), given the events before; it returns the last version deleted.
func wantPruned(t *testing.T, s tickets.Store, screeningID string, before []tickets.SeatEvent, t0, t1 time.Time, keep time.Duration, why string) int64 {
	t.Helper()
	var lower, upper int64 // the newest event surely old, and the newest maybe old
	for _, ev := range before {
		if ev.At.Before(t0.Add(-keep - sameInstant)) {
			lower = max(lower, ev.Version)
		}
		if ev.At.Before(t1.Add(-keep + sameInstant)) {
			upper = max(upper, ev.Version)
		}
	}
	left, current := allEvents(t, s, screeningID, 0, 10)
	cut := current - int64(len(left))
	wantRun(t, left, cut+1, current, why+": the events left of "+screeningID)
	if cut < lower || cut > upper {
		t.Fatalf("%s: %s's events up to %d were deleted, want up to the newest made more than keep before the prune (between %d and %d); before: %v",
			why, screeningID, cut, lower, upper, showTimes(before))
	}
	return cut
}

func showTimes(evs []tickets.SeatEvent) string {
	var parts []string
	for _, ev := range evs {
		parts = append(parts, fmt.Sprintf("%d@%s", ev.Version, ev.At.Format("15:04:05.000000")))
	}
	return strings.Join(parts, " ")
}

var errPublish = errors.New("ticketstest: publish failed")

// publisher collects what PublishSeatEvents passes.
type publisher struct {
	mu      sync.Mutex
	batches [][]tickets.SeatEvent
	err     error // returned by publish
}

func (p *publisher) publish(evs []tickets.SeatEvent) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.batches = append(p.batches, slices.Clone(evs))
	return p.err
}

type eventKey struct {
	screening string
	version   int64
}

func keyOf(ev tickets.SeatEvent) eventKey { return eventKey{ev.ScreeningID, ev.Version} }

func keysOf(evs []tickets.SeatEvent) []eventKey {
	out := make([]eventKey, len(evs))
	for i, ev := range evs {
		out[i] = keyOf(ev)
	}
	return out
}

// wantBatch fails unless a batch passed to publish is well formed, ordered by screening then
// version, of at most limit events, each as SeatEvents reads it.
func wantBatch(t *testing.T, s tickets.Store, evs []tickets.SeatEvent, limit int, why string) {
	t.Helper()
	if len(evs) == 0 || len(evs) > limit {
		t.Fatalf("%s: publish got %d events, want 1 to %d", why, len(evs), limit)
	}
	for i, ev := range evs {
		wantEventShape(t, ev, ev.ScreeningID, why)
		if i > 0 {
			p := evs[i-1]
			if p.ScreeningID > ev.ScreeningID || p.ScreeningID == ev.ScreeningID && p.Version >= ev.Version {
				t.Fatalf("%s: publish got %v, want them ordered by screening, then version", why, keysOf(evs))
			}
		}
		stored, _, err := s.SeatEvents(t.Context(), ev.ScreeningID, ev.Version-1, 1)
		if err != nil || len(stored) != 1 || stored[0].Version != ev.Version ||
			!maps.Equal(eventSeats(stored[0]), eventSeats(ev)) || !near(stored[0].At, ev.At, sameInstant) {
			t.Fatalf("%s: published event %+v; SeatEvents reads %+v, %v", why, ev, stored, err)
		}
	}
}

// changeSeats makes n events at screeningID, one per hold.
func changeSeats(t *testing.T, s tickets.Store, screeningID string, seats ...string) {
	t.Helper()
	for _, seat := range seats {
		hold(t, s, newCustomer(), screeningID, []string{seat})
	}
}

func testSeatEventsPublish(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	m, _, hall, a := Fixture(t, s)
	b := addScreening(t, s, m.ID, hall, a.StartsAt.Add(3*time.Hour))
	var p publisher
	if n, err := s.PublishSeatEvents(ctx, 10, p.publish); err != nil || n != 0 || len(p.batches) != 0 {
		t.Fatalf("PublishSeatEvents with no event = %d, %v (publish called %d times); want 0, nil", n, err, len(p.batches))
	}
	changeSeats(t, s, a.ID, "A1", "A2", "A3")
	changeSeats(t, s, b.ID, "B1", "B2")
	changeSeats(t, s, a.ID, "A4")

	seen := map[eventKey]bool{}
	lastOf := map[string]int64{}
	for round := 0; ; round++ {
		if round > 10 {
			t.Fatalf("PublishSeatEvents keeps publishing: %v", seen)
		}
		before := len(p.batches)
		n, err := s.PublishSeatEvents(ctx, 2, p.publish)
		if err != nil {
			t.Fatalf("PublishSeatEvents: %v", err)
		}
		if n == 0 {
			if len(p.batches) != before {
				t.Fatalf("PublishSeatEvents returned 0 but passed %v", keysOf(p.batches[len(p.batches)-1]))
			}
			break
		}
		if len(p.batches) != before+1 || len(p.batches[before]) != n {
			t.Fatalf("PublishSeatEvents = %d, calling publish %d times; want once, with %d events", n, len(p.batches)-before, n)
		}
		batch := p.batches[before]
		wantBatch(t, s, batch, 2, "a batch of at most 2")
		for _, ev := range batch {
			if seen[keyOf(ev)] {
				t.Fatalf("event %v published twice", keyOf(ev))
			}
			seen[keyOf(ev)] = true
			if ev.Version <= lastOf[ev.ScreeningID] {
				t.Fatalf("event %v published after version %d of its screening", keyOf(ev), lastOf[ev.ScreeningID])
			}
			lastOf[ev.ScreeningID] = ev.Version
		}
	}
	if len(seen) != 6 || lastOf[a.ID] != 4 || lastOf[b.ID] != 2 {
		t.Fatalf("published %v; want versions 1 to 4 of %s and 1 to 2 of %s, once each", seen, a.ID, b.ID)
	}

	// A failed publish marks nothing: the same events come again.
	changeSeats(t, s, b.ID, "B3")
	p = publisher{err: errPublish}
	if n, err := s.PublishSeatEvents(ctx, 10, p.publish); !errors.Is(err, errPublish) || n != 0 {
		t.Fatalf("PublishSeatEvents with a failing publish = %d, %v; want 0 and its error", n, err)
	}
	if len(p.batches) != 1 || !slices.Equal(keysOf(p.batches[0]), []eventKey{{b.ID, 3}}) {
		t.Fatalf("publish got %v; want the one new event", p.batches)
	}
	if n, err := s.PublishSeatEvents(ctx, 10, p.publish); !errors.Is(err, errPublish) || n != 0 {
		t.Fatalf("PublishSeatEvents with a failing publish again = %d, %v; want 0 and its error", n, err)
	}
	changeSeats(t, s, a.ID, "A5")
	p = publisher{}
	if n, err := s.PublishSeatEvents(ctx, 10, p.publish); err != nil || n != 2 {
		t.Fatalf("PublishSeatEvents after failures = %d, %v; want 2", n, err)
	}
	wantBatch(t, s, p.batches[0], 10, "the events a failed publish left")
	if got := keysOf(p.batches[0]); !slices.ContainsFunc(got, func(k eventKey) bool { return k == eventKey{b.ID, 3} }) ||
		!slices.ContainsFunc(got, func(k eventKey) bool { return k == eventKey{a.ID, 5} }) {
		t.Fatalf("publish got %v; want %s's version 3 (whose publish failed) and %s's version 5", got, b.ID, a.ID)
	}
	if n, err := s.PublishSeatEvents(ctx, 10, p.publish); err != nil || n != 0 || len(p.batches) != 1 {
		t.Fatalf("PublishSeatEvents once everything is published = %d, %v; want 0", n, err)
	}
}

// testSeatEventsOnePublisher: while one call is inside publish, another returns 0, nil at once,
// and the store keeps serving.
func testSeatEventsOnePublisher(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	_, _, _, scr := Fixture(t, s)
	changeSeats(t, s, scr.ID, "A1", "A2")

	entered := make(chan []tickets.SeatEvent, 1)
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock) // a failing case must not leave the first publisher waiting
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := s.PublishSeatEvents(ctx, 10, func(evs []tickets.SeatEvent) error {
			entered <- slices.Clone(evs)
			<-release
			return nil
		})
		done <- result{n, err}
	}()
	var first []tickets.SeatEvent
	select {
	case first = <-entered:
	case r := <-done:
		t.Fatalf("PublishSeatEvents = %d, %v without calling publish; want it to publish 2 events", r.n, r.err)
	case <-time.After(30 * time.Second):
		t.Fatal("PublishSeatEvents did not call publish within 30 s")
	}
	wantBatch(t, s, first, 10, "the first publisher's batch")
	if len(first) != 2 {
		t.Fatalf("the first publisher got %v; want both events", keysOf(first))
	}

	called := false
	n, err := s.PublishSeatEvents(ctx, 10, func([]tickets.SeatEvent) error { called = true; return nil })
	if err != nil || n != 0 || called {
		t.Fatalf("PublishSeatEvents while another call publishes = %d, %v (publish called: %v); want 0, nil at once", n, err, called)
	}
	// The store serves while an event is being published, and a change made meanwhile is the
	// next publisher's.
	hold(t, s, newCustomer(), scr.ID, []string{"A3"})
	n, err = s.PublishSeatEvents(ctx, 10, func([]tickets.SeatEvent) error { called = true; return nil })
	if err != nil || n != 0 || called {
		t.Fatalf("PublishSeatEvents while another call publishes, with a new event = %d, %v (publish called: %v); want 0, nil",
			n, err, called)
	}
	unblock()
	select {
	case r := <-done:
		if r.err != nil || r.n != 2 {
			t.Fatalf("the first publisher's PublishSeatEvents = %d, %v; want 2, nil", r.n, r.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("PublishSeatEvents did not return within 30 s of publish returning")
	}
	var p publisher
	if n, err := s.PublishSeatEvents(ctx, 10, p.publish); err != nil || n != 1 ||
		!slices.Equal(keysOf(p.batches[0]), []eventKey{{scr.ID, 3}}) {
		t.Fatalf("PublishSeatEvents after the first publisher = %d, %v, %v; want the event made meanwhile (version 3) alone",
			n, err, p.batches)
	}
}

// testSeatEventsSequence: SequenceSeatEvents numbers each committed event once, at most limit
// per call (a store that numbers at commit numbers none), and a change is in the seat map's
// version once numbered: the versions of every change made so far run 1..N, in the order the
// changes of each seat were made.
func testSeatEventsSequence(t *testing.T, s tickets.Store) {
	ctx := t.Context()
	_, _, _, scr := Fixture(t, s)
	changeSeats(t, s, scr.ID, "A2", "A3", "A4")
	if err := s.SetBlocked(ctx, scr.ID, []string{"A5"}, true); err != nil {
		t.Fatal(err)
	}
	if err := s.SetBlocked(ctx, scr.ID, []string{"A5"}, false); err != nil {
		t.Fatal(err)
	}
	total := 0
	for {
		n, err := s.SequenceSeatEvents(ctx, 2)
		if err != nil {
			t.Fatalf("SequenceSeatEvents: %v", err)
		}
		if n < 0 || n > 2 {
			t.Fatalf("SequenceSeatEvents(limit 2) = %d", n)
		}
		total += n
		if n == 0 {
			break
		}
	}
	if total != 0 && total != 5 {
		t.Fatalf("SequenceSeatEvents numbered %d events of 5 changes: want all (or none, numbered at commit)", total)
	}
	if n, err := s.SequenceSeatEvents(ctx, 100); err != nil || n != 0 {
		t.Fatalf("SequenceSeatEvents with nothing new = %d, %v; want 0", n, err)
	}
	evs, cur := allEvents(t, s, scr.ID, 0, 100)
	wantRun(t, evs, 1, 5, "five changes")
	if cur != 5 || version(t, s, scr.ID) != 5 {
		t.Fatalf("current version %d, seat map version %d after five changes; want 5", cur, version(t, s, scr.ID))
	}
	if got := fmt.Sprint(eventSeats(evs[3]), eventSeats(evs[4])); !strings.Contains(got, "A5") {
		t.Fatalf("events 4 and 5 are %s; want A5 blocked, then available", got)
	}
	if evs[3].Seats[0].Status != tickets.Blocked || evs[4].Seats[0].Status != tickets.Available {
		t.Fatalf("A5's events are %v then %v; want blocked, then available", evs[3].Seats, evs[4].Seats)
	}
}
