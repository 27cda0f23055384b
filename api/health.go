package api

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"

	"boxoffice/session"
)

// handleHealthz answers 200 while the process serves HTTP (liveness).
func handleHealthz() fiber.Handler {
	return func(c *fiber.Ctx) error {
		return writeJSON(c, fiber.MIMEApplicationJSON, map[string]string{"status": "ok"})
	}
}

// handleReadyz answers 200 when Redis answers a PING within 500ms and the server is not
// draining, else 503 service_unavailable with Retry-After (readiness, for load balancers and
// rollouts). Any ping failure, a misconfigured password included, is a 503.
func handleReadyz(ping func(context.Context) error, draining *atomic.Bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if draining.Load() {
			return errDraining
		}
		ctx, cancel := context.WithTimeout(c.UserContext(), 500*time.Millisecond)
		defer cancel()
		if err := ping(ctx); err != nil {
			return fmt.Errorf("%w: readiness: %v", session.ErrUnavailable, err)
		}
		return writeJSON(c, fiber.MIMEApplicationJSON, map[string]string{"status": "ready"})
	}
}
