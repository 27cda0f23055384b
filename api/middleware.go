package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"boxoffice/audit"
	"boxoffice/auth"
)

// Keys of values a middleware leaves in c.Locals.
const (
	localRequestID = "boxoffice.request_id"
	localClaims    = "boxoffice.claims"
	localCookie    = "boxoffice.cookie"
)

// requestContext gives every request its id and a deadline: c.UserContext() is cancelled after
// timeout, so a slow Redis turns into a 503 instead of a hung request. The context also carries
// the request's circumstances for the audit events recorded under it (auditRequest: client IP,
// cleaned User-Agent, request id, trace id, computed only when an event needs them).
func requestContext(timeout time.Duration) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id := newRequestID(c.Get(fiber.HeaderXRequestID))
		c.Locals(localRequestID, id)
		c.Set(fiber.HeaderXRequestID, id)
		// From the request's span when traceRequests put one there (else Background).
		ctx, cancel := context.WithTimeout(c.UserContext(), timeout)
		defer cancel()
		ctx = audit.WithRequestSource(ctx, &auditRequest{c: c, ctx: ctx, id: id})
		c.SetUserContext(ctx)
		return c.Next()
	}
}

// newRequestID returns a request's id: header, the client's X-Request-Id, when it is a valid
// one (copied: the header's bytes are reused after the handler returns), else 24 random hex
// digits.
func newRequestID(header string) string {
	if validRequestID(header) {
		return strings.Clone(header)
	}
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func validRequestID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_' || ch == '.') {
			return false
		}
	}
	return true
}

func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals(localRequestID).(string)
	return id
}

// securityHeaders marks every response as uncacheable and not to be sniffed or framed: they
// carry tokens and personal data.
func securityHeaders() fiber.Handler {
	return func(c *fiber.Ctx) error {
		setSecurityHeaders(&c.Response().Header)
		return c.Next()
	}
}

// setSecurityHeaders sets the headers of securityHeaders on h. writeProblem sets them too, for
// the problems written before any middleware ran (fasthttp's, and unknown methods).
func setSecurityHeaders(h *fasthttp.ResponseHeader) {
	h.Set(fiber.HeaderCacheControl, "no-store")
	h.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	h.Set(fiber.HeaderXFrameOptions, "DENY")
	h.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	h.Set(fiber.HeaderContentSecurityPolicy, "default-src 'none'; frame-ancestors 'none'")
}

// accessLog logs each request at debug level, and failures at warn (4xx are logged by status
// only; 5xx causes are logged by the error handler), and counts it in obs (nil: not counted).
// One clock reading before and one after serve both.
func accessLog(log *slog.Logger, obs *httpObserver) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		err := c.Next()
		if err != nil {
			// Let the error handler write the response now so the status below is final.
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				return herr
			}
		}
		status := c.Response().StatusCode()
		elapsed := time.Since(start)
		obs.request(c, status, elapsed)
		level := slog.LevelDebug
		if status >= 500 {
			level = slog.LevelWarn
		}
		// Checked first: the arguments would be boxed (allocated) even for a disabled level.
		if ctx := c.UserContext(); log.Enabled(ctx, level) {
			log.Log(ctx, level, "request", "request_id", requestID(c), "method", c.Method(),
				"path", c.Path(), "status", status, "duration_ms", elapsed.Milliseconds())
		}
		return nil
	}
}

// authenticate verifies the request's access token (signature and claims only; the session
// itself is checked in Redis by the handler's single round trip) and stores its claims.
//
// One rule decides which credential counts: an Authorization header, when present, is the
// only credential and cookies are ignored entirely; otherwise the access cookie is. The two
// are never combined, so one user's cookie can never lend its session to another's bearer
// token. A state-changing request authenticated by cookie must also pass the Origin /
// Fetch-Metadata check and carry the session's CSRF token; a bearer request needs neither
// (browsers do not attach Authorization headers on their own).
func authenticate(tokens *auth.Tokens, jar cookieJar) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if h := c.Get(fiber.HeaderAuthorization); h != "" {
			scheme, tok, ok := strings.Cut(h, " ")
			if !ok || !strings.EqualFold(scheme, "Bearer") {
				return auth.ErrTokenInvalid
			}
			claims, err := tokens.Verify(strings.TrimSpace(tok))
			if err != nil {
				return err
			}
			c.Locals(localClaims, claims)
			return c.Next()
		}
		tok := jar.accessToken(c)
		if tok == "" {
			return errMissingToken
		}
		claims, err := tokens.Verify(tok)
		if err != nil {
			return err
		}
		if unsafeMethod(c.Method()) {
			if err := jar.checkOrigin(c); err != nil {
				return err
			}
			if err := jar.checkCSRF(c, claims.SessionID); err != nil {
				return err
			}
		}
		c.Locals(localClaims, claims)
		c.Locals(localCookie, true)
		return c.Next()
	}
}

// viaCookie reports whether the request was authenticated by the access cookie.
func viaCookie(c *fiber.Ctx) bool {
	v, _ := c.Locals(localCookie).(bool)
	return v
}

// claims returns the verified access-token claims stored by authenticate.
func claims(c *fiber.Ctx) auth.Claims {
	cl, _ := c.Locals(localClaims).(auth.Claims)
	return cl
}
