package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"boxoffice/tickets/testpay"
)

// TestOrdersIdempotencyAcrossInstances: three instances behind the reference nginx, one
// PostgreSQL, one Redis.
//
//   - 200 duplicates of one POST /v1/orders (one user, one Idempotency-Key, one body) sent at
//     once through nginx, which spreads them over the three instances: exactly one order (and one
//     payment, one key) in PostgreSQL; every answer is the same 201, byte for byte, the replays
//     marked Idempotent-Replayed: true; a duplicate that arrives while the first request runs
//     gets 409 idempotency_key_in_flight with Retry-After, and honouring it (at most 8 attempts
//     each; a 503 with Retry-After, on a machine too loaded to answer in time, is honoured too)
//     gets the same stored answer. Each instance replays it too, and the key's quoted form
//     (RFC 8941) is the same key.
//   - the same key with another body: 422 idempotency_key_reused, nothing stored; no key: 400;
//     a malformed key: 400; another user's hold: 404; a released hold: 410; the same key used by
//     another user is theirs; a declined payment is 402, replayed as such, and the hold can be
//     paid with a new key; a refused request stores nothing (its key serves another request);
//     GET /v1/orders pages through the user's orders, newest first.
//   - 32 different keys paying for one hold at once: one order; every other answer is 409
//     order_exists naming it.
func TestOrdersIdempotencyAcrossInstances(t *testing.T) {
	skipShort(t, "the order idempotency test behind nginx")
	o := oxDeployment(t, 3, true, nil)
	lb := o.lb.inst(0)
	sc := o.newScreening(t)
	u := signIn(t, lb).tk.AccessToken
	h := mustHold(t, lb, u, sc.ID, "A1", "A2")
	key := oxKey()
	body, err := json.Marshal(oxBody(h.ID, testpay.TokenSuccess))
	if err != nil {
		t.Fatal(err)
	}

	const dups, maxAttempts = 200, 8
	hc := pooledClient(t, dups)
	results := make([]oxRetried, dups)
	errs := make([]error, dups)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = oxRetry(t, hc, func(int) *client { return lb }, u, key, body, maxAttempts)
		}()
	}
	close(start)
	wg.Wait()

	var original *reply
	replays, inFlight, unavailable, retried := 0, 0, 0, 0
	var waited time.Duration // the longest a duplicate waited, honouring Retry-After
	for i, res := range results {
		if errs[i] != nil {
			t.Fatalf("duplicate %d: %v", i, errs[i])
		}
		inFlight += res.inFlight
		unavailable += res.unavailable
		if res.attempts > 1 {
			retried++
		}
		waited = max(waited, res.waited)
		r := res.final
		if r.status != 201 {
			t.Fatalf("duplicate %d ended with %d %s after %d attempts", i, r.status, r.body, res.attempts)
		}
		switch rep := r.header.Get("Idempotent-Replayed"); rep {
		case "":
			if original != nil {
				t.Fatalf("two answers are not marked as replays:\n%s\n%s", original.body, r.body)
			}
			original = &results[i].final
		case "true":
			replays++
		default:
			t.Fatalf("Idempotent-Replayed: %q", rep)
		}
	}
	if original == nil {
		t.Fatal("every answer is marked as a replay: none is the original")
	}
	ord := oxCreated(t, *original, h.ID, "confirmed")
	if got := ord.ticketSeats("valid"); len(got) != 2 || got[0] != "A1" || got[1] != "A2" {
		t.Fatalf("the order's tickets: %s", original.body)
	}
	for i, res := range results {
		r := res.final
		if !bytes.Equal(r.body, original.body) || r.header.Get("Location") != original.header.Get("Location") ||
			r.header.Get("Content-Type") != original.header.Get("Content-Type") {
			t.Fatalf("duplicate %d got another answer:\n%s (Location %s, %s)\nthe first:\n%s (Location %s, %s)", i,
				r.body, r.header.Get("Location"), r.header.Get("Content-Type"),
				original.body, original.header.Get("Location"), original.header.Get("Content-Type"))
		}
	}
	t.Logf("%d duplicates: 1 original 201, %d replays; %d answers 409 idempotency_key_in_flight and %d answers 503, to %d duplicates that retried after Retry-After (waiting up to %s)",
		dups, replays, inFlight, unavailable, retried, waited)
	if used := o.nginx.upstreams(t); len(used) != 3 {
		t.Fatalf("nginx used upstreams %v, want all three instances", used)
	}

	// PostgreSQL: one order, one payment, one completed key.
	if n := o.count(t, `SELECT count(*) FROM orders WHERE hold_id = $1`, h.ID); n != 1 {
		t.Fatalf("%d orders for the hold, want 1", n)
	}
	if ids := o.strings(t, `SELECT p.id FROM payments p JOIN orders o ON o.id = p.order_id WHERE o.hold_id = $1`, h.ID); len(ids) != 1 || ids[0] != ord.Payment.ID {
		t.Fatalf("payments for the hold: %v, want [%s]", ids, ord.Payment.ID)
	}
	if st := o.strings(t, `SELECT status || ' ' || order_id FROM idempotency_keys WHERE key = $1`, key); len(st) != 1 || st[0] != "completed "+ord.ID {
		t.Fatalf("idempotency keys %q: %v", key, st)
	}
	if got, want := o.soldTo(t, sc.ID), seatsOf(ord.ID, "A1", "A2"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("seats sold %v, want %v", got, want)
	}

	// Every instance replays it, and "key" is the same key as key.
	replayed := func(r reply, how string) {
		t.Helper()
		expect(t, r, 201, "")
		if r.header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(r.body, original.body) {
			t.Fatalf("%s: Idempotent-Replayed %q, body\n%s\nwant\n%s", how, r.header.Get("Idempotent-Replayed"), r.body, original.body)
		}
	}
	for i := range 3 {
		replayed(oxPlace(t, o.d.inst(i), u, key, h.ID, testpay.TokenSuccess), fmt.Sprintf("instance %d", i))
	}
	replayed(oxPlace(t, lb, u, `"`+key+`"`, h.ID, testpay.TokenSuccess), "the quoted key")
	// Whitespace and member order in the JSON are not part of what was asked.
	replayed(lb.do(t, "POST", "/v1/orders", u,
		fmt.Sprintf(` { "payment" : { "token" : %q , "method" : "test" } , "hold_id" : %q } `, testpay.TokenSuccess, h.ID),
		"Idempotency-Key", key), "the same request written differently")
	if got := oxGet(t, o.d.inst(2), u, ord.ID); got.Status != "confirmed" || got.ID != ord.ID {
		t.Fatalf("GET the order: %+v", got)
	}

	// The same key for another request: 422, and nothing is stored for it.
	h2 := mustHold(t, lb, u, sc.ID, "B1", "B2")
	expect(t, oxPlace(t, lb, u, key, h2.ID, testpay.TokenSuccess), 422, "idempotency_key_reused")
	expect(t, oxPlace(t, o.d.inst(1), u, key, h.ID, testpay.TokenDecline), 422, "idempotency_key_reused")
	if n := o.count(t, `SELECT count(*) FROM orders WHERE hold_id = $1`, h2.ID); n != 0 {
		t.Fatalf("a reused key stored %d orders for the other hold", n)
	}
	// No key, a malformed key: 400, nothing stored.
	expect(t, oxPlace(t, lb, u, "", h2.ID, testpay.TokenSuccess), 400, "idempotency_key_missing")
	expect(t, oxPlace(t, lb, u, `"no closing quote`, h2.ID, testpay.TokenSuccess), 400, "invalid_idempotency_key")
	if n := o.count(t, `SELECT count(*) FROM orders WHERE hold_id = $1`, h2.ID); n != 0 {
		t.Fatalf("a request without a valid key stored %d orders", n)
	}
	// Another user: the hold is not theirs (404); the key is theirs to use for their own hold.
	v := signIn(t, lb).tk.AccessToken
	expect(t, oxPlace(t, lb, v, oxKey(), h2.ID, testpay.TokenSuccess), 404, "")
	hv := mustHold(t, lb, v, sc.ID, "A9", "A10")
	theirs := oxPlace(t, lb, v, key, hv.ID, testpay.TokenSuccess)
	if oxCreated(t, theirs, hv.ID, "confirmed"); theirs.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("another user's first request with the same key was answered as a replay: %s", theirs.body)
	}

	// Declined: 402 naming the order, replayed as is; the hold stays active and can be paid for
	// with a new key.
	k2 := oxKey()
	d := oxPlace(t, lb, u, k2, h2.ID, testpay.TokenDecline)
	expect(t, d, 402, "payment_declined")
	var declined struct {
		OrderID string `json:"order_id"`
	}
	d.decode(t, &declined)
	if declined.OrderID == "" {
		t.Fatalf("402 without order_id: %s", d.body)
	}
	d2 := oxPlace(t, o.d.inst(2), u, k2, h2.ID, testpay.TokenDecline)
	expect(t, d2, 402, "payment_declined")
	if d2.header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(d2.body, d.body) {
		t.Fatalf("the declined answer replayed as %q %s, want %s", d2.header.Get("Idempotent-Replayed"), d2.body, d.body)
	}
	if got := oxGet(t, lb, u, declined.OrderID); got.Status != "declined" || got.Payment.Status != "declined" || len(got.Tickets) != 0 {
		t.Fatalf("the declined order reads %+v", got)
	}
	if got := getHold(t, lb, u, h2.ID); got.Status != "active" {
		t.Fatalf("the hold of a declined order reads %s, want active", got.Status)
	}
	paid := oxCreated(t, oxPlace(t, lb, u, oxKey(), h2.ID, testpay.TokenSuccess), h2.ID, "confirmed")
	if paid.ID == declined.OrderID {
		t.Fatalf("the new key paid the declined order %s again", paid.ID)
	}
	// A released hold: 410.
	h3 := mustHold(t, lb, u, sc.ID, "B5", "B6")
	expect(t, lb.do(t, "DELETE", "/v1/holds/"+h3.ID, u, nil), 204, "")
	k410 := oxKey()
	expect(t, oxPlace(t, lb, u, k410, h3.ID, testpay.TokenSuccess), 410, "hold_expired")
	// A refusal stores nothing: the key is still free for another request.
	h4 := mustHold(t, lb, u, sc.ID, "B7", "B8")
	last := oxCreated(t, oxPlace(t, lb, u, k410, h4.ID, testpay.TokenSuccess), h4.ID, "confirmed")

	// The user's orders, one per page, newest first: the four orders, then no next page.
	var listed []string
	cursor := ""
	for page := 0; ; page++ {
		path := "/v1/orders?limit=1"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		r := o.d.inst(page).do(t, "GET", path, u, nil)
		expect(t, r, 200, "")
		var p struct {
			Items      []oxOrder `json:"items"`
			NextCursor *string   `json:"next_cursor"`
		}
		r.decode(t, &p)
		for _, it := range p.Items {
			listed = append(listed, it.ID)
		}
		if p.NextCursor == nil {
			break
		}
		if cursor = *p.NextCursor; page == 10 {
			t.Fatalf("GET /v1/orders: still a next page after %d pages (%v)", page+1, listed)
		}
	}
	if want := []string{last.ID, paid.ID, declined.OrderID, ord.ID}; fmt.Sprint(listed) != fmt.Sprint(want) {
		t.Fatalf("GET /v1/orders page by page: %v, want newest first %v", listed, want)
	}

	// 32 keys, one hold, at once: one order, 31 answers 409 order_exists naming it.
	w := signIn(t, lb).tk.AccessToken
	hw := mustHold(t, lb, w, sc.ID, "A5", "A6")
	wbody, _ := json.Marshal(oxBody(hw.ID, testpay.TokenSuccess))
	const keys = 32
	answers := make([]reply, keys)
	errs = make([]error, keys)
	start = make(chan struct{})
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			answers[i], errs[i] = lb.oxSend(context.Background(), t, hc, "POST", "/v1/orders", w, wbody, "Idempotency-Key", oxKey())
		}()
	}
	close(start)
	wg.Wait()
	var winner *oxOrder
	exists := 0
	for i, r := range answers {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		switch {
		case r.status == 201:
			if winner != nil {
				t.Fatalf("two orders for one hold: %s and %s", winner.ID, r.body)
			}
			won := oxCreated(t, r, hw.ID, "confirmed")
			winner = &won
		case r.status == 409 && r.code() == "order_exists":
			exists++
		default:
			t.Fatalf("key %d: %d %s, want 201 or 409 order_exists", i, r.status, r.body)
		}
	}
	if winner == nil {
		t.Fatalf("none of %d keys got the order", keys)
	}
	for _, r := range answers {
		var p struct {
			OrderID string `json:"order_id"`
		}
		r.decode(t, &p)
		if r.status == 409 && p.OrderID != winner.ID {
			t.Fatalf("409 order_exists names %q, want the order %s: %s", p.OrderID, winner.ID, r.body)
		}
	}
	if n := o.count(t, `SELECT count(*) FROM orders WHERE hold_id = $1`, hw.ID); n != 1 {
		t.Fatalf("%d orders for the hold paid with %d keys at once, want 1", n, keys)
	}
	if n := o.count(t, `SELECT count(*) FROM idempotency_keys k JOIN orders o ON o.id = k.order_id WHERE o.hold_id = $1`, hw.ID); n != 1 {
		t.Fatalf("%d keys stored for the hold, want 1 (refusals store nothing)", n)
	}
	t.Logf("%d keys on one hold: 1 order, %d answers 409 order_exists", keys, exists)
	o.mustHoldInvariants(t, "after the idempotency test")
}
