package session_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"boxoffice/auth"
	"boxoffice/session"
	"boxoffice/session/sessiontest"
	"boxoffice/tracing"
)

// TestInstrumentTracingRecordsNoKeys: a session's life under a request span makes Redis client
// spans in its trace (and none outside it, such as the pool's dials), and no span
// name, attribute or event holds a key, an id or a token hash.
func TestInstrumentTracingRecordsNoKeys(t *testing.T) {
	r := sessiontest.StartMini(t)
	rdb, err := session.NewClient(session.ClientConfig{URL: r.URL(), ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, PoolTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	if err := session.InstrumentTracing(rdb, tracing.ChildrenOnly(tp)); err != nil {
		t.Fatal(err)
	}
	store, err := session.New(rdb, session.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx, req := tp.Tracer("test").Start(context.Background(), "request")
	uid, sid := auth.NewID(), auth.NewID()
	if _, err := store.Create(ctx, session.NewSession{ID: sid, UserID: uid, DeviceName: "phone", IP: "192.0.2.7",
		UserAgent: "agent-007", RefreshHash: "refresh-hash-secret", AccessExpiresAt: time.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Get(ctx, uid, sid); err != nil {
		t.Fatal(err)
	}
	_, _ = store.Get(ctx, uid, auth.NewID()) // an error path
	req.End()

	spans := rec.Ended()
	children := 0
	for _, s := range spans {
		if s.Name() == "request" {
			continue
		}
		if s.SpanContext().TraceID() != req.SpanContext().TraceID() {
			t.Errorf("span %q is outside the request's trace", s.Name())
		}
		if s.Parent().SpanID() == req.SpanContext().SpanID() {
			children++
		}
		text := s.Name()
		for _, a := range s.Attributes() {
			text += fmt.Sprintf(" %s=%v", a.Key, a.Value.Emit())
		}
		for _, e := range s.Events() {
			text += " " + e.Name
			for _, a := range e.Attributes {
				text += fmt.Sprintf(" %s=%v", a.Key, a.Value.Emit())
			}
		}
		text += " " + s.Status().Description
		for _, secret := range []string{"bx:", uid, sid, "refresh-hash-secret", "agent-007", "192.0.2.7"} {
			if strings.Contains(text, secret) {
				t.Errorf("span holds %q: %s", secret, text)
			}
		}
	}
	if children == 0 {
		t.Fatal("no Redis span recorded")
	}
}
