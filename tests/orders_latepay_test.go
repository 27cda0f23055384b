package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"boxoffice/tickets/testpay"
)

// TestOrdersLatePayment: three instances behind the reference nginx with holds of 2 s
// (BOXOFFICE_HOLD_TTL) and a payment grace of ten minutes (the janitor leaves pending orders
// alone while the test runs). Waits are polls of the API, bounded by the guard; no duration is
// asserted.
//
//   - double sale: A orders with test_async (201 pending); A's hold expires (polled through GET
//     /v1/holds/{id}); B holds the same seats and buys them (201 confirmed); then the provider's
//     signed webhook says A's payment succeeded: A's order is refunded (late_payment refunded,
//     a refund for the whole amount, no tickets), B keeps the seats, and each seat is sold once
//     (seat_claims, tickets). The webhook again changes nothing; a forged one is 400.
//   - reclaim: C orders with test_async, C's hold expires, nobody takes the seats, the webhook
//     arrives: C's order is confirmed with late_payment reclaimed and tickets, the seats sold.
func TestOrdersLatePayment(t *testing.T) {
	skipShort(t, "the late payment test behind nginx")
	o := oxDeployment(t, 3, true, map[string]string{"BOXOFFICE_HOLD_TTL": "2s", "BOXOFFICE_PAYMENT_GRACE": "10m"})
	lb := o.lb.inst(0)
	sc := o.newScreening(t)
	seats := []string{"A1", "A2"}

	t.Run("double sale", func(t *testing.T) {
		a, b := signIn(t, lb).tk.AccessToken, signIn(t, lb).tk.AccessToken
		ha, oa := oxMustOrder(t, lb, a, sc.ID, testpay.TokenAsync, "pending", seats...)
		if oa.Payment.Status != "pending" || len(oa.Tickets) != 0 || oa.LatePayment != nil || oa.Refund != nil {
			t.Fatalf("an async order: %+v", oa)
		}
		if ended := oxAwaitHoldEnded(t, lb, a, ha.ID); ended.Status != "expired" {
			t.Fatalf("A's hold with a pending payment ended as %s, want expired", ended.Status)
		}
		if got := oxGet(t, lb, a, oa.ID); got.Status != "pending" {
			t.Fatalf("A's order reads %s once its hold expired, want pending (its payment may still arrive)", got.Status)
		}
		seatsAre(t, seatMap(t, lb, sc.ID), "available", seats...)

		_, ob := oxMustOrder(t, lb, b, sc.ID, testpay.TokenSuccess, "confirmed", seats...)
		if got := ob.ticketSeats("valid"); !slices.Equal(got, seats) || ob.LatePayment != nil {
			t.Fatalf("B's order: %+v", ob)
		}
		seatsAre(t, seatMap(t, lb, sc.ID), "sold", seats...)

		// A forged webhook is refused and changes nothing.
		expect(t, oxWebhook(t, lb, "not-the-secret", "evt_forged", testpay.EventSucceeded, oa.Payment.ID), 400, "invalid_signature")
		if got := oxGet(t, lb, a, oa.ID); got.Status != "pending" {
			t.Fatalf("A's order reads %s after a forged webhook", got.Status)
		}

		// A's money arrives late: refunded.
		r := oxWebhook(t, lb, oxWebhookSecret, "evt_a_late", testpay.EventSucceeded, oa.Payment.ID)
		expect(t, r, 200, "")
		var ack oxWebhookAck
		r.decode(t, &ack)
		if !ack.Received || ack.OrderID != oa.ID || ack.OrderStatus != "refunded" {
			t.Fatalf("webhook answered %s, want A's order %s refunded", r.body, oa.ID)
		}
		got := oxAwaitOrder(t, lb, a, oa.ID, "refunded with its refund sent", func(x oxOrder) bool {
			return x.Refund != nil && x.Refund.Status == "succeeded"
		})
		if got.Status != "refunded" || got.late() != "refunded" || got.Payment.Status != "succeeded" || len(got.Tickets) != 0 ||
			got.Refund.Reason != "late_payment" || got.Refund.Amount != got.Total || got.Refund.CompletedAt == nil {
			t.Fatalf("A's order after its late payment: %+v (refund %+v)", got, got.Refund)
		}
		// The webhook again (the provider retries): the same answer, nothing more.
		r = oxWebhook(t, o.d.inst(1), oxWebhookSecret, "evt_a_late", testpay.EventSucceeded, oa.Payment.ID)
		expect(t, r, 200, "")
		r.decode(t, &ack)
		if ack.OrderStatus != "refunded" {
			t.Fatalf("the webhook again: %s", r.body)
		}

		// B keeps the seats; each is sold once.
		if got := oxGet(t, lb, b, ob.ID); got.Status != "confirmed" || !slices.Equal(got.ticketSeats("valid"), seats) {
			t.Fatalf("B's order after A's late payment: %+v", got)
		}
		seatsAre(t, seatMap(t, lb, sc.ID), "sold", seats...)
		want := fmt.Sprint(seatsOf(ob.ID, seats...))
		if got := o.soldTo(t, sc.ID); fmt.Sprint(got) != want {
			t.Fatalf("seat_claims: sold %v, want %s", got, want)
		}
		if got := o.validTickets(t, sc.ID); fmt.Sprint(got) != want {
			t.Fatalf("valid tickets %v, want %s", got, want)
		}
		if n := o.count(t, `SELECT count(*) FROM refunds WHERE order_id = $1 AND reason = 'late_payment'`, oa.ID); n != 1 {
			t.Fatalf("%d late-payment refunds for A's order, want 1", n)
		}
		rep := o.d.inst(2).do(t, "GET", "/v1/admin/screenings/"+sc.ID+"/refunds", o.admin, nil)
		expect(t, rep, 200, "")
		var report oxRefundReport
		rep.decode(t, &report)
		if len(report.Refunds) != 1 || report.Refunds[0].OrderID != oa.ID || report.Refunds[0].Reason != "late_payment" ||
			report.Total != oa.Total || report.Pending != 0 {
			t.Fatalf("refund report: %s", rep.body)
		}
		o.mustHoldInvariants(t, "after the double sale")
	})

	t.Run("reclaim", func(t *testing.T) {
		c := signIn(t, lb).tk.AccessToken
		free := []string{"B1", "B2"}
		hc, oc := oxMustOrder(t, lb, c, sc.ID, testpay.TokenAsync, "pending", free...)
		if ended := oxAwaitHoldEnded(t, lb, c, hc.ID); ended.Status != "expired" {
			t.Fatalf("C's hold ended as %s, want expired", ended.Status)
		}
		seatsAre(t, seatMap(t, lb, sc.ID), "available", free...)
		r := oxWebhook(t, lb, oxWebhookSecret, "evt_c_late", testpay.EventSucceeded, oc.Payment.ID)
		expect(t, r, 200, "")
		var ack oxWebhookAck
		r.decode(t, &ack)
		if ack.OrderID != oc.ID || ack.OrderStatus != "confirmed" {
			t.Fatalf("webhook answered %s, want C's order %s confirmed", r.body, oc.ID)
		}
		got := oxGet(t, o.d.inst(1), c, oc.ID)
		if got.Status != "confirmed" || got.late() != "reclaimed" || got.Payment.Status != "succeeded" ||
			!slices.Equal(got.ticketSeats("valid"), free) || got.Refund != nil {
			t.Fatalf("C's order after its late payment: %+v", got)
		}
		seatsAre(t, seatMap(t, lb, sc.ID), "sold", free...)
		want := fmt.Sprint(seatsOf(oc.ID, free...))
		var mine []string
		for _, s := range o.soldTo(t, sc.ID) {
			if s[:1] == "B" {
				mine = append(mine, s)
			}
		}
		if fmt.Sprint(mine) != want {
			t.Fatalf("seat_claims: row B sold %v, want %s", mine, want)
		}
		o.mustHoldInvariants(t, "after the reclaim")
	})
}

// TestOrdersJanitorExpiresUnpaid: an async order nobody pays is settled by the janitor once its
// deadline and BOXOFFICE_PAYMENT_GRACE (1 s) have passed: expired, its payment cancelled, no
// tickets, the seats available (polled, bounded by the guard). A success the provider reports
// after that still ends in tickets (the seats are free: reclaimed), as the state machine says.
func TestOrdersJanitorExpiresUnpaid(t *testing.T) {
	o := oxDeployment(t, 2, false, map[string]string{"BOXOFFICE_HOLD_TTL": "2s", "BOXOFFICE_PAYMENT_GRACE": "1s",
		"BOXOFFICE_JANITOR_INTERVAL": "200ms"})
	c0, c1 := o.d.inst(0), o.d.inst(1)
	sc := o.newScreening(t)
	u := signIn(t, c0).tk.AccessToken
	seats := []string{"E1", "E2", "E3"}
	_, ord := oxMustOrder(t, c0, u, sc.ID, testpay.TokenAsync, "pending", seats...)
	got := oxAwaitOrder(t, c1, u, ord.ID, "settled", func(x oxOrder) bool { return x.Status != "pending" })
	if got.Status != "expired" || got.Payment.Status != "cancelled" || len(got.Tickets) != 0 || got.Refund != nil || got.LatePayment != nil {
		t.Fatalf("an unpaid async order was settled as %+v", got)
	}
	seatsAre(t, seatMap(t, c0, sc.ID), "available", seats...)
	if sold := o.soldTo(t, sc.ID); len(sold) != 0 {
		t.Fatalf("seats sold: %v", sold)
	}
	// The list of the user's orders shows it.
	r := c1.do(t, "GET", "/v1/orders", u, nil)
	expect(t, r, 200, "")
	var page struct {
		Items []oxOrder `json:"items"`
	}
	r.decode(t, &page)
	if len(page.Items) != 1 || page.Items[0].ID != ord.ID || page.Items[0].Status != "expired" {
		t.Fatalf("GET /v1/orders: %s", r.body)
	}
	o.mustHoldInvariants(t, "after the janitor expired the order")

	// The provider changes its mind: the money is there, the seats are free.
	w := oxWebhook(t, c1, oxWebhookSecret, "evt_after_expiry", testpay.EventSucceeded, ord.Payment.ID)
	expect(t, w, 200, "")
	got = oxGet(t, c0, u, ord.ID)
	if got.Status != "confirmed" || got.late() != "reclaimed" || !slices.Equal(got.ticketSeats("valid"), seats) {
		t.Fatalf("a success after the order expired: %+v", got)
	}
	o.mustHoldInvariants(t, "after a success for an expired order")
}

// TestOrdersProviderOutage: the provider cannot be reached for one order (token test_error):
// 503 with Retry-After, the order pending and its key in flight (a retry at once: 409
// idempotency_key_in_flight). Past its deadline and grace the janitor settles it (its payment
// cancelled at the provider, whose outage is over by then: expired), and another user's unpaid
// async order, placed after it, expires too. Once its lease has ended, the client's retry of the
// key, honouring Retry-After, takes the order over and gets one final answer: the order as it is
// (201, expired), replayed as such afterwards; the hold has one order.
func TestOrdersProviderOutage(t *testing.T) {
	o := oxDeployment(t, 1, false, map[string]string{"BOXOFFICE_HOLD_TTL": "2s", "BOXOFFICE_PAYMENT_GRACE": "1s",
		"BOXOFFICE_JANITOR_INTERVAL": "200ms"})
	c := o.d.inst(0)
	sc := o.newScreening(t)
	x, y := signIn(t, c).tk.AccessToken, signIn(t, c).tk.AccessToken

	var hx tkHold
	key := oxKey()
	for attempt := 1; ; attempt++ {
		hx = mustHold(t, c, x, sc.ID, "A1", "A2")
		r := oxPlace(t, c, x, key, hx.ID, testpay.TokenError)
		if r.status == 410 && attempt < 5 { // too slow for a 2 s hold: refused, nothing stored
			continue
		}
		expect(t, r, 503, "service_unavailable")
		break
	}
	r := oxPlace(t, c, x, key, hx.ID, testpay.TokenError)
	expect(t, r, 409, "idempotency_key_in_flight")
	if _, err := oxRetryAfter(r); err != nil {
		t.Fatal(err)
	}
	_, oy := oxMustOrder(t, c, y, sc.ID, testpay.TokenAsync, "pending", "B1", "B2")

	// X's order, read through the list of X's orders (the 503 named none).
	lr := c.do(t, "GET", "/v1/orders", x, nil)
	expect(t, lr, 200, "")
	var page struct {
		Items []oxOrder `json:"items"`
	}
	lr.decode(t, &page)
	if len(page.Items) != 1 || page.Items[0].HoldID != hx.ID || page.Items[0].Status != "pending" {
		t.Fatalf("X's orders during the outage: %s", lr.body)
	}
	ox := page.Items[0]
	gotX := oxAwaitOrder(t, c, x, ox.ID, "settled", func(v oxOrder) bool { return v.Status != "pending" })
	gotY := oxAwaitOrder(t, c, y, oy.ID, "settled", func(v oxOrder) bool { return v.Status != "pending" })
	if gotX.Status != "expired" || gotX.Payment.Status != "cancelled" || gotY.Status != "expired" || gotY.Payment.Status != "cancelled" {
		t.Fatalf("settled: the outage order %s/%s, the async order %s/%s", gotX.Status, gotX.Payment.Status, gotY.Status, gotY.Payment.Status)
	}
	seatsAre(t, seatMap(t, c, sc.ID), "available", "A1", "A2", "B1", "B2")

	body, _ := json.Marshal(oxBody(hx.ID, testpay.TokenError))
	hc := pooledClient(t, 2)
	res, err := oxRetry(t, hc, func(int) *client { return c }, x, key, body, 3*oxLeaseSeconds) // Retry-After is 1 s: outlast the lease
	if err != nil {
		t.Fatal(err)
	}
	final := oxCreated(t, res.final, hx.ID, "expired")
	if final.ID != ox.ID || final.Payment.Status != "cancelled" || len(final.Tickets) != 0 {
		t.Fatalf("the key's final answer after %d attempts: %s", res.attempts, res.final.body)
	}
	again := oxPlace(t, c, x, key, hx.ID, testpay.TokenError)
	expect(t, again, 201, "")
	if again.header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(again.body, res.final.body) {
		t.Fatalf("the key once more: %q %s", again.header.Get("Idempotent-Replayed"), again.body)
	}
	if n := o.count(t, `SELECT count(*) FROM orders WHERE hold_id = $1`, hx.ID); n != 1 {
		t.Fatalf("%d orders for X's hold, want 1", n)
	}
	o.mustHoldInvariants(t, "after the outage")
}
