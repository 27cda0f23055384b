package api

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/cors"
)

// corsPolicy lets the listed origins call the API from browsers, with credentials (cookies).
// Only listed origins are ever echoed in Access-Control-Allow-Origin; "*" is refused by the
// configuration, as credentials with a wildcard (or a reflected arbitrary origin) would let any
// site act as the user.
func corsPolicy(origins []string) fiber.Handler {
	return cors.New(cors.Config{
		AllowOrigins:     strings.Join(origins, ","),
		AllowCredentials: true,
		AllowMethods:     "GET,HEAD,POST,PUT,PATCH,DELETE",
		// traceparent and tracestate let a browser app's traces continue here (tracing on).
		AllowHeaders: "Authorization, Content-Type, Idempotency-Key, If-Match, If-None-Match, X-CSRF-Token, X-Request-Id, " +
			"traceparent, tracestate",
		ExposeHeaders: "ETag, Location, Retry-After, WWW-Authenticate, X-Request-Id, X-Trace-Id, " +
			"Session-Idle-Expires-At, Session-Absolute-Expires-At, Idempotent-Replayed",
		MaxAge: 600,
	})
}
