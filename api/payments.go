package api

import (
	"github.com/gofiber/fiber/v2"

	"boxoffice/audit"
	"boxoffice/tickets"
)

const (
	// headerSignature carries a payment webhook's signature ("t=<unix seconds>,v1=<hex>"; see
	// tickets/testpay).
	headerSignature = "Boxoffice-Signature"
	// maxWebhookBody bounds a webhook's body, below the server's body limit: events are small.
	maxWebhookBody = 64 << 10
)

// handlePaymentWebhook applies a payment provider's event (tickets.Service.PaymentWebhook):
// no credential but the signature of the raw body. 200 {received, order_id, order_status};
// applying an event again changes nothing and answers the same. 400 invalid_signature, 413
// over 64 KiB, 415 for a body that is not JSON, 422 for a signed body that is not an event,
// 404 for a payment that is not ours, 503.
func handlePaymentWebhook(t *tickets.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := requireJSON(c, fiber.MIMEApplicationJSON); err != nil {
			return err
		}
		raw := rawBody(c)
		if len(raw) > maxWebhookBody {
			return errBodyTooLarge
		}
		// The events this records (order paid, cancelled) are the buyer's: the provider's IP
		// and user agent are not theirs, and are left out.
		ctx := audit.WithRequest(c.UserContext(), audit.Request{RequestID: requestID(c), TraceID: traceID(c.UserContext())})
		o, err := t.PaymentWebhook(ctx, c.Get(headerSignature), raw)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.MIMEApplicationJSON, webhookView{Received: true, OrderID: o.ID, OrderStatus: o.Status})
	}
}

// handleRefundReport returns a screening's refunds, oldest first, with their total and how
// many the provider has not confirmed yet (administrators).
func handleRefundReport(t *tickets.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := pathID(c, "id", screeningID)
		if err != nil {
			return err
		}
		r, err := t.RefundReport(c.UserContext(), id)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.MIMEApplicationJSON, viewRefundReport(r))
	}
}
