package tests

import (
	"context"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"
)

// The hold rules through HTTP, on two instances over one PostgreSQL: every subtest has a
// screening of its own (or several), and requests alternate between the instances. A refused
// request changes nothing: the seat map and the database are checked after refusals.

// TestTicketsRules: love seats, orphan seats, limits, best available, one hold per user,
// release, started and cancelled screenings, blocked seats, the seat map's ETag, and bad input.
func TestTicketsRules(t *testing.T) {
	e := ticketDeployment(t, 2, map[string]string{"BOXOFFICE_MAX_SEATS_PER_HOLD": "4"})
	c0, c1 := e.d.inst(0), e.d.inst(1)

	t.Run("love seats are held whole", func(t *testing.T) {
		sc := e.newScreening(t)
		u := signIn(t, c0).tk.AccessToken
		for _, seats := range [][]string{{"C1"}, {"C2"}, {"C2", "C3"}} {
			r, _ := hold(t, c1, u, sc.ID, seats...)
			expect(t, r, 422, "seat_group_split")
			if got := problemSeats(r); !slices.Equal(got, []string{"C1", "C2"}) {
				t.Fatalf("seat_group_split for %v names %v, want the group [C1 C2]", seats, got)
			}
		}
		seatsAre(t, seatMap(t, c0, sc.ID), "available", "C1", "C2", "C3")
		noHolds(t, e, sc.ID)
		h := mustHold(t, c0, u, sc.ID, "C1", "C2")
		if h.Total.Amount != 2*tkPremium || h.Total.Currency != "EUR" {
			t.Fatalf("the love seat costs %d %s, want %d EUR", h.Total.Amount, h.Total.Currency, 2*tkPremium)
		}
		seatsAre(t, seatMap(t, c1, sc.ID), "held", "C1", "C2")
		// Best available never takes half of a love seat, even for single seats.
		sc2 := e.newScreening(t)
		for i := 0; i < 6; i++ {
			v := signIn(t, c1).tk.AccessToken
			r, bh := holdBody(t, e.d.inst(i), v, sc2.ID, map[string]any{"count": 1, "category": "premium"})
			expect(t, r, 201, "")
			if len(bh.SeatIDs) != 1 || bh.SeatIDs[0] == "C1" || bh.SeatIDs[0] == "C2" {
				t.Fatalf("best available premium single: %s", r.body)
			}
		}
	})

	t.Run("an orphan seat is refused only when another choice exists", func(t *testing.T) {
		sc := e.newScreening(t)
		u, v, w := signIn(t, c0).tk.AccessToken, signIn(t, c1).tk.AccessToken, signIn(t, c0).tk.AccessToken
		// B2 alone would strand B1 against the row's end; B1 (among others) strands nothing.
		r, _ := hold(t, c0, u, sc.ID, "B2")
		expect(t, r, 422, "orphan_seat")
		if got := problemSeats(r); !slices.Equal(got, []string{"B1"}) {
			t.Fatalf("orphan_seat names %v, want [B1]", got)
		}
		seatsAre(t, seatMap(t, c1, sc.ID), "available", "B1", "B2")
		noHolds(t, e, sc.ID)
		mustHold(t, c1, u, sc.ID, "B1", "B2")
		// B3 would strand B4 against the aisle; B4 or B5 would not.
		r, _ = hold(t, c0, v, sc.ID, "B3")
		expect(t, r, 422, "orphan_seat")
		if got := problemSeats(r); !slices.Equal(got, []string{"B4"}) {
			t.Fatalf("orphan_seat names %v, want [B4]", got)
		}
		mustHold(t, c1, v, sc.ID, "B3", "B4")
		// Row E has three seats: any two strand the third, so no choice of two avoids it and
		// the rule yields: it must never cost a booking.
		mustHold(t, c0, w, sc.ID, "E1", "E2")
		seatsAre(t, seatMap(t, c0, sc.ID), "available", "E3")

		// One seat in the middle of row E strands both ends while E1 or E3 would not.
		sc2 := e.newScreening(t)
		r, _ = hold(t, c1, u, sc2.ID, "E2")
		expect(t, r, 422, "orphan_seat")
		if got := problemSeats(r); !slices.Equal(got, []string{"E1", "E3"}) {
			t.Fatalf("orphan_seat names %v, want [E1 E3]", got)
		}
		mustHold(t, c1, u, sc2.ID, "E1")
	})

	t.Run("at most BOXOFFICE_MAX_SEATS_PER_HOLD seats", func(t *testing.T) {
		sc := e.newScreening(t)
		u := signIn(t, c0).tk.AccessToken
		r, _ := hold(t, c0, u, sc.ID, "A1", "A2", "A3", "A4", "A5")
		expect(t, r, 422, "too_many_seats")
		r, _ = holdBody(t, c1, u, sc.ID, map[string]any{"count": 5})
		expect(t, r, 422, "too_many_seats")
		noHolds(t, e, sc.ID)
		h := mustHold(t, c1, u, sc.ID, "A1", "A2", "A3", "A4")
		if h.Total.Amount != 4*tkStandard || h.Total.Currency != "EUR" {
			t.Fatalf("four standard seats cost %d %s, want %d EUR", h.Total.Amount, h.Total.Currency, 4*tkStandard)
		}
	})

	t.Run("best available returns adjacent seats", func(t *testing.T) {
		sc := e.newScreening(t)
		layout := map[string]tkSeat{}
		for _, s := range ticketHall() {
			layout[s.ID] = s
		}
		adjacent := func(ids []string) bool {
			for i := 1; i < len(ids); i++ {
				if layout[ids[i]].Y != layout[ids[0]].Y {
					return false
				}
			}
			xs := []int{}
			for _, id := range ids {
				xs = append(xs, layout[id].X)
			}
			slices.Sort(xs)
			for i := 1; i < len(xs); i++ {
				if xs[i] != xs[i-1]+1 {
					return false
				}
			}
			return true
		}
		taken := map[string]bool{}
		for i, ask := range []map[string]any{
			{"count": 3}, {"count": 4}, {"count": 2}, {"count": 3}, {"count": 2, "category": "premium"},
			{"count": 2, "accessible": true},
		} {
			u := signIn(t, e.d.inst(i)).tk.AccessToken
			r, h := holdBody(t, e.d.inst(i+1), u, sc.ID, ask)
			expect(t, r, 201, "")
			if len(h.SeatIDs) != ask["count"].(int) || !adjacent(h.SeatIDs) {
				t.Fatalf("best available %v gave %v: not %v adjacent seats", ask, h.SeatIDs, ask["count"])
			}
			for _, s := range h.SeatIDs {
				if taken[s] {
					t.Fatalf("best available %v gave seat %s, already held", ask, s)
				}
				taken[s] = true
				want := ask["accessible"] == true
				if layout[s].Accessible != want {
					t.Fatalf("best available %v gave %s (accessible=%v)", ask, s, layout[s].Accessible)
				}
				if cat, ok := ask["category"]; ok && layout[s].Category != cat {
					t.Fatalf("best available %v gave %s of category %s", ask, s, layout[s].Category)
				}
			}
			seatsAre(t, seatMap(t, e.d.inst(i), sc.ID), "held", h.SeatIDs...)
		}
		// Both wheelchair spaces are held now: none is left to ask for.
		u := signIn(t, c0).tk.AccessToken
		r, _ := holdBody(t, c1, u, sc.ID, map[string]any{"count": 1, "accessible": true})
		expect(t, r, 409, "not_enough_seats")
	})

	t.Run("one active hold per user and screening", func(t *testing.T) {
		sc, other := e.newScreening(t), e.newScreening(t)
		name, pw := newUser(t, c0)
		s1, s2 := login(t, c0, name, pw), login(t, c1, name, pw)
		h1 := mustHold(t, c0, s1.AccessToken, sc.ID, "A3", "A4")
		h2 := mustHold(t, c1, s1.AccessToken, sc.ID, "A4", "A5") // overlaps its own hold: fine
		if got := getHold(t, c0, s1.AccessToken, h1.ID); got.Status != "replaced" || got.ExpiresInSeconds != 0 {
			t.Fatalf("the first hold reads %s (expires in %ds), want replaced", got.Status, got.ExpiresInSeconds)
		}
		m := seatMap(t, c1, sc.ID)
		seatsAre(t, m, "available", "A3")
		seatsAre(t, m, "held", "A4", "A5")
		h3 := mustHold(t, c0, s1.AccessToken, other.ID, "A1") // another screening: a hold of its own
		if got := getHold(t, c1, s1.AccessToken, h2.ID); got.Status != "active" {
			t.Fatalf("a hold on another screening changed this one to %s", got.Status)
		}
		// The rule is per user: the user's other session replaces it too.
		h4 := mustHold(t, c1, s2.AccessToken, sc.ID, "A8")
		if got := getHold(t, c0, s2.AccessToken, h2.ID); got.Status != "replaced" {
			t.Fatalf("the hold replaced from the user's other session reads %s", got.Status)
		}
		seatsAre(t, seatMap(t, c0, sc.ID), "available", "A4", "A5")
		if live, _ := liveHolds(context.Background(), e.db, sc.ID); len(live) != 1 || !live[h4.ID] {
			t.Fatalf("live holds %v, want only %s", sortedKeys(live), h4.ID)
		}
		if got := getHold(t, c0, s1.AccessToken, h3.ID); got.Status != "active" {
			t.Fatalf("the hold on the other screening reads %s", got.Status)
		}
	})

	t.Run("release", func(t *testing.T) {
		sc := e.newScreening(t)
		u, v := signIn(t, c0).tk.AccessToken, signIn(t, c1).tk.AccessToken
		h := mustHold(t, c0, u, sc.ID, "B5", "B6")
		expect(t, c1.do(t, "GET", "/v1/holds/"+h.ID, v, nil), 404, "not_found")
		expect(t, c1.do(t, "DELETE", "/v1/holds/"+h.ID, v, nil), 404, "not_found")
		seatsAre(t, seatMap(t, c0, sc.ID), "held", "B5", "B6")
		expect(t, c1.do(t, "DELETE", "/v1/holds/"+h.ID, u, nil), 204, "")
		if got := getHold(t, c0, u, h.ID); got.Status != "released" || got.ExpiresInSeconds != 0 {
			t.Fatalf("a released hold reads %s (expires in %ds)", got.Status, got.ExpiresInSeconds)
		}
		seatsAre(t, seatMap(t, c1, sc.ID), "available", "B5", "B6")
		expect(t, c0.do(t, "DELETE", "/v1/holds/"+h.ID, u, nil), 204, "") // again: no error
		mustHold(t, c1, v, sc.ID, "B5", "B6")
		if got := getHold(t, c0, u, h.ID); got.Status != "released" {
			t.Fatalf("the released hold reads %s after another took its seats", got.Status)
		}
	})

	t.Run("a screening that has started takes no holds", func(t *testing.T) {
		// A screening in the past cannot be created.
		r := e.createScreening(t, time.Now().Add(-time.Minute))
		expect(t, r, 422, "validation_failed")
		// One starting in a few seconds (later if the machine is too slow to create it in
		// time): wait until it starts, as the server's clock says.
		for lead := 4 * time.Second; ; lead *= 2 {
			r = e.createScreening(t, time.Now().Add(lead).Truncate(time.Second))
			if r.status != 422 || lead > guard {
				break
			}
			expect(t, r, 422, "validation_failed")
		}
		expect(t, r, 201, "")
		var sc tkScreening
		r.decode(t, &sc)
		u := signIn(t, c0).tk.AccessToken
		time.Sleep(time.Until(sc.StartsAt))
		deadline := time.Now().Add(guard)
		for {
			r, h := hold(t, c1, u, sc.ID, "A1")
			if r.status == 422 {
				expect(t, r, 422, "screening_started")
				break
			}
			expect(t, r, 201, "")
			if !h.ServerTime.Before(sc.StartsAt) {
				t.Fatalf("hold %s at server time %s of a screening that started at %s", h.ID, h.ServerTime, sc.StartsAt)
			}
			if time.Now().After(deadline) {
				t.Fatal("the screening never started")
			}
			time.Sleep(50 * time.Millisecond)
		}
		r, _ = holdBody(t, c0, u, sc.ID, map[string]any{"count": 1})
		expect(t, r, 422, "screening_started")
	})

	t.Run("overlapping screenings in a hall are refused by the database", func(t *testing.T) {
		sc := e.newScreening(t) // busy from T until T + 90 min + 15 min cleaning
		T := sc.StartsAt
		busy := time.Duration(tkDuration+tkCleaning) * time.Minute
		for _, at := range []time.Time{
			T,                                     // the same time
			T.Add(30 * time.Minute),               // during the film
			T.Add((tkDuration + 5) * time.Minute), // inside the cleaning time
			T.Add(-busy + time.Minute),            // its own cleaning runs into T
		} {
			expect(t, e.createScreening(t, at), 409, "hall_busy")
		}
		expect(t, e.createScreening(t, T.Add(busy)), 201, "")  // right after the cleaning
		expect(t, e.createScreening(t, T.Add(-busy)), 201, "") // its cleaning ends at T
		// Two instances create overlapping screenings at once: the database lets exactly one in.
		for i := 0; i < 3; i++ {
			a := e.nextSlot()
			var wg sync.WaitGroup
			replies := make([]reply, 2)
			for j := range replies {
				wg.Add(1)
				go func() {
					defer wg.Done()
					at := a.Add(time.Duration(j*10) * time.Minute).UTC().Format(time.RFC3339)
					replies[j], _ = e.d.inst(j).exchange(t, httpc, "POST", "/v1/admin/screenings", e.admin, map[string]any{
						"movie_id": tkMovie, "hall_id": tkHall, "starts_at": at, "prices": tkPrices()})
				}()
			}
			wg.Wait()
			statuses := []int{replies[0].status, replies[1].status}
			slices.Sort(statuses)
			if !slices.Equal(statuses, []int{201, 409}) {
				t.Fatalf("two overlapping screenings created at once: %d %s / %d %s", replies[0].status, replies[0].body, replies[1].status, replies[1].body)
			}
			for _, r := range replies {
				if r.status == 409 && r.code() != "hall_busy" {
					t.Fatalf("409 %s, want hall_busy", r.body)
				}
			}
		}
	})

	t.Run("blocked seats and cancelled screenings", func(t *testing.T) {
		sc := e.newScreening(t)
		u, v := signIn(t, c0).tk.AccessToken, signIn(t, c1).tk.AccessToken
		h := mustHold(t, c0, u, sc.ID, "D3", "D4", "D5")
		expect(t, c1.do(t, "POST", "/v1/admin/screenings/"+sc.ID+"/block", e.admin, map[string]any{"seat_ids": []string{"A9", "D4"}}), 409, "seats_unavailable")
		seatsAre(t, seatMap(t, c0, sc.ID), "available", "A9")
		expect(t, c1.do(t, "POST", "/v1/admin/screenings/"+sc.ID+"/block", e.admin, map[string]any{"seat_ids": []string{"A9", "A10"}}), 204, "")
		seatsAre(t, seatMap(t, c0, sc.ID), "blocked", "A9", "A10")
		r, _ := hold(t, c1, v, sc.ID, "A9", "A10")
		expect(t, r, 409, "seats_unavailable")
		if got := problemSeats(r); !slices.Equal(got, []string{"A10", "A9"}) && !slices.Equal(got, []string{"A9", "A10"}) {
			t.Fatalf("seats_unavailable names %v, want A9 and A10", got)
		}
		expect(t, c0.do(t, "POST", "/v1/admin/screenings/"+sc.ID+"/unblock", e.admin, map[string]any{"seat_ids": []string{"A9", "A10"}}), 204, "")
		mustHold(t, c1, v, sc.ID, "A9", "A10")

		expect(t, c0.do(t, "POST", "/v1/admin/screenings/"+sc.ID+"/cancel", e.admin, nil), 204, "")
		expect(t, c1.do(t, "POST", "/v1/admin/screenings/"+sc.ID+"/cancel", e.admin, nil), 204, "") // again
		if got := getHold(t, c1, u, h.ID); got.Status != "cancelled" {
			t.Fatalf("a hold of a cancelled screening reads %s", got.Status)
		}
		r, _ = hold(t, c0, u, sc.ID, "B1")
		expect(t, r, 409, "screening_cancelled")
		if live, _ := liveHolds(context.Background(), e.db, sc.ID); len(live) != 0 {
			t.Fatalf("holds %v live after the screening was cancelled", sortedKeys(live))
		}
		// The hall is free again at that time.
		expect(t, e.createScreening(t, sc.StartsAt), 201, "")
	})

	t.Run("the seat map's ETag", func(t *testing.T) {
		sc := e.newScreening(t)
		r := c0.do(t, "GET", "/v1/screenings/"+sc.ID+"/seats", "", nil)
		expect(t, r, 200, "")
		etag := r.header.Get("ETag")
		var before tkSeatMap
		r.decode(t, &before)
		if etag == "" {
			t.Fatal("the seat map has no ETag")
		}
		expect(t, c1.do(t, "GET", "/v1/screenings/"+sc.ID+"/seats", "", nil, "If-None-Match", etag), 304, "")
		u := signIn(t, c0).tk.AccessToken
		mustHold(t, c1, u, sc.ID, "A1", "A2")
		r = c0.do(t, "GET", "/v1/screenings/"+sc.ID+"/seats", "", nil, "If-None-Match", etag)
		expect(t, r, 200, "")
		var after tkSeatMap
		r.decode(t, &after)
		if r.header.Get("ETag") == etag {
			t.Fatalf("after a hold: the ETag %s did not change", etag)
		}
		// The change's event is numbered a moment later (at most BOXOFFICE_EVENTS_PUBLISH_INTERVAL
		// plus a publisher round): the version grows then.
		deadline := time.Now().Add(20 * time.Second)
		for after.Version <= before.Version {
			if time.Now().After(deadline) {
				t.Fatalf("after a hold: version %d (was %d) for 20s", after.Version, before.Version)
			}
			time.Sleep(20 * time.Millisecond)
			r = c0.do(t, "GET", "/v1/screenings/"+sc.ID+"/seats", "", nil)
			expect(t, r, 200, "")
			r.decode(t, &after)
		}
		// The screening, alone and in the list, counts the seats left.
		r = c1.do(t, "GET", "/v1/screenings/"+sc.ID, "", nil)
		expect(t, r, 200, "")
		var got tkScreening
		r.decode(t, &got)
		if got.SeatsAvailable != len(ticketHall())-2 {
			t.Fatalf("GET /v1/screenings/%s: seats_available %d, want %d: %s", sc.ID, got.SeatsAvailable, len(ticketHall())-2, r.body)
		}
		from := sc.StartsAt.Add(-time.Minute).UTC().Format(time.RFC3339)
		r = c0.do(t, "GET", "/v1/screenings?movie_id="+tkMovie+"&cinema_id="+tkCinema+"&from="+url.QueryEscape(from), "", nil)
		expect(t, r, 200, "")
		var list struct{ Items []tkScreening }
		r.decode(t, &list)
		if len(list.Items) == 0 || list.Items[0].ID != sc.ID || list.Items[0].SeatsAvailable != len(ticketHall())-2 {
			t.Fatalf("GET /v1/screenings from %s does not start with %s and its %d seats left: %s", from, sc.ID, len(ticketHall())-2, r.body)
		}
	})

	t.Run("bad input is refused and changes nothing", func(t *testing.T) {
		sc := e.newScreening(t)
		u := signIn(t, c0).tk.AccessToken
		path := "/v1/screenings/" + sc.ID + "/holds"
		for _, body := range []any{
			map[string]any{"seat_ids": []string{"Z9"}},
			map[string]any{"seat_ids": []string{}},
			map[string]any{"seat_ids": []string{"A1", "A1"}},
			map[string]any{"seat_ids": []string{"A1"}, "count": 1},
			map[string]any{"count": 0},
			map[string]any{"count": -1},
			map[string]any{"seat_ids": []string{"A1"}, "category": "premium"},
			map[string]any{"count": 1, "category": "NOT A CATEGORY"},
			map[string]any{},
			`{"seat_ids": ["A1"]`,
		} {
			r := c1.do(t, "POST", path, u, body)
			if r.status != 400 && r.status != 422 {
				t.Fatalf("hold with %v: %d %s", body, r.status, r.body)
			}
		}
		expect(t, c0.do(t, "POST", path, "", map[string]any{"seat_ids": []string{"A1"}}), 401, "")
		missing := "scr_" + "aaaaaaaaaaaaaaaaaaaaaaaaaa"
		r, _ := hold(t, c0, u, missing, "A1")
		expect(t, r, 404, "not_found")
		expect(t, c0.do(t, "GET", "/v1/screenings/not-an-id/seats", "", nil), 404, "not_found")
		noHolds(t, e, sc.ID)
		seatsAre(t, seatMap(t, c1, sc.ID), "available", "A1")
	})
}

// noHolds fails unless the screening has no hold at all in the database (a refused request
// stored nothing).
func noHolds(t *testing.T, e *ticketEnv, screening string) {
	t.Helper()
	var n int
	if err := e.db.QueryRow(context.Background(), `SELECT count(*) FROM holds WHERE screening_id = $1`, screening).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d holds stored for screening %s by refused requests", n, screening)
	}
}
