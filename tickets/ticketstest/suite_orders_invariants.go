package ticketstest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"boxoffice/tickets"
)

// wantOrderInvariants checks, through the Store interface only, what every order case must
// leave behind at the given screenings, all of whose orders belong to users:
//
//   - Orders lists every order as Order reads it, newest first.
//   - Every sold seat is in the SeatIDs of exactly one confirmed order.
//   - Every confirmed order's seats are all sold, and it has one valid ticket per seat, in
//     seat order, a succeeded payment and no refund; ticket IDs and codes are unique.
//   - A cancelled order has a void ticket per seat; a refunded one (a late payment) none and
//     LatePayment refunded; both have a refund, of the whole payment. A pending, declined or
//     expired order has neither tickets nor a refund.
//   - Refunds lists exactly the refunds of the screening's orders, oldest first, as the
//     orders carry them.
func wantOrderInvariants(t *testing.T, s tickets.Store, why string, screeningIDs []string, users ...customer) {
	t.Helper()
	byScreening := map[string][]tickets.Order{}
	for _, u := range users {
		for _, o := range allOrders(t, s, u.user) {
			if o.UserID != u.user {
				t.Fatalf("%s: Orders(user %s) lists order %s of user %s", why, u.user, o.ID, o.UserID)
			}
			wantSameOrder(t, getOrder(t, s, o.ID), o, why+": order "+o.ID+" as Orders lists it and as Order reads it")
			byScreening[o.ScreeningID] = append(byScreening[o.ScreeningID], o)
		}
	}
	ticketIDs, codes := map[string]string{}, map[string]string{}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	for _, scrID := range screeningIDs {
		a := availability(t, s, scrID)
		soldTo := map[string]string{} // seat → confirmed order
		refunded := map[string]tickets.Order{}
		for _, o := range byScreening[scrID] {
			if !slices.IsSorted(o.SeatIDs) || len(o.SeatIDs) == 0 {
				bad("order %s: SeatIDs %v, want the hold's seats, sorted", o.ID, o.SeatIDs)
			}
			for _, tk := range o.Tickets {
				if tk.ID == "" || tk.Code == "" {
					bad("order %s: ticket %+v without an ID or a code", o.ID, tk)
				}
				if prev, ok := ticketIDs[tk.ID]; ok {
					bad("ticket ID %s is used by orders %s and %s", tk.ID, prev, o.ID)
				}
				if prev, ok := codes[tk.Code]; ok {
					bad("ticket code %s is used by orders %s and %s", tk.Code, prev, o.ID)
				}
				ticketIDs[tk.ID], codes[tk.Code] = o.ID, o.ID
			}
			if o.Refund != nil {
				refunded[o.Refund.ID] = o
				rf := o.Refund
				if rf.ID != tickets.RefundID(o.ID) || rf.OrderID != o.ID || rf.ScreeningID != o.ScreeningID ||
					rf.PaymentID != o.Payment.ID || rf.Method != o.Payment.Method || rf.Amount != o.Total ||
					(rf.Status != tickets.RefundPending && rf.Status != tickets.RefundSucceeded) ||
					rf.CreatedAt.IsZero() || rf.CompletedAt.IsZero() != (rf.Status == tickets.RefundPending) {
					bad("order %s: refund %+v is not a refund of the order's whole payment", o.ID, *rf)
				}
			}
			switch o.Status {
			case tickets.OrderConfirmed:
				for _, seat := range o.SeatIDs {
					if prev, ok := soldTo[seat]; ok {
						bad("seat %s is in two confirmed orders, %s and %s", seat, prev, o.ID)
					}
					soldTo[seat] = o.ID
					if c, ok := a.Taken[seat]; !ok || c.State != tickets.Sold {
						bad("confirmed order %s: seat %s is %v, want sold", o.ID, seat, stateOf(a, seat))
					}
				}
				if !ticketsFor(o, tickets.TicketValid) {
					bad("confirmed order %s: tickets %+v, want one valid ticket per seat of %v, in seat order", o.ID, o.Tickets, o.SeatIDs)
				}
				if o.Payment.Status != tickets.PaymentSucceeded || o.Refund != nil ||
					(o.LatePayment != "" && o.LatePayment != tickets.LateReclaimed) {
					bad("confirmed order %s: payment %q, late %q, refund %v; want succeeded, \"\" or %q, none",
						o.ID, o.Payment.Status, o.LatePayment, o.Refund, tickets.LateReclaimed)
				}
			case tickets.OrderCancelled:
				if !ticketsFor(o, tickets.TicketVoid) {
					bad("cancelled order %s: tickets %+v, want one void ticket per seat of %v", o.ID, o.Tickets, o.SeatIDs)
				}
				if o.Payment.Status != tickets.PaymentSucceeded || o.Refund == nil ||
					(o.Refund.Reason != tickets.RefundCustomer && o.Refund.Reason != tickets.RefundScreening) {
					bad("cancelled order %s: payment %q, refund %v; want succeeded and a refund for a cancellation", o.ID, o.Payment.Status, o.Refund)
				}
			case tickets.OrderRefunded:
				if len(o.Tickets) != 0 || o.Payment.Status != tickets.PaymentSucceeded || o.LatePayment != tickets.LateRefunded ||
					o.Refund == nil || o.Refund.Reason != tickets.RefundLate {
					bad("refunded order %s: tickets %v, payment %q, late %q, refund %v; want no tickets, succeeded, %q, a %q refund",
						o.ID, o.Tickets, o.Payment.Status, o.LatePayment, o.Refund, tickets.LateRefunded, tickets.RefundLate)
				}
			case tickets.OrderPending, tickets.OrderDeclined, tickets.OrderExpired:
				if len(o.Tickets) != 0 || o.Refund != nil || o.LatePayment != "" || o.Payment.Status == tickets.PaymentSucceeded {
					bad("%s order %s: tickets %v, refund %v, late %q, payment %q; want none, none, \"\", not succeeded",
						o.Status, o.ID, o.Tickets, o.Refund, o.LatePayment, o.Payment.Status)
				}
			default:
				bad("order %s has status %q", o.ID, o.Status)
			}
		}
		for seat, c := range a.Taken {
			if c.State == tickets.Sold && soldTo[seat] == "" {
				bad("seat %s at screening %s is sold, but no confirmed order has it", seat, scrID)
			}
		}
		list, err := s.Refunds(t.Context(), scrID)
		if err != nil {
			t.Fatalf("%s: Refunds(%s): %v", why, scrID, err)
		}
		listed := map[string]bool{}
		for i, rf := range list {
			o, ok := refunded[rf.ID]
			switch {
			case listed[rf.ID]:
				bad("Refunds(%s) lists %s twice", scrID, rf.ID)
			case !ok:
				bad("Refunds(%s) lists %+v, which no order of the screening carries", scrID, rf)
			case !sameRefund(&rf, o.Refund):
				bad("Refunds(%s) lists %+v, but order %s carries %+v", scrID, rf, o.ID, *o.Refund)
			}
			listed[rf.ID] = true
			if i > 0 && refundBefore(rf, list[i-1]) {
				bad("Refunds(%s): %s listed after %s; want oldest first by (CreatedAt, ID)", scrID, rf.ID, list[i-1].ID)
			}
		}
		for id, o := range refunded {
			if !listed[id] {
				bad("order %s carries refund %s, which Refunds(%s) does not list", o.ID, id, scrID)
			}
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		t.Fatalf("%s: order invariants:\n\t%s", why, strings.Join(problems, "\n\t"))
	}
}

// ticketsFor reports whether o has one ticket of status per seat, in seat order.
func ticketsFor(o tickets.Order, status string) bool {
	if len(o.Tickets) != len(o.SeatIDs) {
		return false
	}
	for i, tk := range o.Tickets {
		if tk.SeatID != o.SeatIDs[i] || tk.Status != status {
			return false
		}
	}
	return true
}

func refundBefore(a, b tickets.Refund) bool {
	if !a.CreatedAt.Equal(b.CreatedAt) {
		return a.CreatedAt.Before(b.CreatedAt)
	}
	return a.ID < b.ID
}

func stateOf(a tickets.Availability, seat string) string {
	if c, ok := a.Taken[seat]; ok {
		return describe(c)
	}
	return string(tickets.Available)
}
