package api

import (
	"time"

	"boxoffice/tickets"
)

// The JSON representations of orders, their tickets and refunds (see ticket_views.go for the
// conventions: UTC RFC 3339 times, money in minor units). What may be absent is null, never
// missing.

type paymentView struct {
	ID     string `json:"id"`
	Method string `json:"method"`
	Status string `json:"status"`
}

// ticketView is a ticket; code is the secret its QR code carries.
type ticketView struct {
	ID     string `json:"id"`
	SeatID string `json:"seat_id"`
	Code   string `json:"code"`
	Status string `json:"status"`
}

// refundView is a refund as its order shows it; completed_at is null while it is pending.
type refundView struct {
	ID          string     `json:"id"`
	Amount      moneyView  `json:"amount"`
	Reason      string     `json:"reason"`
	Status      string     `json:"status"`
	CreatedAt   time.Time  `json:"created_at"`
	CompletedAt *time.Time `json:"completed_at"`
}

func viewRefund(r tickets.Refund) refundView {
	v := refundView{ID: r.ID, Amount: viewMoney(r.Amount), Reason: r.Reason, Status: r.Status,
		CreatedAt: r.CreatedAt.UTC()}
	if !r.CompletedAt.IsZero() {
		at := r.CompletedAt.UTC()
		v.CompletedAt = &at
	}
	return v
}

// orderView is an order: its payment, its tickets (none until it is confirmed) and its refund
// (null unless refunded). late_payment is null for a payment that arrived in time.
type orderView struct {
	ID              string       `json:"id"`
	Status          string       `json:"status"`
	ScreeningID     string       `json:"screening_id"`
	HoldID          string       `json:"hold_id"`
	SeatIDs         []string     `json:"seat_ids"`
	Total           moneyView    `json:"total"`
	LatePayment     *string      `json:"late_payment"`
	Payment         paymentView  `json:"payment"`
	PaymentDeadline time.Time    `json:"payment_deadline"`
	Tickets         []ticketView `json:"tickets"`
	Refund          *refundView  `json:"refund"`
	CreatedAt       time.Time    `json:"created_at"`
	UpdatedAt       time.Time    `json:"updated_at"`
}

func viewOrder(o tickets.Order) orderView {
	v := orderView{ID: o.ID, Status: o.Status, ScreeningID: o.ScreeningID, HoldID: o.HoldID,
		SeatIDs: o.SeatIDs, Total: viewMoney(o.Total),
		Payment:         paymentView{ID: o.Payment.ID, Method: o.Payment.Method, Status: o.Payment.Status},
		PaymentDeadline: o.PaymentDeadline.UTC(), Tickets: make([]ticketView, 0, len(o.Tickets)),
		CreatedAt: o.CreatedAt.UTC(), UpdatedAt: o.UpdatedAt.UTC()}
	if v.SeatIDs == nil {
		v.SeatIDs = []string{}
	}
	if o.LatePayment != "" {
		late := o.LatePayment
		v.LatePayment = &late
	}
	for _, t := range o.Tickets {
		v.Tickets = append(v.Tickets, ticketView{ID: t.ID, SeatID: t.SeatID, Code: t.Code, Status: t.Status})
	}
	if o.Refund != nil {
		r := viewRefund(*o.Refund)
		v.Refund = &r
	}
	return v
}

// webhookView acknowledges a payment webhook with the order's status after it.
type webhookView struct {
	Received    bool   `json:"received"`
	OrderID     string `json:"order_id"`
	OrderStatus string `json:"order_status"`
}

// reportRefundView is a refund in a screening's report: its refund and its order.
type reportRefundView struct {
	ID          string     `json:"id"`
	OrderID     string     `json:"order_id"`
	Amount      moneyView  `json:"amount"`
	Reason      string     `json:"reason"`
	Status      string     `json:"status"`
	CreatedAt   time.Time  `json:"created_at"`
	CompletedAt *time.Time `json:"completed_at"`
}

// refundReportView sums up a screening's refunds: total is of every refund, pending or not;
// pending counts those the provider has not confirmed.
type refundReportView struct {
	ScreeningID string             `json:"screening_id"`
	Refunds     []reportRefundView `json:"refunds"`
	Total       moneyView          `json:"total"`
	Pending     int                `json:"pending"`
}

func viewRefundReport(r tickets.RefundReport) refundReportView {
	v := refundReportView{ScreeningID: r.ScreeningID, Refunds: make([]reportRefundView, 0, len(r.Refunds)),
		Total: viewMoney(r.Total), Pending: r.Pending}
	for _, rf := range r.Refunds {
		rv := viewRefund(rf)
		v.Refunds = append(v.Refunds, reportRefundView{ID: rv.ID, OrderID: rf.OrderID, Amount: rv.Amount,
			Reason: rv.Reason, Status: rv.Status, CreatedAt: rv.CreatedAt, CompletedAt: rv.CompletedAt})
	}
	return v
}

func viewMoney(m tickets.Money) moneyView { return moneyView{Amount: m.Amount, Currency: m.Currency} }
