package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"boxoffice/audit"
	"boxoffice/auth"
	"boxoffice/metrics"
	"boxoffice/session"
	"boxoffice/tickets"
	"boxoffice/tickets/live"
)

// countedOperations names the business operations counted by outcome in
// boxoffice_operations_total, by "METHOD /route/template". A test checks that each names a
// route.
var countedOperations = map[string]string{
	"POST /v1/users":                           "register",
	"POST /v1/auth/login":                      "login",
	"POST /v1/auth/refresh":                    "refresh",
	"POST /v1/auth/logout":                     "logout",
	"POST /v1/auth/logout-all":                 "logout_all",
	"POST /v1/auth/password":                   "password_change",
	"DELETE /v1/sessions/:id":                  "session_revoke",
	"DELETE /v1/admin/users/:id/sessions":      "admin_revoke_sessions",
	"DELETE /v1/admin/users/:id/sessions/:sid": "admin_revoke_session",
	"POST /v1/screenings/:id/holds":            "hold_create",
	"DELETE /v1/holds/:id":                     "hold_release",
	"POST /v1/orders":                          "order_create",
	"POST /v1/orders/:id/cancel":               "order_cancel",
	"POST /v1/payments/webhook":                "payment_webhook",
}

// httpObserver counts requests, problems and operations in a metrics.Metrics. Its tables are
// built once, after the routes are registered (load); per request it costs a map lookup by
// route pointer and two atomic updates. A nil *httpObserver counts nothing.
type httpObserver struct {
	m      *metrics.Metrics
	routes map[*fiber.Route]routeObserver // every route of the router, middleware included
	// unmatched observes requests no handler route took, by method ("" for unknown methods).
	unmatched map[string]*metrics.Route
	codes     map[string]string // every problem code (problemTable's), to itself
}

type routeObserver struct {
	http *metrics.Route
	op   *metrics.Operation // nil: not a counted operation
}

// newHTTPObserver returns the observer for m; nil when m is nil (no metrics, no cost).
func newHTTPObserver(m *metrics.Metrics) *httpObserver {
	if m == nil {
		return nil
	}
	o := &httpObserver{m: m, unmatched: map[string]*metrics.Route{}, codes: map[string]string{}}
	for _, method := range fiber.DefaultMethods {
		o.unmatched[method] = m.Route(method, metrics.Unmatched)
	}
	o.unmatched[""] = m.Route("", metrics.Unmatched) // counted as method "other"
	for _, r := range problemTable {
		o.codes[r.code] = r.code
	}
	return o
}

// load builds the route table from app's router. Fiber's c.Route() after c.Next() is the last
// route that ran: the handler route when one matched, otherwise one of the app.Use middleware
// routes (for a 404 or 405). Fiber keeps "use" unexported, but app.GetRoutes(true) leaves the
// middleware out and its copies share each route's Handlers array, which tells the two apart.
func (o *httpObserver) load(app *fiber.App) {
	if o == nil {
		return
	}
	handlers := map[*fiber.Handler]bool{}
	for _, r := range app.GetRoutes(true) {
		if len(r.Handlers) > 0 {
			handlers[&r.Handlers[0]] = true
		}
	}
	o.routes = map[*fiber.Route]routeObserver{}
	for _, stack := range app.Stack() {
		for _, r := range stack {
			if len(r.Handlers) == 0 || !handlers[&r.Handlers[0]] {
				o.routes[r] = routeObserver{http: o.unmatchedFor(r.Method)}
				continue
			}
			ro := routeObserver{http: o.m.Route(r.Method, r.Path)}
			if name, ok := countedOperations[r.Method+" "+r.Path]; ok {
				ro.op = o.m.Operation(name)
			}
			o.routes[r] = ro
		}
	}
}

func (o *httpObserver) unmatchedFor(method string) *metrics.Route {
	if r, ok := o.unmatched[method]; ok {
		return r
	}
	return o.unmatched[""]
}

// request counts one request that went through the router, answered with status after d (for
// a seat-map stream: until the stream was accepted; its body is written after the handler
// returns), the problem it was answered with, if any (whoever wrote it: the error handler, or
// an order's stored answer), and its operation's outcome.
func (o *httpObserver) request(c *fiber.Ctx, status int, d time.Duration) {
	if o == nil {
		return
	}
	ro, ok := o.routes[c.Route()]
	if !ok {
		ro.http = o.unmatchedFor(c.Method())
	}
	ro.http.Observe(status, d)
	outcome := "ok"
	if status >= 400 {
		code, isProblem := o.problemCode(c)
		if isProblem {
			o.m.Problem(code, status)
		}
		outcome = code
	}
	if ro.op != nil {
		ro.op.Observe(outcome)
	}
}

// codeMember is how a problem body (renderProblem) starts its code member.
var codeMember = []byte(`"code":"`)

// problemCode returns the code of the problem in c's response (one errorHandler wrote, or an
// order's stored answer): a code of the problem table, else "other"; isProblem is false when
// the response is no problem. Only call it for an error status: reading the body of a stream
// would wait for the stream's end.
func (o *httpObserver) problemCode(c *fiber.Ctx) (code string, isProblem bool) {
	if !bytes.HasPrefix(c.Response().Header.ContentType(), []byte(mimeProblem)) {
		return "other", false
	}
	body := c.Response().Body()
	if i := bytes.Index(body, codeMember); i >= 0 {
		rest := body[i+len(codeMember):]
		if j := bytes.IndexByte(rest, '"'); j >= 0 {
			if code, ok := o.codes[string(rest[:j])]; ok {
				return code, true
			}
		}
	}
	return "other", true
}

// errors wraps the app's error handler: a 503 it writes is counted by cause. A request that
// never reached the router (fasthttp refused it: oversized headers or body, a read timeout) is
// counted here, as unmatched without a duration, with its problem; accessLog counts the others
// (request).
func (o *httpObserver) errors(next fiber.ErrorHandler) fiber.ErrorHandler {
	if o == nil {
		return next
	}
	return func(c *fiber.Ctx, err error) error {
		herr := next(c, err)
		status := c.Response().StatusCode()
		if status == fiber.StatusServiceUnavailable {
			o.m.Unavailable(unavailableCause(c.UserContext(), err))
		}
		if _, routed := o.routes[c.Route()]; !routed {
			o.unmatchedFor(c.Method()).Observe(status, 0)
			if code, isProblem := o.problemCode(c); isProblem {
				o.m.Problem(code, status)
			}
		}
		return herr
	}
}

// unknownMethod counts a request whose method Fiber does not know, answered by unknownMethods
// with a problem (code, status) after d.
func (o *httpObserver) unknownMethod(code string, status int, d time.Duration) {
	if o == nil {
		return
	}
	o.unmatched[""].Observe(status, d)
	o.m.Problem(code, status)
}

// errDraining is what /readyz answers while the server drains: a 503 like any unavailable
// session store, counted with cause "draining".
var errDraining = fmt.Errorf("%w: draining", session.ErrUnavailable)

// unavailableCause names why a request got a 503, for boxoffice_unavailable_total: draining
// (shutting down), streams_full, hash_busy, timeout (the request's deadline passed, whatever
// was waiting), redis, database, or other (a payment provider's outage, ...). ctx is the
// request's context.
func unavailableCause(ctx context.Context, err error) string {
	switch {
	case errors.Is(err, errDraining), errors.Is(err, live.ErrClosed):
		return "draining"
	case errors.Is(err, live.ErrTooManyStreams):
		return "streams_full"
	case errors.Is(err, auth.ErrHashBusy):
		return "hash_busy"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(ctx.Err(), context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, session.ErrUnavailable), errors.Is(err, audit.ErrUnavailable):
		return "redis"
	case errors.Is(err, tickets.ErrUnavailable):
		return "database"
	}
	return "other"
}
