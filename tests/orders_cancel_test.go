package tests

import (
	"slices"
	"testing"
	"time"

	"boxoffice/tickets/testpay"
)

// TestOrdersCancellation: three instances behind the reference nginx (BOXOFFICE_CANCEL_CUTOFF
// at its default, 2 h), and a fourth over the same database and Redis whose application clock
// runs 2 h ahead (BOXOFFICE_CLOCK_OFFSET=2h): the cut-off is judged on the application clock.
//
//   - a screening starting in 3 h: an order cancelled through an instance without offset is
//     refunded (200 cancelled, a customer_cancelled refund of the whole amount, the tickets
//     void), and its seats are available again (the seat map; another user holds and buys them);
//     cancelling again answers the same;
//   - that second order, cancelled through the instance 2 h ahead: 409 cancellation_closed,
//     nothing changes; through an instance without offset it is still cancellable (the clock
//     made the difference);
//   - an administrator cancels a screening with two confirmed orders (and a pending async one):
//     both are cancelled and refunded (GET /v1/orders/{id}, and the refund report lists them),
//     their seats are available; the pending payment, arriving later, is refunded.
func TestOrdersCancellation(t *testing.T) {
	skipShort(t, "the cancellation test behind nginx")
	o := oxDeployment(t, 3, true, nil)
	lb := o.lb.inst(0)
	c0, c1 := o.d.inst(0), o.d.inst(1)
	ahead := o.extra(t, 1, map[string]string{"BOXOFFICE_CLOCK_OFFSET": "2h"}).inst(0)

	r := o.createScreening(t, time.Now().Add(3*time.Hour).Truncate(time.Minute))
	expect(t, r, 201, "")
	var sc tkScreening
	r.decode(t, &sc)
	seats := []string{"A1", "A2"}

	// Before the cut-off: refunded, the seats available.
	u := signIn(t, lb).tk.AccessToken
	_, ou := oxMustOrder(t, lb, u, sc.ID, testpay.TokenSuccess, "confirmed", seats...)
	r = c0.do(t, "POST", "/v1/orders/"+ou.ID+"/cancel", u, nil)
	expect(t, r, 200, "")
	var cancelled oxOrder
	r.decode(t, &cancelled)
	if cancelled.ID != ou.ID || cancelled.Status != "cancelled" || cancelled.Refund == nil ||
		cancelled.Refund.Reason != "customer_cancelled" || cancelled.Refund.Amount != ou.Total ||
		len(cancelled.ticketSeats("void")) != len(seats) || len(cancelled.ticketSeats("valid")) != 0 {
		t.Fatalf("cancelled before the cut-off: %s", r.body)
	}
	seatsAre(t, seatMap(t, c1, sc.ID), "available", seats...)
	again := c1.do(t, "POST", "/v1/orders/"+ou.ID+"/cancel", u, nil)
	expect(t, again, 200, "")
	var twice oxOrder
	again.decode(t, &twice)
	if twice.Status != "cancelled" || twice.Refund == nil || twice.Refund.ID != cancelled.Refund.ID {
		t.Fatalf("cancelled twice: %s", again.body)
	}
	oxAwaitOrder(t, lb, u, ou.ID, "refunded by the provider", func(x oxOrder) bool {
		return x.Status == "cancelled" && x.Refund != nil && x.Refund.Status == "succeeded" && x.Refund.CompletedAt != nil
	})

	// Another user buys the same seats; cancelling it from the instance 2 h ahead is too late.
	name, pw := newUser(t, lb)
	v := login(t, lb, name, pw).AccessToken
	_, ov := oxMustOrder(t, lb, v, sc.ID, testpay.TokenSuccess, "confirmed", seats...)
	vAhead := login(t, ahead, name, pw).AccessToken // a session of the same user, valid on that clock
	expect(t, ahead.do(t, "POST", "/v1/orders/"+ov.ID+"/cancel", vAhead, nil), 409, "cancellation_closed")
	if got := oxGet(t, ahead, vAhead, ov.ID); got.Status != "confirmed" || got.Refund != nil || !slices.Equal(got.ticketSeats("valid"), seats) {
		t.Fatalf("after a refused cancellation: %+v", got)
	}
	seatsAre(t, seatMap(t, c0, sc.ID), "sold", seats...)
	o.mustHoldInvariants(t, "after a refused cancellation")
	r = c1.do(t, "POST", "/v1/orders/"+ov.ID+"/cancel", v, nil)
	expect(t, r, 200, "")
	var vc oxOrder
	r.decode(t, &vc)
	if vc.Status != "cancelled" || vc.Refund == nil {
		t.Fatalf("the same order cancelled through an instance without offset: %s", r.body)
	}
	seatsAre(t, seatMap(t, c0, sc.ID), "available", seats...)

	// An administrator cancels a screening with two confirmed orders and a pending one.
	sc2 := o.newScreening(t)
	w, x, z := signIn(t, lb).tk.AccessToken, signIn(t, lb).tk.AccessToken, signIn(t, lb).tk.AccessToken
	_, ow := oxMustOrder(t, lb, w, sc2.ID, testpay.TokenSuccess, "confirmed", "A1", "A2")
	_, ox := oxMustOrder(t, lb, x, sc2.ID, testpay.TokenSuccess, "confirmed", "B1", "B2", "B3", "B4")
	_, oz := oxMustOrder(t, lb, z, sc2.ID, testpay.TokenAsync, "pending", "E1", "E2", "E3")
	seatsAre(t, seatMap(t, c0, sc2.ID), "sold", "A1", "A2", "B1", "B2", "B3", "B4")
	expect(t, c1.do(t, "POST", "/v1/admin/screenings/"+sc2.ID+"/cancel", o.admin, nil), 204, "")
	for _, b := range []struct {
		token string
		order oxOrder
	}{{w, ow}, {x, ox}} {
		got := oxAwaitOrder(t, lb, b.token, b.order.ID, "cancelled and refunded", func(x oxOrder) bool {
			return x.Refund != nil && x.Refund.Status == "succeeded"
		})
		if got.Status != "cancelled" || got.Refund.Reason != "screening_cancelled" || got.Refund.Amount != b.order.Total ||
			len(got.ticketSeats("valid")) != 0 || len(got.ticketSeats("void")) != len(b.order.SeatIDs) {
			t.Fatalf("an order of the cancelled screening: %+v (refund %+v)", got, got.Refund)
		}
		lr := c0.do(t, "GET", "/v1/orders", b.token, nil)
		expect(t, lr, 200, "")
		var page struct {
			Items []oxOrder `json:"items"`
		}
		lr.decode(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID != b.order.ID || page.Items[0].Status != "cancelled" {
			t.Fatalf("GET /v1/orders of a buyer: %s", lr.body)
		}
	}
	m := seatMap(t, c1, sc2.ID)
	seatsAre(t, m, "available", "A1", "A2", "B1", "B2", "B3", "B4")
	if sold := o.soldTo(t, sc2.ID); len(sold) != 0 {
		t.Fatalf("seats still sold at the cancelled screening: %v", sold)
	}
	if tk := o.validTickets(t, sc2.ID); len(tk) != 0 {
		t.Fatalf("valid tickets at the cancelled screening: %v", tk)
	}
	if got := oxGet(t, lb, z, oz.ID); got.Status != "pending" {
		t.Fatalf("a pending order of the cancelled screening reads %s, want pending until its payment ends", got.Status)
	}
	expect(t, lb.do(t, "POST", "/v1/orders/"+oz.ID+"/cancel", z, nil), 409, "order_not_cancellable")
	// The pending payment succeeds: the screening is cancelled, so it is refunded.
	wr := oxWebhook(t, lb, oxWebhookSecret, "evt_z", testpay.EventSucceeded, oz.Payment.ID)
	expect(t, wr, 200, "")
	gz := oxGet(t, c0, z, oz.ID)
	if gz.Status != "refunded" || gz.late() != "refunded" || gz.Refund == nil || len(gz.ticketSeats("valid")) != 0 {
		t.Fatalf("a payment for a cancelled screening: %+v", gz)
	}

	// The refund report lists the two cancelled orders (and the late payment), all sent.
	var report oxRefundReport
	deadline := time.Now().Add(guard)
	for {
		rr := c0.do(t, "GET", "/v1/admin/screenings/"+sc2.ID+"/refunds", o.admin, nil)
		expect(t, rr, 200, "")
		rr.decode(t, &report)
		if report.Pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("refunds still pending after %s: %s", guard, rr.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	reasons := map[string]string{}
	var total int64
	for _, rf := range report.Refunds {
		reasons[rf.OrderID] = rf.Reason
		total += rf.Amount.Amount
		if rf.Status != "succeeded" {
			t.Fatalf("refund report: %+v", report)
		}
	}
	if len(report.Refunds) != 3 || reasons[ow.ID] != "screening_cancelled" || reasons[ox.ID] != "screening_cancelled" ||
		reasons[oz.ID] != "late_payment" || report.ScreeningID != sc2.ID ||
		report.Total.Amount != total || total != ow.Total.Amount+ox.Total.Amount+oz.Total.Amount {
		t.Fatalf("refund report of the cancelled screening: %+v", report)
	}
	// Not for buyers.
	expect(t, lb.do(t, "GET", "/v1/admin/screenings/"+sc2.ID+"/refunds", w, nil), 403, "")
	o.mustHoldInvariants(t, "after the cancellations")
}
