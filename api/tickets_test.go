package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"boxoffice/tickets"
)

// ticketWorld is a test server with a small catalogue and two signed-in users:
//
//	cinema c1 (Europe/Berlin), hall h1:
//	  y=0  A1 A2 A3 A4 A5 A6          x 0-5, standard
//	  y=1  B1 B2 B3 B4 _ B5 B6        x 0-3 standard; x 5-6 premium, group B-LOVE (a love seat)
//	  y=2  C1 C2 C3 C4                x 0-3 standard; C1 a wheelchair space
//	movie m1 (100 minutes), screening scr tomorrow in h1 at 11.50 EUR standard, 14.50 premium.
type ticketWorld struct {
	ts         *testServer
	scr        string
	startsAt   time.Time
	alice, bob tokenResponse
}

func newTicketWorld(t *testing.T) ticketWorld {
	t.Helper()
	ts := newTestServer(t)
	ts.spec = specCheck(t) // every exchange of the ticket tests is checked against openapi.yaml
	return stockTicketWorld(t, ts)
}

func testLayout() []tickets.Seat {
	var seats []tickets.Seat
	add := func(row string, n, x, y int, cat, group string, accessible bool) {
		id := fmt.Sprintf("%s%d", row, n)
		seats = append(seats, tickets.Seat{ID: id, Label: id, Row: row, Number: n, X: x, Y: y,
			Category: cat, GroupID: group, Accessible: accessible})
	}
	for n := 1; n <= 6; n++ {
		add("A", n, n-1, 0, "standard", "", false)
	}
	for n := 1; n <= 4; n++ {
		add("B", n, n-1, 1, "standard", "", false)
	}
	add("B", 5, 5, 1, "premium", "B-LOVE", false)
	add("B", 6, 6, 1, "premium", "B-LOVE", false)
	for n := 1; n <= 4; n++ {
		add("C", n, n-1, 2, "standard", "", n == 1)
	}
	return seats
}

// do sends a request, fails the test unless it is answered with status, and decodes a JSON
// body into out (when not nil).
func (ts *testServer) do(tb testing.TB, method, path, token, body string, status int, out any, hdr ...string) *http.Response {
	tb.Helper()
	resp, b := ts.call(tb, method, path, token, body, hdr...)
	if resp.StatusCode != status {
		tb.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, status)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			tb.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return resp
}

// problem sends a request and returns its problem, failing the test unless it has status
// and code.
func (ts *testServer) problem(tb testing.TB, method, path, token, body string, status int, code string, hdr ...string) Problem {
	tb.Helper()
	resp, b := ts.call(tb, method, path, token, body, hdr...)
	var p Problem
	if err := json.Unmarshal(b, &p); err != nil || resp.StatusCode != status || p.Code != code || p.Status != status {
		tb.Fatalf("%s %s %s: %d %s, want %d %s", method, path, body, resp.StatusCode, b, status, code)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		tb.Fatalf("%s %s: Content-Type %q", method, path, ct)
	}
	return p
}

// seats returns the seat map's ETag and each seat's status.
func (w ticketWorld) seats(t *testing.T) (string, map[string]tickets.SeatState) {
	t.Helper()
	var m seatMapView
	resp := w.ts.do(t, "GET", "/v1/screenings/"+w.scr+"/seats", "", "", 200, &m)
	out := map[string]tickets.SeatState{}
	for _, s := range m.Seats {
		out[s.ID] = s.Status
	}
	return resp.Header.Get("ETag"), out
}

// wantSeats fails the test unless exactly the seats in taken have those statuses and every
// other seat is available.
func (w ticketWorld) wantSeats(t *testing.T, taken map[string]tickets.SeatState) {
	t.Helper()
	_, got := w.seats(t)
	for id, st := range got {
		want := taken[id]
		if want == "" {
			want = tickets.Available
		}
		if st != want {
			t.Errorf("seat %s is %s, want %s", id, st, want)
		}
	}
	if len(got) != 16 {
		t.Errorf("the seat map has %d seats, want 16", len(got))
	}
}

// hold makes a hold and returns it.
func (w ticketWorld) hold(t *testing.T, token, body string) holdView {
	t.Helper()
	var h holdView
	w.ts.do(t, "POST", "/v1/screenings/"+w.scr+"/holds", token, body, 201, &h)
	return h
}

// getHold returns a hold as its owner sees it.
func (w ticketWorld) getHold(t *testing.T, token, id string) holdView {
	t.Helper()
	var h holdView
	w.ts.do(t, "GET", "/v1/holds/"+id, token, "", 200, &h)
	return h
}

func held(ids ...string) map[string]tickets.SeatState {
	m := map[string]tickets.SeatState{}
	for _, id := range ids {
		m[id] = tickets.Held
	}
	return m
}

// TestBrowseMovies: paging follows next_cursor to the end, in title order, each movie once;
// invalid paging parameters are 422 naming them; unknown or malformed ids are 404.
func TestBrowseMovies(t *testing.T) {
	w := newTicketWorld(t)
	ctx := context.Background()
	for _, m := range []tickets.Movie{
		{ID: "z-last", Title: "Zebra", DurationMinutes: 90, Genres: []string{"comedy"}},
		{ID: "a-first", Title: "Aardvark", DurationMinutes: 91, Rating: "PG", Synopsis: "An animal."},
		{ID: "b-second", Title: "Badger", DurationMinutes: 92},
	} {
		if _, err := w.ts.tickets.PutMovie(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	var titles []string
	path := "/v1/movies?limit=3"
	for pages := 0; ; pages++ {
		var page pageView[movieView]
		w.ts.do(t, "GET", path, "", "", 200, &page)
		for _, m := range page.Items {
			titles = append(titles, m.Title)
			if m.Genres == nil {
				t.Errorf("movie %s: genres is null", m.ID)
			}
		}
		if page.NextCursor == nil {
			if pages != 1 {
				t.Errorf("%d pages, want 2", pages+1)
			}
			break
		}
		path = "/v1/movies?limit=3&cursor=" + url.QueryEscape(*page.NextCursor)
	}
	if want := []string{"Aardvark", "Badger", "Middle Film", "Zebra"}; !slices.Equal(titles, want) {
		t.Errorf("titles %v, want %v", titles, want)
	}

	var m movieView
	w.ts.do(t, "GET", "/v1/movies/a-first", "", "", 200, &m)
	if fmt.Sprintf("%#v", m) != fmt.Sprintf("%#v", movieView{ID: "a-first", Title: "Aardvark", Synopsis: "An animal.", DurationMinutes: 91, Rating: "PG", Genres: []string{}}) {
		t.Errorf("movie = %+v", m)
	}
	for _, q := range []struct{ query, field string }{
		{"limit=0", "limit"}, {"limit=101", "limit"}, {"limit=x", "limit"}, {"limit=%2B5", "limit"},
		{"limit=2&limit=3", "limit"}, {"cursor=%21%21", "cursor"}, {"cursor=abc", "cursor"},
	} {
		p := w.ts.problem(t, "GET", "/v1/movies?"+q.query, "", "", 422, "validation_failed")
		if p.Errors[q.field] == "" {
			t.Errorf("%s: errors %v, want %s", q.query, p.Errors, q.field)
		}
	}
	for _, id := range []string{"nope", "A-FIRST", "a_first", strings.Repeat("a", 65)} {
		w.ts.problem(t, "GET", "/v1/movies/"+id, "", "", 404, "not_found")
	}
}

// TestBrowseCinemasAndScreenings: cinemas with their halls; screenings filtered by movie,
// cinema and span, paged; bad filters are 422; unknown and malformed ids 404.
func TestBrowseCinemasAndScreenings(t *testing.T) {
	w := newTicketWorld(t)
	ctx := context.Background()
	svc := w.ts.tickets
	if _, err := svc.PutMovie(ctx, tickets.Movie{ID: "m2", Title: "Second", DurationMinutes: 60}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PutCinema(ctx, tickets.Cinema{ID: "c2", Name: "Another", City: "Lyon", TimeZone: "Europe/Paris"}); err != nil {
		t.Fatal(err)
	}
	seat := []tickets.Seat{{ID: "S1", Label: "S1", Row: "S", Number: 1, Category: "standard"}}
	if _, err := svc.PutHall(ctx, tickets.Hall{ID: "h2", CinemaID: "c2", Name: "Small", Seats: seat}); err != nil {
		t.Fatal(err)
	}
	price := []tickets.Price{{Category: "standard", Amount: 900, Currency: "EUR"}, {Category: "premium", Amount: 900, Currency: "EUR"}}
	ids := map[string]string{"m1 c1 day1": w.scr}
	for _, s := range []struct {
		name, movie, hall string
		at                time.Time
	}{
		{"m2 c1 day2", "m2", "h1", w.startsAt.Add(24 * time.Hour)},
		{"m1 c1 day3", "m1", "h1", w.startsAt.Add(48 * time.Hour)},
		{"m2 c2 day1", "m2", "h2", w.startsAt.Add(time.Hour)},
		{"m1 c1 day10", "m1", "h1", w.startsAt.Add(9 * 24 * time.Hour)},
	} {
		sc, err := svc.CreateScreening(ctx, tickets.Screening{MovieID: s.movie, HallID: s.hall, StartsAt: s.at, Prices: price})
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		ids[s.name] = sc.ID
	}

	var cinemas listView[cinemaView]
	w.ts.do(t, "GET", "/v1/cinemas", "", "", 200, &cinemas)
	want := []cinemaView{
		{ID: "c2", Name: "Another", City: "Lyon", TimeZone: "Europe/Paris", Halls: []hallSummaryView{{"h2", "Small", 1}}},
		{ID: "c1", Name: "Cinema One", City: "Berlin", TimeZone: "Europe/Berlin", Halls: []hallSummaryView{{"h1", "Hall 1", 16}}},
	}
	if fmt.Sprint(cinemas.Items) != fmt.Sprint(want) {
		t.Errorf("cinemas = %+v, want %+v", cinemas.Items, want)
	}
	var c cinemaView
	w.ts.do(t, "GET", "/v1/cinemas/c1", "", "", 200, &c)
	if fmt.Sprint(c) != fmt.Sprint(want[1]) {
		t.Errorf("cinema = %+v", c)
	}
	w.ts.problem(t, "GET", "/v1/cinemas/c3", "", "", 404, "not_found")
	w.ts.problem(t, "GET", "/v1/cinemas/C1", "", "", 404, "not_found")

	// names lists the screenings of a query, following every page.
	names := func(query string) []string {
		t.Helper()
		byID := map[string]string{}
		for name, id := range ids {
			byID[id] = name
		}
		var out []string
		path := "/v1/screenings?limit=1&" + query
		for {
			var page pageView[screeningView]
			w.ts.do(t, "GET", path, "", "", 200, &page)
			for _, s := range page.Items {
				out = append(out, byID[s.ID])
			}
			if page.NextCursor == nil {
				return out
			}
			path = "/v1/screenings?limit=1&" + query + "&cursor=" + *page.NextCursor
		}
	}
	from := url.QueryEscape(w.startsAt.Add(-time.Hour).In(time.FixedZone("", 3600)).Format(time.RFC3339))
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{"m1 c1 day1", "m2 c2 day1", "m2 c1 day2", "m1 c1 day3"}}, // the next 7 days
		{"movie_id=m1", []string{"m1 c1 day1", "m1 c1 day3"}},
		{"cinema_id=c2", []string{"m2 c2 day1"}},
		{"movie_id=m2&cinema_id=c1", []string{"m2 c1 day2"}},
		{"from=" + from + "&to=" + url.QueryEscape(w.startsAt.Add(time.Hour).Format(time.RFC3339)), []string{"m1 c1 day1"}},
		{"from=" + from + "&movie_id=m1&to=" + url.QueryEscape(w.startsAt.Add(20*24*time.Hour).Format(time.RFC3339)),
			[]string{"m1 c1 day1", "m1 c1 day3", "m1 c1 day10"}},
		{"movie_id=nothing", nil},
	} {
		if got := names(tc.query); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.query, got, tc.want)
		}
	}
	for _, tc := range []struct{ query, field string }{
		{"from=2026-12-01", "from"}, {"from=2026-12-01T20:00:00", "from"}, {"to=tomorrow", "to"},
		{"from=2026-12-01T20:00:00%2B01:00&to=2026-12-01T19:00:00Z", "to"},
		{"from=2026-12-01T20:00:00+01:00", "from"}, // an unencoded + is a space
		{"from=2026-12-01T20:00:00,5Z", "from"},
		{"from=2026-01-01T00:00:00Z&to=2026-06-01T00:00:00Z", "to"},
		{"movie_id=M1", "movie_id"}, {"cinema_id=a%20b", "cinema_id"}, {"movie_id=m1&movie_id=m2", "movie_id"},
		{"limit=1000", "limit"}, {"cursor=not-a-cursor", "cursor"},
	} {
		p := w.ts.problem(t, "GET", "/v1/screenings?"+tc.query, "", "", 422, "validation_failed")
		if p.Errors[tc.field] == "" {
			t.Errorf("%s: errors %v, want %s", tc.query, p.Errors, tc.field)
		}
	}

	var s screeningView
	w.ts.do(t, "GET", "/v1/screenings/"+w.scr, "", "", 200, &s)
	wantS := screeningView{ID: w.scr, MovieID: "m1", CinemaID: "c1", HallID: "h1", StartsAt: w.startsAt.UTC(),
		EndsAt: w.startsAt.Add(100 * time.Minute).UTC(), Status: "scheduled", SeatsAvailable: 16,
		Prices: []priceView{{"premium", 1450, "EUR"}, {"standard", 1150, "EUR"}}}
	slices.SortFunc(s.Prices, func(a, b priceView) int { return strings.Compare(a.Category, b.Category) })
	if fmt.Sprint(s) != fmt.Sprint(wantS) {
		t.Errorf("screening = %+v\nwant %+v", s, wantS)
	}
	for _, id := range []string{"scr_aaaaaaaaaaaaaaaaaaaaaaaaaa", "nope", strings.ToUpper(w.scr), w.scr + "a"} {
		w.ts.problem(t, "GET", "/v1/screenings/"+id, "", "", 404, "not_found")
		w.ts.problem(t, "GET", "/v1/screenings/"+id+"/seats", "", "", 404, "not_found")
	}
}

// TestSeatMapETag: the seat map carries an ETag and no-cache; If-None-Match with it (alone,
// weak, in a list, or *) is 304 without a body; a hold, its release and its expiry each change
// the ETag.
func TestSeatMapETag(t *testing.T) {
	w := newTicketWorld(t)
	path := "/v1/screenings/" + w.scr + "/seats"
	var m seatMapView
	resp := w.ts.do(t, "GET", path, "", "", 200, &m)
	etag := resp.Header.Get("ETag")
	if !regexp.MustCompile(`^"[0-9]+-[0-9a-f]{1,16}"$`).MatchString(etag) || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag %q, Cache-Control %q", etag, resp.Header.Get("Cache-Control"))
	}
	if m.ScreeningID != w.scr || len(m.Seats) != 16 || m.Seats[0].ID != "A1" || m.Seats[15].ID != "C4" {
		t.Fatalf("seat map = %+v", m)
	}
	for _, s := range m.Seats {
		if s.Status != tickets.Available {
			t.Errorf("seat %s is %s", s.ID, s.Status)
		}
	}
	b5 := m.Seats[10]
	if want := (seatView{ID: "B5", Label: "B5", Row: "B", Number: 5, X: 5, Y: 1, Category: "premium", GroupID: "B-LOVE"}); b5.seatView != want {
		t.Errorf("B5 = %+v, want %+v", b5.seatView, want)
	}
	_, raw := w.ts.call(t, "GET", path, "", "")
	if strings.Contains(string(raw), `"group_id":""`) || strings.Contains(string(raw), `"group_id":null`) || !strings.Contains(string(raw), `"accessible":true`) {
		t.Errorf("seat map JSON: %s", raw)
	}

	notModified := func(inm string) {
		t.Helper()
		resp, b := w.ts.call(t, "GET", path, "", "", "If-None-Match", inm)
		if resp.StatusCode != 304 || len(b) != 0 || resp.Header.Get("ETag") != etag || resp.Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("If-None-Match %s: %d %q ETag %q", inm, resp.StatusCode, b, resp.Header.Get("ETag"))
		}
	}
	modified := func(inm string) {
		t.Helper()
		if resp, b := w.ts.call(t, "GET", path, "", "", "If-None-Match", inm); resp.StatusCode != 200 || len(b) == 0 {
			t.Errorf("If-None-Match %s: %d", inm, resp.StatusCode)
		}
	}
	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		notModified(inm)
	}
	for _, inm := range []string{`"other"`, strings.Trim(etag, `"`), "garbage"} {
		modified(inm)
	}

	h := w.hold(t, w.alice.AccessToken, `{"seat_ids":["A1","A2"]}`)
	var after seatMapView
	resp = w.ts.do(t, "GET", path, "", "", 200, &after)
	held := resp.Header.Get("ETag")
	if held == etag || after.Version <= m.Version {
		t.Errorf("a hold left ETag %s, version %d -> %d", held, m.Version, after.Version)
	}
	modified(etag)
	w.wantSeats(t, map[string]tickets.SeatState{"A1": tickets.Held, "A2": tickets.Held})

	w.ts.clock.advance(11 * time.Minute) // the hold expires: the seats are free, the ETag moves
	_, seats := w.seats(t)
	resp = w.ts.do(t, "GET", path, "", "", 200, nil)
	if resp.Header.Get("ETag") == held || seats["A1"] != tickets.Available {
		t.Errorf("after expiry: ETag %s (was %s), A1 %s", resp.Header.Get("ETag"), held, seats["A1"])
	}
	if g := w.getHold(t, w.alice.AccessToken, h.ID); g.Status != "expired" || g.ExpiresInSeconds != 0 {
		t.Errorf("expired hold = %+v", g)
	}
	w.hold(t, w.bob.AccessToken, `{"seat_ids":["A1","A2"]}`) // another user takes them at once
}

// TestHoldCreated: a hold answers 201 with Location and every field, the seats show held,
// and GET at Location returns it.
func TestHoldCreated(t *testing.T) {
	w := newTicketWorld(t)
	before := w.ts.clock.now().Add(-time.Second)
	resp, b := w.ts.call(t, "POST", "/v1/screenings/"+w.scr+"/holds", w.alice.AccessToken, `{"seat_ids":["B6","B5","A3"]}`)
	if resp.StatusCode != 201 {
		t.Fatalf("hold: %d %s", resp.StatusCode, b)
	}
	var h holdView
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	switch {
	case !holdID.MatchString(h.ID), resp.Header.Get("Location") != "/v1/holds/"+h.ID:
		t.Errorf("id %q, Location %q", h.ID, resp.Header.Get("Location"))
	case h.ScreeningID != w.scr, !slices.Equal(h.SeatIDs, []string{"A3", "B5", "B6"}), h.Status != "active":
		t.Errorf("hold = %+v", h)
	case h.Total != (moneyView{Amount: 1150 + 2*1450, Currency: "EUR"}):
		t.Errorf("total = %+v", h.Total)
	case h.CreatedAt.Before(before), h.ExpiresAt.Sub(h.CreatedAt) != 10*time.Minute, h.ServerTime.Before(h.CreatedAt):
		t.Errorf("times: created %v expires %v server %v", h.CreatedAt, h.ExpiresAt, h.ServerTime)
	case h.ExpiresInSeconds < 599 || h.ExpiresInSeconds > 600:
		t.Errorf("expires_in_seconds = %d", h.ExpiresInSeconds)
	case resp.Header.Get("Session-Idle-Expires-At") == "":
		t.Error("no session deadline headers")
	}
	for _, field := range []string{`"created_at":"`, `"expires_at":"`, `"server_time":"`} {
		i := strings.Index(string(b), field)
		if i < 0 || !strings.Contains(string(b[i:min(len(b), i+len(field)+40)]), `Z"`) {
			t.Errorf("%s is not UTC RFC 3339: %s", field, b)
		}
	}
	w.wantSeats(t, held("A3", "B5", "B6"))
	if g := w.getHold(t, w.alice.AccessToken, h.ID); g.ID != h.ID || g.Status != "active" || !slices.Equal(g.SeatIDs, h.SeatIDs) || g.Total != h.Total {
		t.Errorf("GET = %+v", g)
	}
	var s screeningView
	w.ts.do(t, "GET", "/v1/screenings/"+w.scr, "", "", 200, &s)
	if s.SeatsAvailable != 13 {
		t.Errorf("seats_available = %d, want 13", s.SeatsAvailable)
	}

	// Best available: two standard seats together, never the wheelchair space.
	best := w.hold(t, w.bob.AccessToken, `{"count":2,"category":"standard"}`)
	if len(best.SeatIDs) != 2 || best.Total.Amount != 2300 || slices.Contains(best.SeatIDs, "C1") {
		t.Errorf("best available = %+v", best)
	}
	acc := w.hold(t, w.alice.AccessToken, `{"count":1,"accessible":true}`) // replaces alice's hold
	if !slices.Equal(acc.SeatIDs, []string{"C1"}) {
		t.Errorf("accessible = %+v", acc)
	}
	if g := w.getHold(t, w.alice.AccessToken, h.ID); g.Status != "replaced" || g.ExpiresInSeconds != 0 {
		t.Errorf("the replaced hold = %+v", g)
	}
	want := held(append(best.SeatIDs, "C1")...)
	w.wantSeats(t, want)
}

// TestHoldConflict: a seat held by someone else is 409 seats_unavailable naming it, and
// nothing else is held (all or nothing); a failed replacement keeps the previous hold.
func TestHoldConflict(t *testing.T) {
	w := newTicketWorld(t)
	a := w.hold(t, w.alice.AccessToken, `{"seat_ids":["A1","A2"]}`)
	etag, _ := w.seats(t)
	p := w.ts.problem(t, "POST", "/v1/screenings/"+w.scr+"/holds", w.bob.AccessToken, `{"seat_ids":["A3","A2","A1"]}`, 409, "seats_unavailable")
	if !slices.Equal(p.SeatIDs, []string{"A1", "A2"}) || p.Detail == "" {
		t.Errorf("problem = %+v", p)
	}
	b := w.hold(t, w.bob.AccessToken, `{"seat_ids":["A5","A6"]}`)
	etag2, _ := w.seats(t)
	w.ts.problem(t, "POST", "/v1/screenings/"+w.scr+"/holds", w.bob.AccessToken, `{"seat_ids":["A2","A3"]}`, 409, "seats_unavailable")
	if now, _ := w.seats(t); now != etag2 || etag2 == etag {
		t.Errorf("a refused hold changed the seat map")
	}
	w.wantSeats(t, held("A1", "A2", "A5", "A6"))
	if g := w.getHold(t, w.bob.AccessToken, b.ID); g.Status != "active" {
		t.Errorf("bob's hold after a failed replacement: %+v", g)
	}
	if g := w.getHold(t, w.alice.AccessToken, a.ID); g.Status != "active" {
		t.Errorf("alice's hold: %+v", g)
	}
	// Everything taken: best available has nothing to give.
	w.hold(t, w.alice.AccessToken, `{"count":1,"accessible":true}`) // alice now holds C1 only
	w.ts.problem(t, "POST", "/v1/screenings/"+w.scr+"/holds", w.bob.AccessToken, `{"count":1,"accessible":true}`, 409, "not_enough_seats")
	w.ts.problem(t, "POST", "/v1/screenings/"+w.scr+"/holds", w.bob.AccessToken, `{"count":3,"category":"premium"}`, 409, "not_enough_seats")
	w.wantSeats(t, held("C1", "A5", "A6"))
}

// TestHoldRefusals: invalid requests and broken layout rules are 4xx problems that change
// nothing.
func TestHoldRefusals(t *testing.T) {
	w := newTicketWorld(t)
	w.hold(t, w.bob.AccessToken, `{"seat_ids":["C3","C4"]}`)
	etag, _ := w.seats(t)
	path := "/v1/screenings/" + w.scr + "/holds"
	for _, tc := range []struct {
		body   string
		status int
		code   string
		field  string   // errors member, for validation_failed
		seats  []string // seat_ids member
		detail string   // in the detail
	}{
		{`{"seat_ids":["A2"]}`, 422, "orphan_seat", "", []string{"A1"}, "A1"},
		{`{"seat_ids":["A2","A3","A4","A5"]}`, 422, "orphan_seat", "", []string{"A1", "A6"}, ""},
		{`{"seat_ids":["B5"]}`, 422, "seat_group_split", "", []string{"B5", "B6"}, "B5, B6"},
		{`{"seat_ids":["B4","B6"]}`, 422, "seat_group_split", "", []string{"B5", "B6"}, ""},
		{`{"count":11}`, 422, "too_many_seats", "", nil, "10"},
		{`{"seat_ids":["A1","A2","A3","A4","A5","A6","B1","B2","B3","B4","C1"]}`, 422, "too_many_seats", "", nil, ""},
		{`{}`, 422, "validation_failed", "seat_ids", nil, ""},
		{`{"seat_ids":["A1"],"count":1}`, 422, "validation_failed", "seat_ids", nil, ""},
		{`{"seat_ids":[]}`, 422, "validation_failed", "seat_ids", nil, ""},
		{`{"seat_ids":["A1","A1"]}`, 422, "validation_failed", "seat_ids", nil, ""},
		{`{"seat_ids":["Z9"]}`, 422, "validation_failed", "seat_ids", nil, ""},
		{`{"seat_ids":"A1"}`, 422, "validation_failed", "seat_ids", nil, ""},
		{`{"seat_ids":[1]}`, 422, "validation_failed", "seat_ids", nil, ""},
		{`{"seat_ids":["A1"],"category":"standard"}`, 422, "validation_failed", "category", nil, ""},
		{`{"count":-1}`, 422, "validation_failed", "count", nil, ""},
		{`{"count":1.5}`, 422, "validation_failed", "count", nil, ""},
		{`{"count":"2"}`, 422, "validation_failed", "count", nil, ""},
		{`{"count":2,"category":"Bad Category"}`, 422, "validation_failed", "category", nil, ""},
		{`{"count":2,"accessible":"yes"}`, 422, "validation_failed", "accessible", nil, ""},
		{`{"count":2,"Count":2}`, 422, "validation_failed", "Count", nil, ""},
		{`[]`, 422, "validation_failed", "", nil, ""},
		{`{"count":2,"count":3}`, 400, "malformed_json", "", nil, ""},
		{`{"count":`, 400, "malformed_json", "", nil, ""},
	} {
		p := w.ts.problem(t, "POST", path, w.alice.AccessToken, tc.body, tc.status, tc.code)
		if tc.code == "validation_failed" {
			if _, ok := p.Errors[tc.field]; !ok {
				t.Errorf("%s: errors %v, want %q", tc.body, p.Errors, tc.field)
			}
		}
		if !slices.Equal(p.SeatIDs, tc.seats) || !strings.Contains(p.Detail, tc.detail) || p.Detail == "" {
			t.Errorf("%s: seat_ids %v detail %q, want %v, %q", tc.body, p.SeatIDs, p.Detail, tc.seats, tc.detail)
		}
	}
	w.ts.problem(t, "POST", path, w.alice.AccessToken, `{"count":1}`, 415, "unsupported_media_type", "Content-Type", "text/plain")
	w.ts.problem(t, "POST", "/v1/screenings/scr_aaaaaaaaaaaaaaaaaaaaaaaaaa/holds", w.alice.AccessToken, `{"count":1}`, 404, "not_found")
	w.ts.problem(t, "POST", "/v1/screenings/nope/holds", w.alice.AccessToken, `{"count":1}`, 404, "not_found")
	w.ts.problem(t, "POST", path, "", `{"count":1}`, 401, "missing_token")
	if now, _ := w.seats(t); now != etag {
		t.Error("a refused hold changed the seat map")
	}
	w.wantSeats(t, held("C3", "C4"))

	// The orphan rule yields when no other choice exists: A1-A4 held, A6 alone is allowed.
	w.hold(t, w.bob.AccessToken, `{"seat_ids":["A1","A2","A3","A4"]}`)
	w.hold(t, w.alice.AccessToken, `{"seat_ids":["A6"]}`)

	// A cancelled screening, then one that has started, take no holds.
	if err := w.ts.tickets.CancelScreening(context.Background(), w.scr); err != nil {
		t.Fatal(err)
	}
	w.ts.problem(t, "POST", path, w.alice.AccessToken, `{"seat_ids":["B1"]}`, 409, "screening_cancelled")
	w2 := newTicketWorld(t)
	w2.ts.clock.advance(25 * time.Hour)
	w2.ts.problem(t, "POST", "/v1/screenings/"+w2.scr+"/holds", w2.alice.AccessToken, `{"seat_ids":["B1"]}`, 422, "screening_started")
}

// TestHoldOwnership: only the owner sees and releases a hold (another user gets 404 and
// changes nothing); release frees the seats at once and is idempotent.
func TestHoldOwnership(t *testing.T) {
	w := newTicketWorld(t)
	h := w.hold(t, w.alice.AccessToken, `{"seat_ids":["A1","A2"]}`)
	w.ts.problem(t, "GET", "/v1/holds/"+h.ID, w.bob.AccessToken, "", 404, "not_found")
	w.ts.problem(t, "DELETE", "/v1/holds/"+h.ID, w.bob.AccessToken, "", 404, "not_found")
	w.wantSeats(t, held("A1", "A2"))
	for _, id := range []string{"hold_aaaaaaaaaaaaaaaaaaaaaaaaaa", "nope", strings.ToUpper(h.ID), w.scr} {
		w.ts.problem(t, "GET", "/v1/holds/"+id, w.alice.AccessToken, "", 404, "not_found")
		w.ts.problem(t, "DELETE", "/v1/holds/"+id, w.alice.AccessToken, "", 404, "not_found")
	}
	// Another session of the owner sees it.
	alice2 := w.ts.signInAgain(t, "alice")
	if g := w.getHold(t, alice2.AccessToken, h.ID); g.Status != "active" {
		t.Errorf("from another session: %+v", g)
	}
	resp := w.ts.do(t, "DELETE", "/v1/holds/"+h.ID, w.alice.AccessToken, "", 204, nil)
	if resp.Header.Get("Session-Idle-Expires-At") == "" {
		t.Error("no session deadline headers")
	}
	w.wantSeats(t, nil)
	if g := w.getHold(t, w.alice.AccessToken, h.ID); g.Status != "released" || g.ExpiresInSeconds != 0 {
		t.Errorf("released hold = %+v", g)
	}
	w.ts.do(t, "DELETE", "/v1/holds/"+h.ID, w.alice.AccessToken, "", 204, nil)
	w.hold(t, w.bob.AccessToken, `{"seat_ids":["A1","A2"]}`)
}

// TestSessionEndReleasesHolds: every way a session ends releases its holds (the seat map
// shows the seats available again and the hold reads revoked), and a password change moves
// the caller's holds to its new session.
func TestSessionEndReleasesHolds(t *testing.T) {
	for _, tc := range []struct {
		name string
		// end ends session victim of user u (other is another session of u, admin an
		// administrator's) and returns a token of u that can still read the hold.
		end func(t *testing.T, w ticketWorld, victim, other, admin tokenResponse) string
	}{
		{"logout", func(t *testing.T, w ticketWorld, victim, other, _ tokenResponse) string {
			w.ts.do(t, "POST", "/v1/auth/logout", victim.AccessToken, "", 204, nil)
			return other.AccessToken
		}},
		{"revoked by the user", func(t *testing.T, w ticketWorld, victim, other, _ tokenResponse) string {
			w.ts.do(t, "DELETE", "/v1/sessions/"+victim.SessionID, other.AccessToken, "", 204, nil)
			return other.AccessToken
		}},
		{"revoked by an administrator", func(t *testing.T, w ticketWorld, victim, other, admin tokenResponse) string {
			w.ts.do(t, "DELETE", "/v1/admin/users/"+victim.Session.UserID+"/sessions/"+victim.SessionID, admin.AccessToken, "", 204, nil)
			return other.AccessToken
		}},
		{"logout-all from another session", func(t *testing.T, w ticketWorld, _, other, _ tokenResponse) string {
			w.ts.do(t, "POST", "/v1/auth/logout-all", other.AccessToken, "", 204, nil)
			return w.ts.signInAgain(t, "carol").AccessToken
		}},
		{"all revoked by an administrator", func(t *testing.T, w ticketWorld, victim, _, admin tokenResponse) string {
			w.ts.do(t, "DELETE", "/v1/admin/users/"+victim.Session.UserID+"/sessions", admin.AccessToken, "", 204, nil)
			return w.ts.signInAgain(t, "carol").AccessToken
		}},
		{"password changed by another session", func(t *testing.T, w ticketWorld, _, other, _ tokenResponse) string {
			var tr tokenResponse
			w.ts.do(t, "POST", "/v1/auth/password", other.AccessToken,
				`{"current_password":"password-carol","new_password":"another-password-7"}`, 200, &tr)
			return tr.AccessToken
		}},
		{"refresh token reused", func(t *testing.T, w ticketWorld, victim, other, _ tokenResponse) string {
			body := `{"refresh_token":"` + victim.RefreshToken + `"}`
			w.ts.do(t, "POST", "/v1/auth/refresh", "", body, 200, nil)
			w.ts.clock.advance(11 * time.Second) // past the grace window of that rotation
			w.ts.problem(t, "POST", "/v1/auth/refresh", "", body, 401, "refresh_token_reused")
			return other.AccessToken
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newTicketWorld(t)
			admin := w.ts.signIn(t, "root")
			grantAdmin(t, w.ts, admin.Session.UserID)
			victim := w.ts.signIn(t, "carol")
			other := w.ts.signInAgain(t, "carol")
			h := w.hold(t, victim.AccessToken, `{"seat_ids":["B5","B6"]}`)
			keep := w.hold(t, w.bob.AccessToken, `{"seat_ids":["A1"]}`)
			w.wantSeats(t, held("A1", "B5", "B6"))

			reader := tc.end(t, w, victim, other, admin)
			w.wantSeats(t, held("A1"))
			if g := w.getHold(t, reader, h.ID); g.Status != "revoked" || g.ExpiresInSeconds != 0 {
				t.Errorf("the ended session's hold = %+v", g)
			}
			if g := w.getHold(t, w.bob.AccessToken, keep.ID); g.Status != "active" {
				t.Errorf("another user's hold = %+v", g)
			}
		})
	}

	t.Run("password change keeps the caller's holds", func(t *testing.T) {
		w := newTicketWorld(t)
		// A user has one hold per screening: the other session holds at a second screening.
		sc2, err := w.ts.tickets.CreateScreening(context.Background(), tickets.Screening{MovieID: "m1", HallID: "h1",
			StartsAt: w.startsAt.Add(24 * time.Hour), Prices: []tickets.Price{{Category: "standard", Amount: 1, Currency: "EUR"}, {Category: "premium", Amount: 1, Currency: "EUR"}}})
		if err != nil {
			t.Fatal(err)
		}
		other := w.ts.signInAgain(t, "alice")
		mine := w.hold(t, w.alice.AccessToken, `{"seat_ids":["B5","B6"]}`)
		var theirs holdView
		w.ts.do(t, "POST", "/v1/screenings/"+sc2.ID+"/holds", other.AccessToken, `{"seat_ids":["A1"]}`, 201, &theirs)
		var tr tokenResponse
		w.ts.do(t, "POST", "/v1/auth/password", w.alice.AccessToken,
			`{"current_password":"password-alice","new_password":"another-password-7"}`, 200, &tr)
		w.wantSeats(t, held("B5", "B6"))
		if g := w.getHold(t, tr.AccessToken, mine.ID); g.Status != "active" {
			t.Errorf("the caller's hold after the change = %+v", g)
		}
		if g := w.getHold(t, tr.AccessToken, theirs.ID); g.Status != "revoked" {
			t.Errorf("the ended session's hold = %+v", g)
		}
		// The moved hold belongs to the new session: signing it out releases the seats.
		w.ts.do(t, "POST", "/v1/auth/logout", tr.AccessToken, "", 204, nil)
		w.wantSeats(t, nil)
	})
}

// TestAdminCatalogue: administrators create and replace movies, cinemas, halls and
// screenings, block seats and cancel screenings; the database refuses overlapping screenings
// (409 hall_busy); invalid input is 422 and changes nothing; non-administrators get 403.
func TestAdminCatalogue(t *testing.T) {
	w := newTicketWorld(t)
	root := w.ts.signIn(t, "root")
	grantAdmin(t, w.ts, root.Session.UserID)
	tok := root.AccessToken

	movie := `{"title":"Orbit of Glass","synopsis":"Salvage.","duration_minutes":142,"rating":"PG-13","genres":["sci-fi"]}`
	var m movieView
	w.ts.do(t, "PUT", "/v1/admin/movies/orbit", tok, movie, 201, &m)
	if m.ID != "orbit" || m.DurationMinutes != 142 || !slices.Equal(m.Genres, []string{"sci-fi"}) {
		t.Errorf("movie = %+v", m)
	}
	w.ts.do(t, "PUT", "/v1/admin/movies/orbit", tok, `{"title":"Orbit of Glass","duration_minutes":150}`, 200, &m)
	w.ts.do(t, "GET", "/v1/movies/orbit", "", "", 200, &m)
	if m.DurationMinutes != 150 || m.Synopsis != "" || len(m.Genres) != 0 {
		t.Errorf("replaced movie = %+v", m)
	}
	for _, tc := range []struct{ path, body, field string }{
		{"/v1/admin/movies/orbit", `{"title":"","duration_minutes":150}`, "title"},
		{"/v1/admin/movies/orbit", `{"title":"T","duration_minutes":0}`, "duration_minutes"},
		{"/v1/admin/movies/orbit", `{"title":"T","duration_minutes":"90"}`, "duration_minutes"},
		{"/v1/admin/movies/orbit", `{"title":"T","duration_minutes":90,"id":"x"}`, "id"},
		{"/v1/admin/movies/Bad_Id", `{"title":"T","duration_minutes":90}`, "id"},
		{"/v1/admin/cinemas/c9", `{"name":"N","city":"C","time_zone":"Mars/Olympus"}`, "time_zone"},
		{"/v1/admin/cinemas/c9", `{"name":"N","city":"C"}`, "time_zone"},
		{"/v1/admin/halls/h9", `{"cinema_id":"c1","name":"N","seats":[]}`, "seats"},
		{"/v1/admin/halls/h9", `{"cinema_id":"c1","name":"N","seats":[{"id":"A1","label":"A1","row":"A","number":1,"x":0,"y":0}]}`, "seats[0].category"},
		{"/v1/admin/halls/h9", `{"cinema_id":"c1","name":"N","seats":[{"id":"A1","label":"A1","row":"A","number":1,"x":0,"y":0,"category":"s","color":"red"}]}`, "seats[0].color"},
		{"/v1/admin/halls/h9", `{"cinema_id":"c1","name":"N","seats":[7]}`, "seats[0]"},
		{"/v1/admin/halls/h9", `{"cinema_id":"c1","name":"N","seats":[{"id":"A1","label":"A1","row":"A","number":1,"x":0,"y":0,"category":"s"},{"id":"A1","label":"A1","row":"A","number":2,"x":1,"y":0,"category":"s"}]}`, "seats[1].id"},
		{"/v1/admin/screenings", `{"movie_id":"orbit","hall_id":"h1","starts_at":"2030-01-01T20:00:00","prices":[]}`, "starts_at"},
		{"/v1/admin/screenings", `{"movie_id":"nope","hall_id":"h1","starts_at":"2030-01-01T20:00:00Z","prices":[]}`, "movie_id"},
		{"/v1/admin/screenings", `{"movie_id":"orbit","hall_id":"h1","starts_at":"2020-01-01T20:00:00Z","prices":[{"category":"standard","amount":1,"currency":"EUR"},{"category":"premium","amount":1,"currency":"EUR"}]}`, "starts_at"},
		{"/v1/admin/screenings", `{"movie_id":"orbit","hall_id":"h1","starts_at":"2030-01-01T20:00:00Z","prices":[{"category":"standard","amount":1,"currency":"EUR"}]}`, "prices"},
		{"/v1/admin/screenings", `{"movie_id":"orbit","hall_id":"h1","starts_at":"2030-01-01T20:00:00Z","prices":[{"category":"standard","amount":1.5,"currency":"EUR"}]}`, "prices[0].amount"},
	} {
		method := "PUT"
		if strings.HasSuffix(tc.path, "screenings") {
			method = "POST"
		}
		p := w.ts.problem(t, method, tc.path, tok, tc.body, 422, "validation_failed")
		if _, ok := p.Errors[tc.field]; !ok {
			t.Errorf("%s %s: errors %v, want %q", tc.path, tc.body, p.Errors, tc.field)
		}
	}
	w.ts.problem(t, "GET", "/v1/cinemas/c9", "", "", 404, "not_found")
	w.ts.problem(t, "GET", "/v1/movies/bad_id", "", "", 404, "not_found")

	var c cinemaView
	w.ts.do(t, "PUT", "/v1/admin/cinemas/c9", tok, `{"name":"Nine","city":"Oslo","time_zone":"Europe/Oslo"}`, 201, &c)
	if c.ID != "c9" || c.Halls == nil || len(c.Halls) != 0 {
		t.Errorf("cinema = %+v", c)
	}
	seats := `[{"id":"B1","label":"B1","row":"B","number":1,"x":0,"y":1,"category":"standard"},` +
		`{"id":"A2","label":"A2","row":"A","number":2,"x":1,"y":0,"category":"standard","accessible":true,"group_id":null},` +
		`{"id":"A1","label":"A1","row":"A","number":1,"x":0,"y":0,"category":"standard"}]`
	var h hallView
	w.ts.do(t, "PUT", "/v1/admin/halls/h9", tok, `{"cinema_id":"c9","name":"Small","seats":`+seats+`}`, 201, &h)
	if h.CleaningMinutes != 15 || len(h.Seats) != 3 || h.Seats[0].ID != "A1" || h.Seats[2].ID != "B1" || !h.Seats[1].Accessible {
		t.Errorf("hall = %+v", h)
	}
	w.ts.do(t, "PUT", "/v1/admin/cinemas/c9", tok, `{"name":"Nine!","city":"Oslo","time_zone":"Europe/Oslo"}`, 200, &c)
	if c.Name != "Nine!" || len(c.Halls) != 1 || c.Halls[0] != (hallSummaryView{"h9", "Small", 3}) {
		t.Errorf("cinema = %+v", c)
	}
	w.ts.problem(t, "PUT", "/v1/admin/halls/h8", tok, `{"cinema_id":"c404","name":"X","seats":`+seats+`}`, 404, "not_found")
	w.ts.problem(t, "PUT", "/v1/admin/halls/h9", tok, `{"cinema_id":"c1","name":"Moved","seats":`+seats+`}`, 409, "conflict")
	w.ts.problem(t, "PUT", "/v1/admin/halls/h1", tok, `{"cinema_id":"c1","name":"Hall 1","seats":`+seats+`}`, 409, "hall_in_use")
	w.ts.do(t, "PUT", "/v1/admin/halls/h1", tok, `{"cinema_id":"c1","name":"Renamed","cleaning_minutes":30,"seats":`+
		mustJSON(t, viewHall(tickets.Hall{Seats: testLayout()}).Seats)+`}`, 200, &h)
	if h.Name != "Renamed" || h.CleaningMinutes != 30 || len(h.Seats) != 16 {
		t.Errorf("renamed hall = %+v", h)
	}

	// Screenings: 201 with Location; an overlap, cleaning time included, is 409 hall_busy.
	// h1 is busy until then: the film, and the cleaning time the hall had when it was
	// scheduled (15 minutes; the hall's new 30 minutes count for screenings scheduled since).
	start := w.startsAt.Add(100*time.Minute + 15*time.Minute)
	body := func(at time.Time) string {
		return `{"movie_id":"orbit","hall_id":"h1","starts_at":"` + at.In(time.FixedZone("", -5*3600)).Format(time.RFC3339) +
			`","prices":[{"category":"standard","amount":1000,"currency":"EUR"},{"category":"premium","amount":1200,"currency":"EUR"}]}`
	}
	w.ts.problem(t, "POST", "/v1/admin/screenings", tok, body(start.Add(-time.Minute)), 409, "hall_busy")
	var s screeningView
	resp := w.ts.do(t, "POST", "/v1/admin/screenings", tok, body(start), 201, &s)
	if resp.Header.Get("Location") != "/v1/screenings/"+s.ID || !screeningID.MatchString(s.ID) || !s.StartsAt.Equal(start) ||
		s.EndsAt.Sub(s.StartsAt) != 150*time.Minute || s.Status != "scheduled" || s.SeatsAvailable != 16 || s.CinemaID != "c1" {
		t.Errorf("screening = %+v, Location %q", s, resp.Header.Get("Location"))
	}
	w.ts.do(t, "GET", resp.Header.Get("Location"), "", "", 200, nil)
	w.ts.problem(t, "POST", "/v1/admin/screenings", tok, body(start.Add(150*time.Minute+29*time.Minute)), 409, "hall_busy")
	var list pageView[screeningView]
	w.ts.do(t, "GET", "/v1/screenings?movie_id=orbit", "", "", 200, &list)
	if len(list.Items) != 1 {
		t.Errorf("orbit screenings: %+v", list.Items)
	}

	// Blocking: all or nothing; a held seat cannot be blocked; blocked seats cannot be held.
	blockPath := "/v1/admin/screenings/" + w.scr + "/block"
	w.hold(t, w.alice.AccessToken, `{"seat_ids":["A1"]}`)
	p := w.ts.problem(t, "POST", blockPath, tok, `{"seat_ids":["A2","A1"]}`, 409, "seats_unavailable")
	if !slices.Equal(p.SeatIDs, []string{"A1"}) {
		t.Errorf("block problem = %+v", p)
	}
	w.ts.problem(t, "POST", blockPath, tok, `{"seat_ids":["Z1"]}`, 422, "validation_failed")
	w.ts.problem(t, "POST", blockPath, tok, `{"seat_ids":[]}`, 422, "validation_failed")
	w.ts.problem(t, "POST", blockPath, tok, `{}`, 422, "validation_failed")
	w.wantSeats(t, held("A1"))
	w.ts.do(t, "POST", blockPath, tok, `{"seat_ids":["B1","B2"]}`, 204, nil)
	w.wantSeats(t, map[string]tickets.SeatState{"A1": tickets.Held, "B1": tickets.Blocked, "B2": tickets.Blocked})
	p = w.ts.problem(t, "POST", "/v1/screenings/"+w.scr+"/holds", w.bob.AccessToken, `{"seat_ids":["B2","B3"]}`, 409, "seats_unavailable")
	if !slices.Equal(p.SeatIDs, []string{"B2"}) {
		t.Errorf("hold on a blocked seat: %+v", p)
	}
	w.ts.do(t, "POST", "/v1/admin/screenings/"+w.scr+"/unblock", tok, `{"seat_ids":["B1","B2","B3"]}`, 204, nil)
	w.wantSeats(t, held("A1"))
	w.ts.problem(t, "POST", "/v1/admin/screenings/scr_aaaaaaaaaaaaaaaaaaaaaaaaaa/block", tok, `{"seat_ids":["A1"]}`, 404, "not_found")

	// Non-administrators: 403 and nothing changes.
	for _, r := range [][3]string{
		{"PUT", "/v1/admin/movies/orbit", `{"title":"Hacked","duration_minutes":1}`},
		{"PUT", "/v1/admin/cinemas/c9", `{"name":"Hacked","city":"X","time_zone":"UTC"}`},
		{"PUT", "/v1/admin/halls/h9", `{"cinema_id":"c9","name":"Hacked","seats":` + seats + `}`},
		{"POST", "/v1/admin/screenings", body(start.Add(24 * time.Hour))},
		{"POST", "/v1/admin/screenings/" + w.scr + "/cancel", ""},
		{"POST", blockPath, `{"seat_ids":["C1"]}`},
		{"POST", "/v1/admin/screenings/" + w.scr + "/unblock", `{"seat_ids":["C1"]}`},
	} {
		w.ts.problem(t, r[0], r[1], w.bob.AccessToken, r[2], 403, "forbidden")
		w.ts.problem(t, r[0], r[1], "", r[2], 401, "missing_token")
	}
	w.ts.do(t, "GET", "/v1/movies/orbit", "", "", 200, &m)
	w.ts.do(t, "GET", "/v1/screenings/"+w.scr, "", "", 200, &s)
	if m.Title != "Orbit of Glass" || s.Status != "scheduled" {
		t.Errorf("a non-administrator changed %+v %+v", m, s)
	}
	w.wantSeats(t, held("A1"))

	// Cancelling ends the holds and refuses new ones; twice is fine.
	w.ts.do(t, "POST", "/v1/admin/screenings/"+w.scr+"/cancel", tok, "", 204, nil)
	w.ts.do(t, "POST", "/v1/admin/screenings/"+w.scr+"/cancel", tok, "", 204, nil)
	w.wantSeats(t, nil)
	w.ts.do(t, "GET", "/v1/screenings/"+w.scr, "", "", 200, &s)
	if s.Status != "cancelled" {
		t.Errorf("cancelled screening = %+v", s)
	}
	w.ts.problem(t, "POST", "/v1/screenings/"+w.scr+"/holds", w.alice.AccessToken, `{"seat_ids":["C3"]}`, 409, "screening_cancelled")
	w.ts.problem(t, "POST", "/v1/admin/screenings/nope/cancel", tok, "", 404, "not_found")
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestTicketsUnavailable: with the ticket database gone, ticket routes answer 503
// service_unavailable with Retry-After and a detail that says nothing about the cause, and
// session changes still succeed (their hold release is best effort).
func TestTicketsUnavailable(t *testing.T) {
	w := newTicketWorld(t)
	h := w.hold(t, w.alice.AccessToken, `{"seat_ids":["A1"]}`)
	w.ts.tstore.Close()
	for _, r := range [][3]string{
		{"GET", "/v1/movies", ""}, {"GET", "/v1/movies/m1", ""}, {"GET", "/v1/cinemas", ""},
		{"GET", "/v1/screenings", ""}, {"GET", "/v1/screenings/" + w.scr, ""}, {"GET", "/v1/screenings/" + w.scr + "/seats", ""},
		{"POST", "/v1/screenings/" + w.scr + "/holds", `{"seat_ids":["A2"]}`},
		{"GET", "/v1/holds/" + h.ID, ""}, {"DELETE", "/v1/holds/" + h.ID, ""},
	} {
		resp, b := w.ts.call(t, r[0], r[1], w.bob.AccessToken, r[2])
		p := problemOf(b)
		if resp.StatusCode != 503 || p.Code != "service_unavailable" || resp.Header.Get("Retry-After") != "1" ||
			p.Detail != "The ticketing database cannot be consulted right now; retry shortly." {
			t.Errorf("%s %s: %d %s Retry-After %q", r[0], r[1], resp.StatusCode, b, resp.Header.Get("Retry-After"))
		}
		if strings.Contains(strings.ToLower(string(b)), "sql") {
			t.Errorf("%s %s leaks: %s", r[0], r[1], b)
		}
	}
	w.ts.do(t, "POST", "/v1/auth/logout", w.alice.AccessToken, "", 204, nil)
	w.ts.problem(t, "GET", "/v1/session", w.alice.AccessToken, "", 401, "session_revoked")
}

func problemOf(b []byte) Problem {
	var p Problem
	_ = json.Unmarshal(b, &p)
	return p
}

// TestTicketProblems: the ticketing errors' data reach the problem, and 5xx causes do not.
func TestTicketProblems(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		status int
		code   string
		detail string
		seats  []string
		errs   map[string]string
		retry  time.Duration
	}{
		{"taken", fmt.Errorf("hold: %w", &tickets.UnavailableError{SeatIDs: []string{"A1", "A2"}}), 409, "seats_unavailable", "", []string{"A1", "A2"}, nil, 0},
		{"group", &tickets.RuleError{Rule: tickets.ErrSeatGroupSplit, SeatIDs: []string{"B5", "B6"}, Detail: "Seats B5, B6 go together."},
			422, "seat_group_split", "Seats B5, B6 go together.", []string{"B5", "B6"}, nil, 0},
		{"orphan", &tickets.RuleError{Rule: tickets.ErrOrphanSeat, SeatIDs: []string{"A1"}, Detail: "A1 alone."}, 422, "orphan_seat", "A1 alone.", []string{"A1"}, nil, 0},
		{"too many", &tickets.RuleError{Rule: tickets.ErrTooManySeats, Detail: "At most 10."}, 422, "too_many_seats", "At most 10.", nil, nil, 0},
		{"fields", tickets.FieldErrors{"seat_ids": "no seat Z9 in this hall"}, 422, "validation_failed", "", nil, map[string]string{"seat_ids": "no seat Z9 in this hall"}, 0},
		{"down", fmt.Errorf("%w: sqlite: dial 10.9.8.7: database is closed", tickets.ErrUnavailable), 503, "service_unavailable", "", nil, nil, time.Second},
		{"not found", fmt.Errorf("screening x: %w", tickets.ErrNotFound), 404, "not_found", "No such resource.", nil, nil, 0},
	} {
		p, retry := problemFor(tc.err)
		if p.Status != tc.status || p.Code != tc.code || (tc.detail != "" && p.Detail != tc.detail) || p.Detail == "" ||
			!slices.Equal(p.SeatIDs, tc.seats) || !maps.Equal(p.Errors, tc.errs) || retry != tc.retry {
			t.Errorf("%s: %+v retry %v", tc.name, p, retry)
		}
		if strings.Contains(p.Detail, "10.9.8.7") || strings.Contains(p.Detail, "sqlite") {
			t.Errorf("%s: detail leaks: %q", tc.name, p.Detail)
		}
	}
	if !errors.Is(&tickets.RuleError{Rule: tickets.ErrOrphanSeat}, tickets.ErrOrphanSeat) {
		t.Fatal("RuleError does not unwrap")
	}
}
