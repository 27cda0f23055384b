package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"boxoffice/tickets"
)

// orderBody is a POST /v1/orders body paying for holdID with a test-provider token.
func orderBody(holdID, token string) string {
	return `{"hold_id":"` + holdID + `","payment":{"method":"test","token":"` + token + `"}}`
}

// placeOrder sends POST /v1/orders with an Idempotency-Key.
func (w ticketWorld) placeOrder(t *testing.T, token, key, body string) (*http.Response, []byte) {
	t.Helper()
	return w.ts.call(t, "POST", "/v1/orders", token, body, "Idempotency-Key", key)
}

// buy holds seats for token's user and pays for them at once, returning the order.
func (w ticketWorld) buy(t *testing.T, token, key string, seats ...string) orderView {
	t.Helper()
	h := w.hold(t, token, `{"seat_ids":`+mustJSON(t, seats)+`}`)
	var o orderView
	w.ts.do(t, "POST", "/v1/orders", token, orderBody(h.ID, "test_success"), 201, &o, "Idempotency-Key", key)
	if o.Status != tickets.OrderConfirmed {
		t.Fatalf("bought %v: %+v", seats, o)
	}
	return o
}

func sold(ids ...string) map[string]tickets.SeatState {
	m := map[string]tickets.SeatState{}
	for _, id := range ids {
		m[id] = tickets.Sold
	}
	return m
}

var ticketCode = regexp.MustCompile(`^[A-Z2-7]{25}[AEIMQUY4]$`)

// TestOrderCreated: an order for a hold answers 201 with Location and the whole order, the
// seats are sold, the hold confirmed; a retry with the same key (quoted or bare, the body's
// members in any order) gets the same bytes marked Idempotent-Replayed; the same key with
// another body is 422; a second key for the same hold is 409 order_exists.
func TestOrderCreated(t *testing.T) {
	w := newTicketWorld(t)
	h := w.hold(t, w.alice.AccessToken, `{"seat_ids":["B5","B6","A3"]}`)
	before := w.ts.clock.now().Add(-time.Second)
	body := orderBody(h.ID, "test_success")
	resp, first := w.placeOrder(t, w.alice.AccessToken, `"k-1"`, body)
	if resp.StatusCode != 201 {
		t.Fatalf("order: %d %s", resp.StatusCode, first)
	}
	var o orderView
	if err := json.Unmarshal(first, &o); err != nil {
		t.Fatal(err)
	}
	switch {
	case !orderID.MatchString(o.ID), resp.Header.Get("Location") != "/v1/orders/"+o.ID:
		t.Errorf("id %q, Location %q", o.ID, resp.Header.Get("Location"))
	case resp.Header.Get(headerReplayed) != "", resp.Header.Get("Content-Type") != "application/json":
		t.Errorf("first answer: replayed %q, Content-Type %q", resp.Header.Get(headerReplayed), resp.Header.Get("Content-Type"))
	case o.Status != "confirmed", o.ScreeningID != w.scr, o.HoldID != h.ID, !slices.Equal(o.SeatIDs, []string{"A3", "B5", "B6"}):
		t.Errorf("order = %+v", o)
	case o.Total != h.Total, o.LatePayment != nil, o.Refund != nil, !o.PaymentDeadline.Equal(h.ExpiresAt):
		t.Errorf("total %+v late %v refund %v deadline %v (hold %v)", o.Total, o.LatePayment, o.Refund, o.PaymentDeadline, h.ExpiresAt)
	case !strings.HasPrefix(o.Payment.ID, "pay_"), o.Payment.Method != "test", o.Payment.Status != "succeeded":
		t.Errorf("payment = %+v", o.Payment)
	case o.CreatedAt.Before(before), o.UpdatedAt.Before(o.CreatedAt), len(o.Tickets) != 3:
		t.Errorf("times %v %v, %d tickets", o.CreatedAt, o.UpdatedAt, len(o.Tickets))
	case resp.Header.Get("Session-Idle-Expires-At") == "":
		t.Error("no session deadline headers")
	}
	for i, tk := range o.Tickets {
		if tk.SeatID != o.SeatIDs[i] || tk.Status != "valid" || !ticketCode.MatchString(tk.Code) || !strings.HasPrefix(tk.ID, "ticket_") {
			t.Errorf("ticket %d = %+v", i, tk)
		}
	}
	for _, member := range []string{`"late_payment":null`, `"refund":null`} {
		if !bytes.Contains(first, []byte(member)) {
			t.Errorf("no %s in %s", member, first)
		}
	}
	w.wantSeats(t, sold("A3", "B5", "B6"))
	if g := w.getHold(t, w.alice.AccessToken, h.ID); g.Status != "confirmed" {
		t.Errorf("the hold after the order = %+v", g)
	}
	var got orderView
	w.ts.do(t, "GET", resp.Header.Get("Location"), w.alice.AccessToken, "", 200, &got)
	if mustJSON(t, got) != mustJSON(t, o) {
		t.Errorf("GET = %+v\nwant %+v", got, o)
	}

	// Retries: the same bytes, whatever form the key and the body take.
	reordered := `{"payment":{"token":"test_success","method":"test"},  "hold_id":"` + h.ID + `"}`
	for _, retry := range []struct{ key, body string }{{`"k-1"`, body}, {"k-1", body}, {` k-1 `, reordered}} {
		r, b := w.placeOrder(t, w.alice.AccessToken, retry.key, retry.body)
		if r.StatusCode != 201 || !bytes.Equal(b, first) || r.Header.Get(headerReplayed) != "true" ||
			r.Header.Get("Location") != resp.Header.Get("Location") || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("retry with key %s: %d %s replayed %q", retry.key, r.StatusCode, b, r.Header.Get(headerReplayed))
		}
	}
	// Another user's key of the same name is another key: bob cannot read alice's answer.
	w.ts.problem(t, "POST", "/v1/orders", w.bob.AccessToken, body, 404, "not_found", "Idempotency-Key", "k-1")

	p := w.ts.problem(t, "POST", "/v1/orders", w.alice.AccessToken, orderBody(h.ID, "test_decline"), 422, "idempotency_key_reused", "Idempotency-Key", "k-1")
	if p.OrderID != "" {
		t.Errorf("problem = %+v", p)
	}
	long := strings.Repeat("k", tickets.MaxKeyLen) // the longest key: accepted, and refused for the hold
	p = w.ts.problem(t, "POST", "/v1/orders", w.alice.AccessToken, body, 409, "order_exists", "Idempotency-Key", long)
	if p.OrderID != o.ID {
		t.Errorf("order_exists names %q, want %q", p.OrderID, o.ID)
	}
	w.wantSeats(t, sold("A3", "B5", "B6"))
}

// TestOrderIdempotencyKeyHeader: the header is required and must be one key, quoted or bare.
func TestOrderIdempotencyKeyHeader(t *testing.T) {
	w := newTicketWorld(t)
	h := w.hold(t, w.alice.AccessToken, `{"seat_ids":["A1"]}`)
	body := orderBody(h.ID, "test_success")
	w.ts.problem(t, "POST", "/v1/orders", w.alice.AccessToken, body, 400, "idempotency_key_missing")
	w.ts.problem(t, "POST", "/v1/orders", w.alice.AccessToken, body, 400, "idempotency_key_missing", "Idempotency-Key", " ")
	for _, key := range []string{`"`, `"abc`, `""`, `"a"b`, `"a";x=1`, `"a", "b"`, `"a\x"`, `"a\"`, `a b`, `a"b`, `a,b`, `a;b`, `a=`,
		"\"\u00e9\"", "\u00e9", strings.Repeat("k", tickets.MaxKeyLen+1), `"` + strings.Repeat("k", tickets.MaxKeyLen+1) + `"`} {
		w.ts.problem(t, "POST", "/v1/orders", w.alice.AccessToken, body, 400, "invalid_idempotency_key", "Idempotency-Key", key)
	}
	// Given twice: refused (net/http's Header.Set keeps one, so build the request by hand).
	req := rawRequest("POST", "/v1/orders", w.alice.AccessToken, body, "Content-Type", "application/json",
		"Idempotency-Key", "a", "Idempotency-Key", "a")
	resp, b := rawServe(t, w.ts.srv)(t, req)
	if p := problemOf(b); resp.StatusCode != 400 || p.Code != "invalid_idempotency_key" {
		t.Errorf("two keys: %d %s", resp.StatusCode, b)
	}
	w.wantSeats(t, held("A1"))

	for _, tc := range []struct{ header, key string }{
		{`"abc"`, "abc"}, {`abc`, "abc"}, {`"a\"b"`, `a"b`}, {`"a\\b"`, `a\b`}, {`" a b "`, " a b "}, {`"a,b;c=d"`, "a,b;c=d"},
		{"8e03978e-40d5-43e8-bc93-6894a57f9324", "8e03978e-40d5-43e8-bc93-6894a57f9324"}, {"a:b/c*d!#$%&'+.^_`|~", "a:b/c*d!#$%&'+.^_`|~"},
		{`"` + strings.Repeat(`\\`, tickets.MaxKeyLen) + `"`, strings.Repeat(`\`, tickets.MaxKeyLen)},
	} {
		if key, ok := parseKey(tc.header); !ok || key != tc.key {
			t.Errorf("parseKey(%s) = %q %v, want %q", tc.header, key, ok, tc.key)
		}
	}
}

// TestOrderDeclined: a declined payment is 402 payment_declined naming the order, exactly the
// bytes the problem writer makes, replayed to a retry; the hold is untouched, and a new key
// with a payment that succeeds buys the seats.
func TestOrderDeclined(t *testing.T) {
	w := newTicketWorld(t)
	h := w.hold(t, w.alice.AccessToken, `{"seat_ids":["C3","C4"]}`)
	resp, first := w.placeOrder(t, w.alice.AccessToken, "try-1", orderBody(h.ID, "test_decline"))
	p := problemOf(first)
	if resp.StatusCode != 402 || p.Code != "payment_declined" || !orderID.MatchString(p.OrderID) ||
		resp.Header.Get("Content-Type") != "application/problem+json" || resp.Header.Get("Location") != "" {
		t.Fatalf("declined: %d %s (%s)", resp.StatusCode, first, resp.Header.Get("Content-Type"))
	}
	want, _ := problemFor(&declinedError{orderID: p.OrderID})
	want.RequestID = resp.Header.Get("X-Request-Id")
	if !bytes.Equal(first, renderProblem(want)) {
		t.Errorf("402 body\n%s\nis not the problem writer's\n%s", first, renderProblem(want))
	}
	r, again := w.placeOrder(t, w.alice.AccessToken, `"try-1"`, orderBody(h.ID, "test_decline"))
	if r.StatusCode != 402 || !bytes.Equal(again, first) || r.Header.Get(headerReplayed) != "true" ||
		r.Header.Get("X-Request-Id") == resp.Header.Get("X-Request-Id") {
		t.Errorf("replayed 402: %d %s replayed %q", r.StatusCode, again, r.Header.Get(headerReplayed))
	}
	var o orderView
	w.ts.do(t, "GET", "/v1/orders/"+p.OrderID, w.alice.AccessToken, "", 200, &o)
	if o.Status != "declined" || o.Payment.Status != "declined" || len(o.Tickets) != 0 || o.Refund != nil {
		t.Errorf("declined order = %+v", o)
	}
	if g := w.getHold(t, w.alice.AccessToken, h.ID); g.Status != "active" {
		t.Errorf("the hold after a decline = %+v", g)
	}
	w.wantSeats(t, held("C3", "C4"))
	w.ts.do(t, "POST", "/v1/orders", w.alice.AccessToken, orderBody(h.ID, "test_success"), 201, &o, "Idempotency-Key", "try-2")
	if o.Status != "confirmed" || o.ID == p.OrderID {
		t.Errorf("second try = %+v", o)
	}
	w.wantSeats(t, sold("C3", "C4"))
}

// TestOrderRefusals: an order for a hold that ended is 410; for a hold that is not the
// caller's, 404; invalid bodies 4xx; none of them stores anything (the key is still free).
func TestOrderRefusals(t *testing.T) {
	w := newTicketWorld(t)
	released := w.hold(t, w.alice.AccessToken, `{"seat_ids":["A1"]}`)
	w.ts.do(t, "DELETE", "/v1/holds/"+released.ID, w.alice.AccessToken, "", 204, nil)
	w.ts.problem(t, "POST", "/v1/orders", w.alice.AccessToken, orderBody(released.ID, "test_success"), 410, "hold_expired", "Idempotency-Key", "k")
	expiring := w.hold(t, w.alice.AccessToken, `{"seat_ids":["A5","A6"]}`)
	w.ts.clock.advance(11 * time.Minute)
	theirs := w.hold(t, w.bob.AccessToken, `{"seat_ids":["C3","C4"]}`)
	w.ts.problem(t, "POST", "/v1/orders", w.alice.AccessToken, orderBody(expiring.ID, "test_success"), 410, "hold_expired", "Idempotency-Key", "k")
	mine := w.hold(t, w.alice.AccessToken, `{"seat_ids":["B1","B2"]}`)
	w.ts.problem(t, "POST", "/v1/orders", w.alice.AccessToken, orderBody(theirs.ID, "test_success"), 404, "not_found", "Idempotency-Key", "k")
	w.ts.problem(t, "POST", "/v1/orders", w.alice.AccessToken, orderBody("hold_aaaaaaaaaaaaaaaaaaaaaaaaaa", "test_success"), 404, "not_found", "Idempotency-Key", "k")
	for _, tc := range []struct{ body, field string }{
		{`{}`, "hold_id"}, {`{"hold_id":"nope","payment":{"method":"test","token":"test_success"}}`, "hold_id"},
		{`{"hold_id":7,"payment":{"method":"test","token":"test_success"}}`, "hold_id"},
		{`{"hold_id":"` + mine.ID + `"}`, "payment"}, {`{"hold_id":"` + mine.ID + `","payment":"test"}`, "payment"},
		{`{"hold_id":"` + mine.ID + `","payment":{"method":"test"}}`, "payment.token"},
		{`{"hold_id":"` + mine.ID + `","payment":{"method":"cash","token":"x"}}`, "payment.method"},
		{`{"hold_id":"` + mine.ID + `","payment":{"method":"test","token":"\u00e9"}}`, "payment.token"},
		{`{"hold_id":"` + mine.ID + `","payment":{"method":"test","token":"` + strings.Repeat("t", 256) + `"}}`, "payment.token"},
		{`{"hold_id":"` + mine.ID + `","payment":{"method":"test","token":"x","cvc":"123"}}`, "payment.cvc"},
		{`{"hold_id":"` + mine.ID + `","payment":{"method":"test","token":"x"},"amount":1}`, "amount"},
	} {
		p := w.ts.problem(t, "POST", "/v1/orders", w.alice.AccessToken, tc.body, 422, "validation_failed", "Idempotency-Key", "k")
		if p.Errors[tc.field] == "" {
			t.Errorf("%s: errors %v, want %q", tc.body, p.Errors, tc.field)
		}
	}
	w.ts.problem(t, "POST", "/v1/orders", w.alice.AccessToken, `{"hold_id":`, 400, "malformed_json", "Idempotency-Key", "k")
	w.ts.problem(t, "POST", "/v1/orders", w.alice.AccessToken, orderBody(mine.ID, "test_success"), 415, "unsupported_media_type",
		"Idempotency-Key", "k", "Content-Type", "text/plain")
	w.ts.problem(t, "POST", "/v1/orders", "", orderBody(mine.ID, "test_success"), 401, "missing_token", "Idempotency-Key", "k")
	w.wantSeats(t, map[string]tickets.SeatState{"B1": tickets.Held, "B2": tickets.Held, "C3": tickets.Held, "C4": tickets.Held})
	// Nothing above used the key: it buys now.
	var o orderView
	w.ts.do(t, "POST", "/v1/orders", w.alice.AccessToken, orderBody(mine.ID, "test_success"), 201, &o, "Idempotency-Key", "k")
}

// TestOrderKeyInFlight: a provider that cannot be reached leaves the order's key in flight:
// 503, then 409 idempotency_key_in_flight with Retry-After until the key's lease ends; then a
// retry takes the order over.
func TestOrderKeyInFlight(t *testing.T) {
	w := newTicketWorld(t)
	h := w.hold(t, w.alice.AccessToken, `{"seat_ids":["A3"]}`)
	body := orderBody(h.ID, "test_error")
	w.ts.problem(t, "POST", "/v1/orders", w.alice.AccessToken, body, 503, "service_unavailable", "Idempotency-Key", "slow")
	resp, b := w.placeOrder(t, w.alice.AccessToken, "slow", body)
	if p := problemOf(b); resp.StatusCode != 409 || p.Code != "idempotency_key_in_flight" {
		t.Fatalf("retry in flight: %d %s", resp.StatusCode, b)
	}
	if ra := resp.Header.Get("Retry-After"); ra == "" || ra == "0" || len(ra) > 2 {
		t.Errorf("Retry-After %q", ra)
	}
	w.ts.problem(t, "POST", "/v1/orders", w.alice.AccessToken, orderBody(h.ID, "test_success"), 422, "idempotency_key_reused", "Idempotency-Key", "slow")
	w.ts.clock.advance(16 * time.Second) // past the 15 s lease: the retry drives the order again
	w.ts.problem(t, "POST", "/v1/orders", w.alice.AccessToken, body, 503, "service_unavailable", "Idempotency-Key", "slow")
	w.wantSeats(t, held("A3"))
}

// TestOrderListAndOwnership: a user's orders, newest first, paged; another user's order is
// 404 to read and to cancel.
func TestOrderListAndOwnership(t *testing.T) {
	w := newTicketWorld(t)
	var ids []string
	for i, seats := range [][]string{{"A1", "A2"}, {"A3", "A4"}, {"A5", "A6"}} {
		ids = append(ids, w.buy(t, w.alice.AccessToken, "list-"+seats[0], seats...).ID)
		if i < 2 {
			w.ts.clock.advance(time.Second)
		}
	}
	slices.Reverse(ids)
	var got []string
	path := "/v1/orders?limit=2"
	for pages := 1; ; pages++ {
		var page pageView[orderView]
		w.ts.do(t, "GET", path, w.alice.AccessToken, "", 200, &page)
		for _, o := range page.Items {
			got = append(got, o.ID)
		}
		if page.NextCursor == nil {
			if pages != 2 {
				t.Errorf("%d pages, want 2", pages)
			}
			break
		}
		path = "/v1/orders?limit=2&cursor=" + *page.NextCursor
	}
	if !slices.Equal(got, ids) {
		t.Errorf("orders %v, want %v", got, ids)
	}
	var none pageView[orderView]
	w.ts.do(t, "GET", "/v1/orders", w.bob.AccessToken, "", 200, &none)
	if none.Items == nil || len(none.Items) != 0 || none.NextCursor != nil {
		t.Errorf("bob's orders = %+v", none)
	}
	for _, q := range []string{"limit=0", "limit=101", "cursor=%21", "cursor=abc"} {
		w.ts.problem(t, "GET", "/v1/orders?"+q, w.alice.AccessToken, "", 422, "validation_failed")
	}
	w.ts.problem(t, "GET", "/v1/orders/"+ids[0], w.bob.AccessToken, "", 404, "not_found")
	w.ts.problem(t, "POST", "/v1/orders/"+ids[0]+"/cancel", w.bob.AccessToken, "", 404, "not_found")
	for _, id := range []string{"order_aaaaaaaaaaaaaaaaaaaaaaaaaa", "nope", strings.ToUpper(ids[0]), ids[0] + "a", w.scr} {
		w.ts.problem(t, "GET", "/v1/orders/"+id, w.alice.AccessToken, "", 404, "not_found")
		w.ts.problem(t, "POST", "/v1/orders/"+id+"/cancel", w.alice.AccessToken, "", 404, "not_found")
	}
	w.wantSeats(t, sold("A1", "A2", "A3", "A4", "A5", "A6"))
}

// TestOrderCancel: the buyer cancels a confirmed order: 200 with its refund, tickets void,
// seats available; again changes nothing; an order that is not confirmed is 409; within the
// cut-off before the screening (the application clock) cancellation is closed.
func TestOrderCancel(t *testing.T) {
	w := newTicketWorld(t)
	o := w.buy(t, w.alice.AccessToken, "c-1", "B5", "B6")
	var c orderView
	w.ts.do(t, "POST", "/v1/orders/"+o.ID+"/cancel", w.alice.AccessToken, "", 200, &c)
	switch rf := c.Refund; {
	case c.Status != "cancelled", len(c.Tickets) != 2, c.Tickets[0].Status != "void", c.Tickets[1].Status != "void":
		t.Errorf("cancelled order = %+v", c)
	case rf == nil || rf.ID != tickets.RefundID(o.ID) || rf.Amount != o.Total || rf.Reason != "customer_cancelled":
		t.Errorf("refund = %+v", rf)
	case rf.Status != "succeeded" || rf.CompletedAt == nil || rf.CompletedAt.Before(rf.CreatedAt):
		t.Errorf("refund state = %+v", rf)
	}
	w.wantSeats(t, nil)
	var again orderView
	w.ts.do(t, "POST", "/v1/orders/"+o.ID+"/cancel", w.alice.AccessToken, "", 200, &again)
	if mustJSON(t, again) != mustJSON(t, c) {
		t.Errorf("cancelled twice: %+v\nwant %+v", again, c)
	}
	w.hold(t, w.bob.AccessToken, `{"seat_ids":["B5","B6"]}`) // free for others at once

	h := w.hold(t, w.alice.AccessToken, `{"seat_ids":["C3","C4"]}`)
	_, b := w.placeOrder(t, w.alice.AccessToken, "c-2", orderBody(h.ID, "test_decline"))
	w.ts.problem(t, "POST", "/v1/orders/"+problemOf(b).OrderID+"/cancel", w.alice.AccessToken, "", 409, "order_not_cancellable")

	late := w.buy(t, w.alice.AccessToken, "c-3", "A1", "A2")
	w.ts.clock.advance(23 * time.Hour) // the screening starts within the 2 h cut-off
	w.ts.problem(t, "POST", "/v1/orders/"+late.ID+"/cancel", w.alice.AccessToken, "", 409, "cancellation_closed")
	var still orderView
	w.ts.do(t, "GET", "/v1/orders/"+late.ID, w.alice.AccessToken, "", 200, &still)
	if still.Status != "confirmed" {
		t.Errorf("after a refused cancellation: %+v", still)
	}
}

// TestOrderProblems: the order errors' data reach the problem and its Retry-After.
func TestOrderProblems(t *testing.T) {
	for _, tc := range []struct {
		err     error
		status  int
		code    string
		orderID string
		retry   time.Duration
	}{
		{&tickets.OrderExistsError{OrderID: "order_x"}, 409, "order_exists", "order_x", 0},
		{&declinedError{orderID: "order_y"}, 402, "payment_declined", "order_y", 0},
		{&tickets.InFlightError{RetryAfter: 2500 * time.Millisecond}, 409, "idempotency_key_in_flight", "", 2500 * time.Millisecond},
		{&tickets.InFlightError{}, 409, "idempotency_key_in_flight", "", time.Second},
		{tickets.ErrHoldExpired, 410, "hold_expired", "", 0},
		{tickets.ErrInvalidSignature, 400, "invalid_signature", "", 0},
	} {
		p, retry := problemFor(tc.err)
		if p.Status != tc.status || p.Code != tc.code || p.OrderID != tc.orderID || retry != tc.retry {
			t.Errorf("%v: %+v retry %v", tc.err, p, retry)
		}
	}
}

// TestOrdersRoutesUnavailable: with the ticket database gone, the order routes answer 503.
func TestOrdersRoutesUnavailable(t *testing.T) {
	w := newTicketWorld(t)
	h := w.hold(t, w.alice.AccessToken, `{"seat_ids":["A1"]}`)
	w.ts.tstore.Close()
	for _, r := range [][3]string{
		{"POST", "/v1/orders", orderBody(h.ID, "test_success")}, {"GET", "/v1/orders", ""},
		{"GET", "/v1/orders/order_aaaaaaaaaaaaaaaaaaaaaaaaaa", ""}, {"POST", "/v1/orders/order_aaaaaaaaaaaaaaaaaaaaaaaaaa/cancel", ""},
	} {
		resp, b := w.ts.call(t, r[0], r[1], w.alice.AccessToken, r[2], "Idempotency-Key", "k")
		if p := problemOf(b); resp.StatusCode != 503 || p.Code != "service_unavailable" || resp.Header.Get("Retry-After") != "1" {
			t.Errorf("%s %s: %d %s", r[0], r[1], resp.StatusCode, b)
		}
	}
}
