package tests

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"boxoffice/sdk"
)

// TestGoSDKTickets drives browse → seat map → hold → release, and a conflicting hold, then
// hold → order → my orders → cancel, through the Go client generated from openapi.yaml, against
// an instance serving the demo catalogue from the embedded database (as `go run ./cmd/boxoffice`
// does). Every exchange is validated against openapi.yaml too (checked).
func TestGoSDKTickets(t *testing.T) {
	ctx := context.Background()
	p := deploy(t, 1, shared.URL(), map[string]string{"BOXOFFICE_DEMO_DATA": "true", "DATABASE_URL": "", "BOXOFFICE_SQLITE_PATH": ""}).procs[0]
	api, err := sdk.NewClientWithResponses(p.base, sdk.WithHTTPClient(checked{t}))
	if err != nil {
		t.Fatal(err)
	}
	alice, bob := sdkSignIn(t, api), sdkSignIn(t, api)

	// Browse: the movies, two at a time, following next_cursor once.
	two := 2
	m1, err := api.ListMoviesWithResponse(ctx, &sdk.ListMoviesParams{Limit: &two})
	if err != nil || m1.JSON200 == nil || len(m1.JSON200.Items) != 2 || m1.JSON200.NextCursor == nil {
		t.Fatalf("movies, first page: %s", sdkSaid(err, m1))
	}
	m2, err := api.ListMoviesWithResponse(ctx, &sdk.ListMoviesParams{Limit: &two, Cursor: m1.JSON200.NextCursor})
	if err != nil || m2.JSON200 == nil || len(m2.JSON200.Items) == 0 {
		t.Fatalf("movies, second page: %s", sdkSaid(err, m2))
	}
	titles := []string{}
	for _, m := range append(slices.Clone(m1.JSON200.Items), m2.JSON200.Items...) {
		titles = append(titles, m.Title)
	}
	if !slices.IsSorted(titles) || len(slices.Compact(slices.Clone(titles))) != len(titles) {
		t.Fatalf("two pages of movies are not distinct and by title: %q", titles)
	}
	movie := m1.JSON200.Items[0]

	// Its screenings over the next week, the window given with a non-UTC offset (the client
	// must encode the "+").
	from := time.Now().In(time.FixedZone("UTC+2", 2*3600))
	to, hundred := from.Add(7*24*time.Hour), 100
	sl, err := api.ListScreeningsWithResponse(ctx, &sdk.ListScreeningsParams{MovieId: &movie.Id, From: &from, To: &to, Limit: &hundred})
	if err != nil || sl.JSON200 == nil || len(sl.JSON200.Items) == 0 {
		t.Fatalf("screenings of %s: %s", movie.Id, sdkSaid(err, sl))
	}
	var scr *sdk.Screening
	for i, s := range sl.JSON200.Items {
		if s.MovieId != movie.Id || s.StartsAt.Before(from) {
			t.Fatalf("screening %s of %s starting %s listed for %s from %s", s.Id, s.MovieId, s.StartsAt, movie.Id, from)
		}
		// One whose orders stay cancellable while the test runs (until 2 h before the start).
		if scr == nil && s.Status == sdk.ScreeningStatusScheduled && s.StartsAt.After(time.Now().Add(3*time.Hour)) {
			scr = &sl.JSON200.Items[i]
		}
	}
	if scr == nil {
		t.Fatalf("no screening of %s starts in more than three hours: %s", movie.Id, sl.Body)
	}

	// The seat map, then the same with its ETag: 304 without a body.
	sm, err := api.GetSeatMapWithResponse(ctx, scr.Id, nil)
	if err != nil || sm.JSON200 == nil || sm.JSON200.ScreeningId != scr.Id || sm.Headers200 == nil || sm.Headers200.ETag == "" {
		t.Fatalf("seat map: %s", sdkSaid(err, sm))
	}
	etag := sm.Headers200.ETag
	nm, err := api.GetSeatMapWithResponse(ctx, scr.Id, &sdk.GetSeatMapParams{IfNoneMatch: &etag})
	if err != nil || nm.StatusCode() != http.StatusNotModified || nm.JSON200 != nil || len(nm.Body) != 0 ||
		nm.Headers304 == nil || nm.Headers304.ETag != etag {
		t.Fatalf("seat map with If-None-Match %s: %s", etag, sdkSaid(err, nm))
	}
	pair, ok := sdkFreePair(sm.JSON200.Seats)
	if !ok {
		t.Fatalf("no two adjacent free seats in %s", sm.Body)
	}
	spare := ""
	for _, s := range sm.JSON200.Seats {
		if s.Status == sdk.Available && s.GroupId == nil && !s.Accessible && !slices.Contains(pair, s.Id) {
			spare = s.Id
			break
		}
	}
	if spare == "" {
		t.Fatal("no third free seat")
	}
	t.Logf("screening %s of %s in %s at %s: holding %v (and asking for %s)", scr.Id, movie.Id, scr.HallId, scr.StartsAt, pair, spare)
	price := map[string]sdk.Price{}
	for _, pr := range scr.Prices {
		price[pr.Category] = pr
	}
	var want sdk.Money
	for _, s := range sm.JSON200.Seats {
		if slices.Contains(pair, s.Id) {
			want.Amount += price[s.Category].Amount
			want.Currency = price[s.Category].Currency
		}
	}

	// Hold them: 201 with the hold, its Location, and a seat map that changed.
	h, err := api.CreateHoldWithResponse(ctx, scr.Id, nil, sdk.HoldRequest{SeatIds: &pair}, alice)
	if err != nil || h.JSON201 == nil {
		t.Fatalf("hold %v: %s", pair, sdkSaid(err, h))
	}
	held := h.JSON201
	if held.Status != sdk.HoldStatusActive || held.ScreeningId != scr.Id || !slices.Equal(held.SeatIds, pair) ||
		held.Total != want || held.ExpiresInSeconds <= 0 || held.ExpiresInSeconds > 600 || !held.ExpiresAt.After(held.ServerTime) ||
		h.Headers201 == nil || !strings.HasSuffix(h.Headers201.Location, "/v1/holds/"+held.Id) {
		t.Fatalf("hold %v (want total %+v): %s (Location %v)", pair, want, h.Body, h.HTTPResponse.Header.Get("Location"))
	}
	after, err := api.GetSeatMapWithResponse(ctx, scr.Id, &sdk.GetSeatMapParams{IfNoneMatch: &etag})
	if err != nil || after.JSON200 == nil || after.Headers200.ETag == etag || after.JSON200.Version <= sm.JSON200.Version {
		t.Fatalf("seat map after the hold, with the old ETag: %s", sdkSaid(err, after))
	}
	sdkSeatsAre(t, after.JSON200, sdk.Held, pair...)

	// Someone else asking for one of those seats (and a free one) gets 409 naming only the
	// taken seat, and holds nothing.
	clash := []string{pair[1], spare}
	c, err := api.CreateHoldWithResponse(ctx, scr.Id, nil, sdk.HoldRequest{SeatIds: &clash}, bob)
	if err != nil || c.ApplicationproblemJSON409 == nil || c.ApplicationproblemJSON409.Code != sdk.ProblemCodeSeatsUnavailable ||
		c.ApplicationproblemJSON409.SeatIds == nil || !slices.Equal(*c.ApplicationproblemJSON409.SeatIds, pair[1:]) {
		t.Fatalf("conflicting hold %v: %s", clash, sdkSaid(err, c))
	}
	still, err := api.GetSeatMapWithResponse(ctx, scr.Id, nil)
	if err != nil || still.JSON200 == nil {
		t.Fatalf("seat map after the conflict: %s", sdkSaid(err, still))
	}
	sdkSeatsAre(t, still.JSON200, sdk.Available, spare)
	sdkSeatsAre(t, still.JSON200, sdk.Held, pair...)
	if other, err := api.GetHoldWithResponse(ctx, held.Id, nil, bob); err != nil || other.ApplicationproblemJSON404 == nil {
		t.Fatalf("another user's hold: %s", sdkSaid(err, other))
	}

	// Read it back, release it (204), read it again: released, and the seats are free.
	g, err := api.GetHoldWithResponse(ctx, held.Id, nil, alice)
	if err != nil || g.JSON200 == nil || g.JSON200.Id != held.Id || g.JSON200.Status != sdk.HoldStatusActive || !slices.Equal(g.JSON200.SeatIds, pair) {
		t.Fatalf("get hold: %s", sdkSaid(err, g))
	}
	rel, err := api.ReleaseHoldWithResponse(ctx, held.Id, nil, alice)
	if err != nil || rel.StatusCode() != http.StatusNoContent {
		t.Fatalf("release: %s", sdkSaid(err, rel))
	}
	g, err = api.GetHoldWithResponse(ctx, held.Id, nil, alice)
	if err != nil || g.JSON200 == nil || g.JSON200.Status != sdk.HoldStatusReleased || g.JSON200.ExpiresInSeconds != 0 {
		t.Fatalf("released hold: %s", sdkSaid(err, g))
	}
	free, err := api.GetSeatMapWithResponse(ctx, scr.Id, nil)
	if err != nil || free.JSON200 == nil {
		t.Fatalf("seat map after the release: %s", sdkSaid(err, free))
	}
	sdkSeatsAre(t, free.JSON200, sdk.Available, pair...)

	// Now the other user gets them.
	b, err := api.CreateHoldWithResponse(ctx, scr.Id, nil, sdk.HoldRequest{SeatIds: &pair}, bob)
	if err != nil || b.JSON201 == nil || !slices.Equal(b.JSON201.SeatIds, pair) {
		t.Fatalf("hold after the release: %s", sdkSaid(err, b))
	}

	// And buys them: an order of the hold under an Idempotency-Key, paid with the test provider.
	// The retry of the same request gets the same answer, byte for byte, marked as a replay.
	buy := sdk.OrderRequest{HoldId: b.JSON201.Id}
	buy.Payment.Method, buy.Payment.Token = "test", "test_success"
	key := &sdk.CreateOrderParams{IdempotencyKey: oxKey()}
	o, err := api.CreateOrderWithResponse(ctx, key, buy, bob)
	if err != nil || o.JSON201 == nil || o.Headers201 == nil {
		t.Fatalf("order: %s", sdkSaid(err, o))
	}
	bought := o.JSON201
	if bought.Status != sdk.OrderStatusConfirmed || bought.HoldId != b.JSON201.Id || bought.ScreeningId != scr.Id ||
		!slices.Equal(bought.SeatIds, pair) || bought.Total != want || bought.Payment.Status != sdk.OrderPaymentStatusSucceeded ||
		len(bought.Tickets) != len(pair) || bought.LatePayment != nil || bought.Refund != nil ||
		!strings.HasSuffix(o.Headers201.Location, "/v1/orders/"+bought.Id) || o.Headers201.IdempotentReplayed != nil {
		t.Fatalf("order of %v (want total %+v): %s (Location %q)", pair, want, o.Body, o.Headers201.Location)
	}
	for i, tk := range bought.Tickets {
		if tk.SeatId != bought.SeatIds[i] || tk.Status != sdk.Valid || tk.Code == "" {
			t.Fatalf("ticket %d of the order: %+v", i, tk)
		}
	}
	again, err := api.CreateOrderWithResponse(ctx, key, buy, bob)
	if err != nil || again.JSON201 == nil || !bytes.Equal(again.Body, o.Body) || again.Headers201 == nil ||
		again.Headers201.IdempotentReplayed == nil || *again.Headers201.IdempotentReplayed != "true" {
		t.Fatalf("the order again with the same key: %s", sdkSaid(err, again))
	}
	sold, err := api.GetSeatMapWithResponse(ctx, scr.Id, nil)
	if err != nil || sold.JSON200 == nil {
		t.Fatalf("seat map after the order: %s", sdkSaid(err, sold))
	}
	sdkSeatsAre(t, sold.JSON200, sdk.Sold, pair...)

	// My orders: bob's lists it; alice has none and cannot read his.
	mine, err := api.ListOrdersWithResponse(ctx, nil, bob)
	if err != nil || mine.JSON200 == nil || len(mine.JSON200.Items) != 1 || mine.JSON200.Items[0].Id != bought.Id ||
		mine.JSON200.NextCursor != nil {
		t.Fatalf("bob's orders: %s", sdkSaid(err, mine))
	}
	none, err := api.ListOrdersWithResponse(ctx, nil, alice)
	if err != nil || none.JSON200 == nil || len(none.JSON200.Items) != 0 {
		t.Fatalf("alice's orders: %s", sdkSaid(err, none))
	}
	if other, err := api.GetOrderWithResponse(ctx, bought.Id, nil, alice); err != nil || other.ApplicationproblemJSON404 == nil {
		t.Fatalf("another user's order: %s", sdkSaid(err, other))
	}

	// Cancel it: refunded in full, the tickets void, the seats on sale again.
	cn, err := api.CancelOrderWithResponse(ctx, bought.Id, nil, bob)
	if err != nil || cn.JSON200 == nil {
		t.Fatalf("cancel: %s", sdkSaid(err, cn))
	}
	if c := cn.JSON200; c.Id != bought.Id || c.Status != sdk.OrderStatusCancelled || c.Refund == nil ||
		c.Refund.Amount != want || c.Refund.Reason != sdk.RefundReasonCustomerCancelled || len(c.Tickets) != len(pair) ||
		c.Tickets[0].Status != sdk.Void || c.Tickets[1].Status != sdk.Void {
		t.Fatalf("cancelled order: %s", cn.Body)
	}
	g2, err := api.GetOrderWithResponse(ctx, bought.Id, nil, bob)
	if err != nil || g2.JSON200 == nil || g2.JSON200.Status != sdk.OrderStatusCancelled || g2.JSON200.Refund == nil {
		t.Fatalf("the cancelled order read back: %s", sdkSaid(err, g2))
	}
	back, err := api.GetSeatMapWithResponse(ctx, scr.Id, nil)
	if err != nil || back.JSON200 == nil {
		t.Fatalf("seat map after the cancellation: %s", sdkSaid(err, back))
	}
	sdkSeatsAre(t, back.JSON200, sdk.Available, pair...)
}

// sdkSignIn registers a user and signs in with the SDK; it returns the request editor that
// authenticates as them.
func sdkSignIn(t *testing.T, api *sdk.ClientWithResponses) sdk.RequestEditorFn {
	t.Helper()
	ctx := context.Background()
	name, pw := uniqueName()
	reg, err := api.CreateUserWithResponse(ctx, nil, sdk.CreateUserRequest{Username: name, Password: pw})
	if err != nil || reg.JSON201 == nil {
		t.Fatalf("register: %s", sdkSaid(err, reg))
	}
	li, err := api.LoginWithResponse(ctx, nil, sdk.LoginRequest{Username: name, Password: pw})
	if err != nil || li.JSON200 == nil {
		t.Fatalf("login: %s", sdkSaid(err, li))
	}
	return bearer(bearerGrant(t, li.JSON200).AccessToken)
}

// sdkSaid describes what a call of the SDK gave, for a failure message: its error, or the
// response's status and body (the generated responses share no interface for their Body).
func sdkSaid(err error, r any) string {
	v := reflect.ValueOf(r)
	if err != nil || !v.IsValid() || v.IsNil() {
		return fmt.Sprintf("error %v", err)
	}
	v = v.Elem()
	status := 0
	if hr, _ := v.FieldByName("HTTPResponse").Interface().(*http.Response); hr != nil {
		status = hr.StatusCode
	}
	return fmt.Sprintf("%d %s", status, v.FieldByName("Body").Bytes())
}

// sdkSeatsAre fails unless each of the seats has the status in m.
func sdkSeatsAre(t *testing.T, m *sdk.SeatMap, status sdk.SeatStatus, ids ...string) {
	t.Helper()
	for _, id := range ids {
		i := slices.IndexFunc(m.Seats, func(s sdk.SeatMapSeat) bool { return s.Id == id })
		if i < 0 || m.Seats[i].Status != status {
			t.Fatalf("seat %s is not %s in the seat map (version %d)", id, status, m.Version)
		}
	}
}

// sdkFreePair picks two seats a client would offer for "2 seats, side by side": available, sold
// alone (no group) and not wheelchair spaces, adjacent in one block of a row (no aisle between
// them), and stranding no single free seat beside them (the orphan rule). The seat map lists
// seats by y then x.
func sdkFreePair(seats []sdk.SeatMapSeat) ([]string, bool) {
	at := func(i, y, x int) (sdk.SeatMapSeat, bool) { // seat i, if it is at (x, y)
		if i < 0 || i >= len(seats) || seats[i].Y != y || seats[i].X != x {
			return sdk.SeatMapSeat{}, false
		}
		return seats[i], true
	}
	free := func(i, y, x int) bool { s, ok := at(i, y, x); return ok && s.Status == sdk.Available }
	plain := func(s sdk.SeatMapSeat) bool { return s.Status == sdk.Available && s.GroupId == nil && !s.Accessible }
	for i := 0; i+1 < len(seats); i++ {
		a, b := seats[i], seats[i+1]
		if b.Y != a.Y || b.X != a.X+1 || !plain(a) || !plain(b) {
			continue
		}
		// A free neighbour must have a free neighbour of its own on its far side.
		if free(i-1, a.Y, a.X-1) && !free(i-2, a.Y, a.X-2) || free(i+2, b.Y, b.X+1) && !free(i+3, b.Y, b.X+2) {
			continue
		}
		return []string{a.Id, b.Id}, true
	}
	return nil, false
}
