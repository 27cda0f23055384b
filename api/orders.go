package api

import (
	"errors"
	"regexp"

	"github.com/gofiber/fiber/v2"

	"boxoffice/tickets"
)

// orderID is the shape of an order id in paths (see the other generated ids in catalogue.go).
var orderID = regexp.MustCompile(`^order_[a-z2-7]{25}[aeimquy4]$`)

// errPaymentDeclined is matched by *declinedError: the answer to an order whose payment was
// declined (problemTable: 402 payment_declined, with the order's id). orderReply renders it
// into the order's stored reply; no handler returns it.
var errPaymentDeclined = errors.New("payment declined")

type declinedError struct{ orderID string }

func (e *declinedError) Error() string   { return "payment declined for order " + e.orderID }
func (e *declinedError) Is(t error) bool { return t == errPaymentDeclined }

// handleCreateOrder pays for one of the caller's holds under the request's Idempotency-Key
// (tickets.Service.PlaceOrder): the body names the hold ("hold_id") and the payment
// ("payment": {"method", "token"}). The answer is the one stored with the key (orderReply):
// 201 with the order and its Location, or 402 payment_declined naming the order; a retry
// with the same key and body gets it again, byte for byte, marked Idempotent-Replayed: true.
//
// Refusals, which store nothing: 400 idempotency_key_missing or invalid_idempotency_key
// (checked first), the body's 400/415/422, 404 (no such hold, or another user's), 410
// hold_expired, 409 order_exists (order_id), 422 idempotency_key_reused (the key was used
// for another request), 409 idempotency_key_in_flight (with Retry-After) and 503.
func handleCreateOrder(t *tickets.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		key, err := idempotencyKey(c)
		if err != nil {
			return err
		}
		b, err := readBody(c, "hold_id", "payment")
		if err != nil {
			return err
		}
		req := tickets.OrderRequest{HoldID: b.str("hold_id", true)}
		if req.HoldID != "" && !holdID.MatchString(req.HoldID) {
			b.fail("hold_id", "must be the id of one of your holds")
		}
		if p := b.object("payment", true, "method", "token"); p != nil {
			req.Method, req.Token = p.str("method", true), p.str("token", true)
		}
		if err := b.err(); err != nil {
			return err
		}
		reply, replayed, err := t.PlaceOrder(c.UserContext(), owner(c), key, req, orderReply(requestID(c)))
		if err != nil {
			return err
		}
		return sendReply(c, reply, replayed)
	}
}

// orderReply renders the answer stored with an order's idempotency key: 402 payment_declined
// for a declined order (the problem errorHandler would send, with this request's id), else
// 201 with the order, whatever its status (a pending order is confirmed or declined later;
// a retry that took over a crashed request may find it expired, refunded or cancelled).
func orderReply(requestID string) func(tickets.Order) tickets.Reply {
	return func(o tickets.Order) tickets.Reply {
		if o.Status == tickets.OrderDeclined {
			return storedProblem(&declinedError{orderID: o.ID}, requestID)
		}
		body, err := marshalJSON(viewOrder(o))
		if err != nil { // cannot happen: strings, numbers and times
			panic(err)
		}
		return tickets.Reply{Status: fiber.StatusCreated, ContentType: fiber.MIMEApplicationJSON,
			Location: "/v1/orders/" + o.ID, Body: body}
	}
}

// handleListOrders returns one page of the caller's orders, newest first.
func handleListOrders(t *tickets.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		q := newQuery(c)
		cursor, limit := q.page()
		if err := q.err(); err != nil {
			return err
		}
		list, next, err := t.Orders(c.UserContext(), owner(c), cursor, limit)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.MIMEApplicationJSON, viewPage(list, next, viewOrder))
	}
}

// handleGetOrder returns one of the caller's orders as it is now; another user's is 404.
func handleGetOrder(t *tickets.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := pathID(c, "id", orderID)
		if err != nil {
			return err
		}
		o, err := t.GetOrder(c.UserContext(), owner(c), id)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.MIMEApplicationJSON, viewOrder(o))
	}
}

// handleCancelOrder cancels one of the caller's confirmed orders and refunds it in full: 200
// with the order (cancelled, its tickets void, its refund); cancelling a cancelled order
// answers it again. 409 cancellation_closed within the cut-off before the screening, 409
// order_not_cancellable for an order that is not confirmed, 404 for another user's.
func handleCancelOrder(t *tickets.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := pathID(c, "id", orderID)
		if err != nil {
			return err
		}
		o, err := t.CancelOrder(c.UserContext(), owner(c), id)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.MIMEApplicationJSON, viewOrder(o))
	}
}
