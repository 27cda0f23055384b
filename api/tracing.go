package api

import (
	"context"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// headerTraceID carries a traced request's trace id (32 hex digits) back to the client.
const headerTraceID = "X-Trace-Id"

// tracingOn reports whether tp records anything: nil and the no-op provider do not, and then
// no tracing middleware is installed at all.
func tracingOn(tp trace.TracerProvider) bool {
	_, isNoop := tp.(noop.TracerProvider)
	return tp != nil && !isNoop
}

// traceRequests starts a server span per request, continuing the trace of an incoming W3C
// traceparent/tracestate, and makes it the parent of everything the request does
// (c.UserContext() carries it; requestContext derives from it). It must be the outermost
// middleware: it renders a returned error through the error handler itself, so the span ends
// with the status the client got.
//
// The span is named "METHOD route" after the route template ("GET /v1/screenings/:id"), or
// "METHOD" alone when no route matched; its attributes are the method, the route template and
// the status — never the raw path, the query, a header or a cookie. A 5xx sets its status to
// Error. A sampled request's response carries its trace id in X-Trace-Id.
func traceRequests(tp trace.TracerProvider) fiber.Handler {
	tracer := tp.Tracer("boxoffice/api")
	prop := propagation.TraceContext{}
	serverKind := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}
	return func(c *fiber.Ctx) error {
		entry := c.Route() // the root middlewares' route: still current after Next when no route matched
		ctx := prop.Extract(context.Background(), headerCarrier{c})
		method := stableMethod(c.Method())
		ctx, span := tracer.Start(ctx, method, serverKind...)
		defer span.End()
		recording := span.IsRecording()
		if sc := span.SpanContext(); sc.IsSampled() {
			c.Set(headerTraceID, sc.TraceID().String())
		}
		c.SetUserContext(ctx)
		err := c.Next()
		if err != nil {
			err = c.App().ErrorHandler(c, err) // now, so that the span gets the final status
		}
		if !recording {
			return err
		}
		status := c.Response().StatusCode()
		span.SetAttributes(attribute.String("http.request.method", method), attribute.Int("http.response.status_code", status))
		if r := c.Route(); r != entry {
			route := r.Path // the registered template, not the request's path
			span.SetName(method + " " + route)
			span.SetAttributes(attribute.String("http.route", route))
		}
		if status >= 500 || err != nil {
			span.SetAttributes(attribute.String("error.type", strconv.Itoa(status)))
			span.SetStatus(codes.Error, "")
		}
		return err
	}
}

// stableMethod returns Fiber's constant for a known method: c.Method() points into the
// request's buffer, which is reused once the handler returns, while the span lives on in the
// exporter's queue.
func stableMethod(m string) string {
	for _, k := range fiber.DefaultMethods {
		if k == m {
			return k
		}
	}
	return strings.Clone(m)
}

// traceID is the trace id of the sampled span ctx carries (for events and logs), or "".
func traceID(ctx context.Context) string {
	if sc := trace.SpanContextFromContext(ctx); sc.IsSampled() {
		return sc.TraceID().String()
	}
	return ""
}

// headerCarrier reads the request's headers for the propagator (copies: Fiber reuses them).
type headerCarrier struct{ c *fiber.Ctx }

func (h headerCarrier) Get(key string) string { return string(h.c.Request().Header.Peek(key)) }

func (h headerCarrier) Set(string, string) {} // extraction only

func (h headerCarrier) Keys() []string {
	var keys []string
	h.c.Request().Header.VisitAll(func(k, _ []byte) { keys = append(keys, string(k)) })
	return keys
}
