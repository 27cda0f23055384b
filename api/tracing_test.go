package api

import (
	"context"
	"testing"

	"github.com/gofiber/fiber/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"boxoffice/session"
	"boxoffice/tracing"
)

func tracedServer(tb testing.TB, tp trace.TracerProvider) *testServer {
	tb.Helper()
	ts, _ := buildTestServer(tb, testServerOptions{tickets: openSQLite, tp: tp})
	return ts
}

// serverSpan returns the one ended server span named name.
func serverSpan(t *testing.T, rec *tracetest.SpanRecorder, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	var found []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.SpanKind() == trace.SpanKindServer && s.Name() == name {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		var names []string
		for _, s := range rec.Ended() {
			names = append(names, s.Name())
		}
		t.Fatalf("%d server spans named %q; spans: %v", len(found), name, names)
	}
	return found[0]
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, a := range s.Attributes() {
		m[a.Key] = a.Value
	}
	return m
}

// TestTracingServerSpans: a request continues the caller's W3C trace; its server span is named
// after the route template with method, route and status (no raw path), the answer carries the
// trace id, the span is the parent of what the handler does; unmatched paths and 5xx answers
// get spans too, the latter with status Error.
func TestTracingServerSpans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	ts := tracedServer(t, tp)
	tok := ts.signIn(t, "tracy")

	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	resp, body := ts.call(t, "GET", "/v1/session", tok.AccessToken, "", "traceparent", "00-"+traceID+"-"+parentID+"-01")
	if resp.StatusCode != 200 {
		t.Fatalf("session: %d %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("X-Trace-Id"); got != traceID {
		t.Fatalf("X-Trace-Id %q, want the caller's trace %s", got, traceID)
	}
	s := serverSpan(t, rec, "GET /v1/session")
	a := attrs(s)
	if s.SpanContext().TraceID().String() != traceID || s.Parent().SpanID().String() != parentID || !s.Parent().IsRemote() {
		t.Fatalf("span %v does not continue the caller's trace (parent %v)", s.SpanContext(), s.Parent())
	}
	if a["http.request.method"].AsString() != "GET" || a["http.route"].AsString() != "/v1/session" ||
		a["http.response.status_code"].AsInt64() != 200 || s.Status().Code == codes.Error {
		t.Fatalf("attributes %v status %v", a, s.Status())
	}

	resp, _ = ts.call(t, "DELETE", "/v1/sessions/not-a-session-id-123", tok.AccessToken, "")
	s = serverSpan(t, rec, "DELETE /v1/sessions/:id")
	if a := attrs(s); a["http.route"].AsString() != "/v1/sessions/:id" || a["http.response.status_code"].AsInt64() != int64(resp.StatusCode) {
		t.Fatalf("attributes %v for status %d", a, resp.StatusCode)
	}
	for k, v := range attrs(s) {
		if v.Emit() == "/v1/sessions/not-a-session-id-123" || k == "url.path" || k == "url.full" {
			t.Fatalf("span records the raw path: %s=%v", k, v.Emit())
		}
	}
	if resp.Header.Get("X-Trace-Id") != s.SpanContext().TraceID().String() {
		t.Fatalf("X-Trace-Id %q for trace %s", resp.Header.Get("X-Trace-Id"), s.SpanContext().TraceID())
	}

	resp, _ = ts.call(t, "GET", "/no/such/path", "", "")
	s = serverSpan(t, rec, "GET")
	if resp.StatusCode != 404 || attrs(s)["http.response.status_code"].AsInt64() != 404 {
		t.Fatalf("unmatched path: status %d, span %v", resp.StatusCode, attrs(s))
	}
	if _, ok := attrs(s)["http.route"]; ok {
		t.Fatalf("unmatched path has a route: %v", attrs(s))
	}

	ts.rdb.Close() // Redis gone: 503
	resp, _ = ts.call(t, "GET", "/v1/me", tok.AccessToken, "")
	s = serverSpan(t, rec, "GET /v1/me")
	if resp.StatusCode != 503 || attrs(s)["http.response.status_code"].AsInt64() != 503 || s.Status().Code != codes.Error {
		t.Fatalf("503: status %d, span %v %v", resp.StatusCode, attrs(s), s.Status())
	}
}

// TestTracingUnsampled: an unsampled request (the caller's flag, or the sampler) gets no
// X-Trace-Id; with no provider nothing is traced and no header is sent.
func TestTracingUnsampled(t *testing.T) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())))
	ts := tracedServer(t, tp)
	resp, _ := ts.call(t, "GET", "/healthz", "", "", "traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")
	if h := resp.Header.Get("X-Trace-Id"); h != "" {
		t.Fatalf("unsampled request answered with X-Trace-Id %q", h)
	}
	off := newTestServer(t)
	resp, _ = off.call(t, "GET", "/healthz", "", "", "traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	if h := resp.Header.Get("X-Trace-Id"); h != "" {
		t.Fatalf("tracing off, X-Trace-Id %q", h)
	}
}

// TestTracingContextReachesHandlers: the context handlers get (requestContext's, with its
// deadline) carries the request's span, so Redis and SQL spans become its children.
func TestTracingContextReachesHandlers(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	ts := tracedServer(t, tp)
	var seen trace.SpanContext
	var deadline bool
	ts.srv.app.Get("/test/ctx", func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		seen = trace.SpanContextFromContext(ctx)
		_, deadline = ctx.Deadline()
		return c.SendStatus(204)
	})
	ts.call(t, "GET", "/test/ctx", "", "")
	s := serverSpan(t, rec, "GET /test/ctx")
	if seen.SpanID() != s.SpanContext().SpanID() || !deadline {
		t.Fatalf("handler context: span %v (server span %v), deadline %v", seen, s.SpanContext(), deadline)
	}
}

// The tracing middleware's cost on the framework floor (BenchmarkHealthz has none): off it is
// not installed at all; unsampled it extracts the headers and starts a non-recording span;
// sampled it records a span and hands it to a batch exporter (one that discards).
func BenchmarkHealthzTracingOff(b *testing.B) {
	benchHandler(b, tracedServer(b, noop.NewTracerProvider()), "GET", "/healthz", "")
}

func BenchmarkHealthzTracingUnsampled(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	benchHandler(b, tracedServer(b, tp), "GET", "/healthz", "")
}

func BenchmarkHealthzTracingSampled(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	b.Cleanup(func() { tp.Shutdown(context.Background()) })
	benchHandler(b, tracedServer(b, tp), "GET", "/healthz", "")
}

// BenchmarkAuthenticatedGetSessionTraced is BenchmarkAuthenticatedGetSession with every request
// sampled: the server span plus the Redis client span (redisotel, as cmd/boxoffice wires it).
func BenchmarkAuthenticatedGetSessionTraced(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	b.Cleanup(func() { tp.Shutdown(context.Background()) })
	ts := tracedServer(b, tp)
	if err := session.InstrumentTracing(ts.rdb, tracing.ChildrenOnly(tp)); err != nil {
		b.Fatal(err)
	}
	tr := ts.signIn(b, "bench")
	benchHandler(b, ts, "GET", "/v1/session", "Bearer "+tr.AccessToken)
}
