package api

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"boxoffice/tickets"
	"boxoffice/tickets/testpay"
)

// orderState is what the order routes could disturb, for hostileWorld.state: every order of
// the world's users and the refunds of its screenings.
func (w *hostileWorld) orderState(tb testing.TB, add func(name string, v any, err error)) {
	tb.Helper()
	ctx := context.Background()
	for _, u := range []tokenResponse{w.alice, w.bob, w.root} {
		list, err := w.store.Orders(ctx, tickets.OrderQuery{UserID: u.Session.UserID, Limit: 1000})
		for i := range list {
			list[i].ServerTime = time.Time{} // when it was read, not what is stored
		}
		add("orders of "+u.Session.UserID, list, err)
	}
	for _, id := range []string{w.scr, w.scr2} {
		list, err := w.store.Refunds(ctx, id)
		add("refunds of "+id, list, err)
	}
}

// orderCases are the hostile cases of the order, payment and refund routes. They buy alice a
// seat at the second screening first, so that there is an order to attack.
func (w *hostileWorld) orderCases(t *testing.T) []hostileCase {
	var cs []hostileCase
	add := func(c hostileCase) { cs = append(cs, c) }
	var h holdView
	w.ts.do(t, "POST", "/v1/screenings/"+w.scr2+"/holds", w.alice.AccessToken, `{"seat_ids":["B1","B2"]}`, 201, &h)
	bought := orderBody(h.ID, "test_success")
	var o orderView
	w.ts.do(t, "POST", "/v1/orders", w.alice.AccessToken, bought, 201, &o, "Idempotency-Key", "hostile-order")

	badOrders := []string{"%00", o.ID + "%00", strings.ToUpper(o.ID), o.ID + "a", o.ID[:len(o.ID)-1] + "b", "order_" + strings.Repeat("a", 26),
		w.hold.ID, w.scr, "%FF", "%C0%AF", strings.Repeat("o", 2000), "order_%E2%80%AE"}
	for i, id := range badOrders {
		for _, as := range []string{"alice", "bob"} {
			add(hostileCase{name: fmt.Sprintf("get order id %d as %s", i, as), method: "GET", path: "/v1/orders/" + id, as: as, want: []int{404}, code: "not_found"})
			add(hostileCase{name: fmt.Sprintf("cancel order id %d as %s", i, as), method: "POST", path: "/v1/orders/" + id + "/cancel", as: as, want: []int{404}, code: "not_found"})
		}
	}
	add(hostileCase{name: "get another user's order", method: "GET", path: "/v1/orders/" + o.ID, as: "bob", want: []int{404}, code: "not_found"})
	add(hostileCase{name: "cancel another user's order", method: "POST", path: "/v1/orders/" + o.ID + "/cancel", as: "bob", want: []int{404}, code: "not_found"})
	add(hostileCase{name: "cancel an order without a token", method: "POST", path: "/v1/orders/" + o.ID + "/cancel", want: []int{401}, code: "missing_token"})
	for _, q := range []string{"limit=0", "limit=101", "limit=abc", "limit=1&limit=2", "limit=%00", "cursor=%21%21", "cursor=abc", "cursor=%00",
		"cursor=" + b64(`{"i":"x\u0000"}`), "cursor=" + strings.Repeat("A", 701), "limit=", "cursor="} {
		field := "limit"
		if strings.HasPrefix(q, "cursor") {
			field = "cursor"
		}
		add(hostileCase{name: "orders " + q[:min(len(q), 30)], method: "GET", path: "/v1/orders?" + q, as: "alice", want: []int{422}, code: "validation_failed", field: field})
	}

	// POST /v1/orders: the key, then the body.
	order := func(name, body string, want []int, code, field string, hdr ...string) {
		add(hostileCase{name: "order " + name, method: "POST", path: "/v1/orders", as: "bob", body: body, want: want, code: code, field: field,
			hdr: append([]string{"Idempotency-Key", "hostile-key"}, hdr...)})
	}
	mine := orderBody(w.hold.ID, "test_success") // alice's hold: not bob's
	add(hostileCase{name: "order without a key", method: "POST", path: "/v1/orders", as: "alice", body: mine, want: []int{400}, code: "idempotency_key_missing"})
	for _, key := range []string{`"`, `"a`, `""`, `"a"b`, `"a";p=1`, `"a\x"`, `a b`, `a"b`, `a,b`, `(a)`, "\u00e9", strings.Repeat("k", 256),
		`"` + strings.Repeat(`\"`, 256) + `"`} {
		add(hostileCase{name: "order key " + clip(key)[:min(16, len(clip(key)))], method: "POST", path: "/v1/orders", as: "alice", body: mine,
			hdr: []string{"Idempotency-Key", key}, want: []int{400}, code: "invalid_idempotency_key"})
	}
	for _, key := range []string{"\x00", "a\x00b", "\xff", "\"\xc0\xaf\"", "\x7f"} {
		add(hostileCase{name: fmt.Sprintf("order raw key %q", key), method: "POST", path: "/v1/orders", as: "alice", body: mine, raw: true,
			hdr: []string{"Content-Type", "application/json", "Idempotency-Key", key}, want: []int{400}})
	}
	add(hostileCase{name: "order with two keys", method: "POST", path: "/v1/orders", as: "alice", body: mine, raw: true,
		hdr: []string{"Content-Type", "application/json", "Idempotency-Key", "a", "Idempotency-Key", "a"}, want: []int{400}, code: "invalid_idempotency_key"})
	for name, body := range map[string]string{
		"empty": "", "truncated": `{"hold_id":`, "duplicate key": `{"hold_id":"x","hold_id":"y"}`, "duplicate nested key": `{"payment":{"token":"a","token":"b"}}`,
		"trailing data": mine + " x", "invalid utf-8": "{\"hold_id\":\"\xff\"}", "deep": `{"payment":` + strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat("}", 41),
	} {
		order(name, body, []int{400}, "malformed_json", "", "Content-Type", "application/json")
	}
	hold := `"` + w.hold.ID + `"`
	for name, tc := range map[string]struct{ body, field string }{
		"array": {`[]`, ""}, "empty object": {`{}`, "hold_id"}, "hold null": {`{"hold_id":null,"payment":{"method":"test","token":"t"}}`, "hold_id"},
		"hold number":     {`{"hold_id":1,"payment":{"method":"test","token":"t"}}`, "hold_id"},
		"hold malformed":  {`{"hold_id":"hold_x","payment":{"method":"test","token":"t"}}`, "hold_id"},
		"hold nul":        {`{"hold_id":"hold_\u0000","payment":{"method":"test","token":"t"}}`, "hold_id"},
		"hold 2000 chars": {`{"hold_id":"` + strings.Repeat("h", 2000) + `","payment":{"method":"test","token":"t"}}`, "hold_id"},
		"payment missing": {`{"hold_id":` + hold + `}`, "payment"},
		"payment string":  {`{"hold_id":` + hold + `,"payment":"test"}`, "payment"},
		"payment array":   {`{"hold_id":` + hold + `,"payment":[]}`, "payment"},
		"method missing":  {`{"hold_id":` + hold + `,"payment":{"token":"t"}}`, "payment.method"},
		"method unknown":  {`{"hold_id":` + hold + `,"payment":{"method":"cash","token":"t"}}`, "payment.method"},
		"method number":   {`{"hold_id":` + hold + `,"payment":{"method":1,"token":"t"}}`, "payment.method"},
		"method nul":      {`{"hold_id":` + hold + `,"payment":{"method":"test\u0000","token":"t"}}`, "payment.method"},
		"token empty":     {`{"hold_id":` + hold + `,"payment":{"method":"test","token":""}}`, "payment.token"},
		"token unicode":   {`{"hold_id":` + hold + `,"payment":{"method":"test","token":"\u202et"}}`, "payment.token"},
		"token control":   {`{"hold_id":` + hold + `,"payment":{"method":"test","token":"t\u0007"}}`, "payment.token"},
		"token 256":       {`{"hold_id":` + hold + `,"payment":{"method":"test","token":"` + strings.Repeat("t", 256) + `"}}`, "payment.token"},
		"payment unknown": {`{"hold_id":` + hold + `,"payment":{"method":"test","token":"t","amount":0}}`, "payment.amount"},
		"unknown field":   {`{"hold_id":` + hold + `,"payment":{"method":"test","token":"t"},"total":0}`, "total"},
		"case variant":    {`{"Hold_id":` + hold + `,"payment":{"method":"test","token":"t"}}`, "Hold_id"},
		"nested case":     {`{"hold_id":` + hold + `,"payment":{"Method":"test","token":"t"}}`, "payment.Method"},
	} {
		order(name, tc.body, []int{422}, "validation_failed", tc.field)
	}
	order("another user's hold", mine, []int{404}, "not_found", "")
	order("an unknown hold", orderBody("hold_"+strings.Repeat("a", 26), "test_success"), []int{404}, "not_found", "")
	for name, hdr := range map[string][]string{"text/plain": {"Content-Type", "text/plain"}, "form": {"Content-Type", "application/x-www-form-urlencoded"},
		"gzip": {"Content-Encoding", "gzip"}, "latin1": {"Content-Type", "application/json; charset=latin1"}} {
		order(name, mine, []int{415}, "unsupported_media_type", "", hdr...)
	}
	add(hostileCase{name: "order without a token", method: "POST", path: "/v1/orders", body: mine, hdr: []string{"Idempotency-Key", "k"}, want: []int{401}, code: "missing_token"})
	add(hostileCase{name: "order a hold already ordered", method: "POST", path: "/v1/orders", as: "alice", body: bought,
		hdr: []string{"Idempotency-Key", "another"}, want: []int{409}, code: "order_exists"})
	add(hostileCase{name: "order key reused for another body", method: "POST", path: "/v1/orders", as: "alice", body: orderBody(h.ID, "test_decline"),
		hdr: []string{"Idempotency-Key", "hostile-order"}, want: []int{422}, code: "idempotency_key_reused"})
	add(hostileCase{name: "legit order replayed", method: "POST", path: "/v1/orders", as: "alice", body: bought,
		hdr: []string{"Idempotency-Key", `"hostile-order"`}, want: []int{201}})

	// Webhooks: only a valid signature of the raw body counts.
	hook := "/v1/payments/webhook"
	event := testpay.EventBody("evt_h", testpay.EventDeclined, o.Payment.ID)
	now := w.ts.clock.now()
	for name, sig := range map[string]string{
		"no signature": "", "garbage": "garbage", "empty parts": ",,,=,", "no v1": "t=" + fmt.Sprint(now.Unix()),
		"no t": "v1=" + strings.Repeat("0", 64), "t not a number": "t=abc,v1=" + strings.Repeat("0", 64),
		"huge t": "t=99999999999999999999999,v1=00", "stale": testpay.Sign(testWebhookSecret, event, now.Add(-6*60e9)),
		"wrong secret": testpay.Sign([]byte("guess"), event, now), "other body": testpay.Sign(testWebhookSecret, []byte("{}"), now),
		"10k v1": "t=" + fmt.Sprint(now.Unix()) + strings.Repeat(",v1=00", 1000),
	} {
		var hdr []string
		if sig != "" {
			hdr = []string{headerSignature, sig}
		}
		add(hostileCase{name: "webhook " + name, method: "POST", path: hook, body: string(event), hdr: hdr, want: []int{400}, code: "invalid_signature"})
	}
	unknown := testpay.EventBody("evt_u", testpay.EventSucceeded, "pay_"+strings.Repeat("a", 26))
	add(hostileCase{name: "webhook unknown payment", method: "POST", path: hook, body: string(unknown),
		hdr: []string{headerSignature, testpay.Sign(testWebhookSecret, unknown, now)}, want: []int{404}, code: "not_found"})
	for name, body := range map[string]string{"not an event": `{"a":1}`, "unknown type": `{"id":"e","type":"payment.refunded","payment_id":"` + o.Payment.ID + `"}`,
		"array": `[]`, "not json": `x`} {
		add(hostileCase{name: "webhook signed " + name, method: "POST", path: hook, body: body,
			hdr: []string{headerSignature, testpay.Sign(testWebhookSecret, []byte(body), now)}, want: []int{422}, code: "validation_failed"})
	}
	add(hostileCase{name: "webhook text/plain", method: "POST", path: hook, body: string(event),
		hdr: []string{headerSignature, testpay.Sign(testWebhookSecret, event, now), "Content-Type", "text/plain"}, want: []int{415}, code: "unsupported_media_type"})

	// The refund report.
	for i, id := range []string{"%00", strings.ToUpper(w.scr), w.scr + "a", "scr_" + strings.Repeat("a", 26), o.ID, "%FF"} {
		add(hostileCase{name: fmt.Sprintf("refunds of screening id %d", i), method: "GET", path: "/v1/admin/screenings/" + id + "/refunds", as: "root", want: []int{404}, code: "not_found"})
	}
	add(hostileCase{name: "refunds as bob", method: "GET", path: "/v1/admin/screenings/" + w.scr + "/refunds", as: "bob", want: []int{403}, code: "forbidden"})
	add(hostileCase{name: "legit refunds", method: "GET", path: "/v1/admin/screenings/" + w.scr2 + "/refunds?x=%00", as: "root", want: []int{200}})
	return cs
}
