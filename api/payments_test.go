package api

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"boxoffice/tickets"
	"boxoffice/tickets/testpay"
)

// signature is the Boxoffice-Signature header of body, signed with the test server's
// secret at the server's clock shifted by skew.
func (w ticketWorld) signature(body []byte, skew time.Duration) string {
	return testpay.Sign(testWebhookSecret, body, w.ts.clock.now().Add(skew))
}

// TestPaymentWebhook: an asynchronous payment leaves the order pending (the seats held for
// it) until the provider's signed webhook confirms it; delivering it again changes nothing;
// the key's stored answer stays the pending one. Unsigned, stale or forged webhooks are 400
// invalid_signature and change nothing.
func TestPaymentWebhook(t *testing.T) {
	if headerSignature != testpay.SignatureHeader {
		t.Fatalf("the API reads %s, the test provider signs %s", headerSignature, testpay.SignatureHeader)
	}
	w := newTicketWorld(t)
	h := w.hold(t, w.alice.AccessToken, `{"seat_ids":["A1","A2"]}`)
	resp, first := w.placeOrder(t, w.alice.AccessToken, "async-1", orderBody(h.ID, "test_async"))
	var o orderView
	if resp.StatusCode != 201 || json.Unmarshal(first, &o) != nil || o.Status != "pending" || o.Payment.Status != "pending" || len(o.Tickets) != 0 {
		t.Fatalf("async order: %d %s", resp.StatusCode, first)
	}
	w.wantSeats(t, held("A1", "A2"))

	event := testpay.EventBody("evt_1", testpay.EventSucceeded, o.Payment.ID)
	for name, hdr := range map[string][]string{
		"no signature":    nil,
		"garbage":         {headerSignature, "garbage"},
		"no timestamp":    {headerSignature, "v1=00"},
		"stale":           {headerSignature, w.signature(event, -10*time.Minute)},
		"from the future": {headerSignature, w.signature(event, 10*time.Minute)},
		"another secret":  {headerSignature, testpay.Sign([]byte("not-the-secret"), event, w.ts.clock.now())},
		"another body":    {headerSignature, w.signature(testpay.EventBody("evt_1", testpay.EventSucceeded, "pay_x"), 0)},
	} {
		p := w.ts.problem(t, "POST", "/v1/payments/webhook", "", string(event), 400, "invalid_signature", hdr...)
		if p.Detail == "" || strings.Contains(p.Detail, "mismatch") {
			t.Errorf("%s: %+v", name, p)
		}
	}
	w.ts.problem(t, "POST", "/v1/payments/webhook", "", string(event), 415, "unsupported_media_type",
		headerSignature, w.signature(event, 0), "Content-Type", "text/plain")
	var again orderView
	w.ts.do(t, "GET", "/v1/orders/"+o.ID, w.alice.AccessToken, "", 200, &again)
	if again.Status != "pending" {
		t.Fatalf("after refused webhooks: %+v", again)
	}

	for i := range 2 { // a second delivery changes nothing
		var rcpt webhookView
		w.ts.do(t, "POST", "/v1/payments/webhook", "", string(event), 200, &rcpt, headerSignature, w.signature(event, 0))
		if rcpt != (webhookView{Received: true, OrderID: o.ID, OrderStatus: "confirmed"}) {
			t.Errorf("delivery %d: %+v", i, rcpt)
		}
	}
	w.ts.do(t, "GET", "/v1/orders/"+o.ID, w.alice.AccessToken, "", 200, &again)
	if again.Status != "confirmed" || again.Payment.Status != "succeeded" || len(again.Tickets) != 2 || again.LatePayment != nil {
		t.Errorf("after the webhook: %+v", again)
	}
	w.wantSeats(t, sold("A1", "A2"))
	r, replay := w.placeOrder(t, w.alice.AccessToken, "async-1", orderBody(h.ID, "test_async"))
	if r.StatusCode != 201 || !bytes.Equal(replay, first) || r.Header.Get(headerReplayed) != "true" {
		t.Errorf("replay after the webhook: %d %s", r.StatusCode, replay)
	}

	// A payment that is not ours, and a signed body that is not an event.
	unknown := testpay.EventBody("evt_2", testpay.EventSucceeded, "pay_aaaaaaaaaaaaaaaaaaaaaaaaaa")
	w.ts.problem(t, "POST", "/v1/payments/webhook", "", string(unknown), 404, "not_found", headerSignature, w.signature(unknown, 0))
	junk := []byte(`{"id":"evt_3","type":"payment.refunded","payment_id":"` + o.Payment.ID + `"}`)
	w.ts.problem(t, "POST", "/v1/payments/webhook", "", string(junk), 422, "validation_failed", headerSignature, w.signature(junk, 0))

	// Over 64 KiB: refused by the handler under the command's larger body limit.
	ts := newTestServerWith(t, Config{BodyLimit: 512 << 10})
	big := []byte(`{"id":"` + strings.Repeat("e", maxWebhookBody) + `"}`)
	resp, b := ts.call(t, "POST", "/v1/payments/webhook", "", string(big), headerSignature, w.signature(big, 0))
	if p := problemOf(b); resp.StatusCode != 413 || p.Code != "payload_too_large" || p.RequestID == "" {
		t.Errorf("a webhook over 64 KiB: %d %s", resp.StatusCode, b)
	}
}

// TestPaymentWebhookDeclines: a declined asynchronous payment declines the order; the hold is
// still the buyer's.
func TestPaymentWebhookDeclines(t *testing.T) {
	w := newTicketWorld(t)
	h := w.hold(t, w.alice.AccessToken, `{"seat_ids":["C3","C4"]}`)
	var o orderView
	w.ts.do(t, "POST", "/v1/orders", w.alice.AccessToken, orderBody(h.ID, "test_async"), 201, &o, "Idempotency-Key", "a")
	event := testpay.EventBody("evt_9", testpay.EventDeclined, o.Payment.ID)
	var rcpt webhookView
	w.ts.do(t, "POST", "/v1/payments/webhook", "", string(event), 200, &rcpt, headerSignature, w.signature(event, 0))
	if rcpt.OrderStatus != "declined" {
		t.Errorf("receipt = %+v", rcpt)
	}
	if g := w.getHold(t, w.alice.AccessToken, h.ID); g.Status != "active" {
		t.Errorf("the hold = %+v", g)
	}
	w.wantSeats(t, held("C3", "C4"))
}

// TestScreeningCancelRefundsOrders: an administrator's cancellation of a screening cancels its
// confirmed orders with a refund each, and the refund report lists them; the report of a
// screening without refunds is empty with a zero total; only administrators read reports.
func TestScreeningCancelRefundsOrders(t *testing.T) {
	w := newTicketWorld(t)
	root := w.ts.signIn(t, "root")
	grantAdmin(t, w.ts, root.Session.UserID)
	a := w.buy(t, w.alice.AccessToken, "s-1", "A1", "A2")
	b := w.buy(t, w.bob.AccessToken, "s-2", "B5", "B6")
	report := "/v1/admin/screenings/" + w.scr + "/refunds"
	var r refundReportView
	w.ts.do(t, "GET", report, root.AccessToken, "", 200, &r)
	if r.ScreeningID != w.scr || r.Refunds == nil || len(r.Refunds) != 0 || r.Total != (moneyView{0, "EUR"}) || r.Pending != 0 {
		t.Errorf("report before = %+v", r)
	}

	w.ts.do(t, "POST", "/v1/admin/screenings/"+w.scr+"/cancel", root.AccessToken, "", 204, nil)
	var o orderView
	w.ts.do(t, "GET", "/v1/orders/"+a.ID, w.alice.AccessToken, "", 200, &o)
	if o.Status != "cancelled" || o.Refund == nil || o.Refund.Reason != "screening_cancelled" || o.Refund.Amount != a.Total || o.Tickets[0].Status != "void" {
		t.Errorf("alice's order after the cancellation = %+v", o)
	}
	w.ts.do(t, "GET", report, root.AccessToken, "", 200, &r)
	if len(r.Refunds) != 2 || r.Total != (moneyView{a.Total.Amount + b.Total.Amount, "EUR"}) || r.Pending != 0 {
		t.Fatalf("report after = %+v", r)
	}
	for _, rf := range r.Refunds {
		if (rf.OrderID != a.ID && rf.OrderID != b.ID) || rf.ID != tickets.RefundID(rf.OrderID) || rf.Reason != "screening_cancelled" ||
			rf.Status != "succeeded" || rf.CompletedAt == nil {
			t.Errorf("refund = %+v", rf)
		}
	}
	w.wantSeats(t, nil)
	w.ts.problem(t, "GET", report, w.alice.AccessToken, "", 403, "forbidden")
	w.ts.problem(t, "GET", report, "", "", 401, "missing_token")
	w.ts.problem(t, "GET", "/v1/admin/screenings/scr_aaaaaaaaaaaaaaaaaaaaaaaaaa/refunds", root.AccessToken, "", 404, "not_found")
	w.ts.problem(t, "GET", "/v1/admin/screenings/nope/refunds", root.AccessToken, "", 404, "not_found")
}
