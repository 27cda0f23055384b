package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"boxoffice/tickets"
	"boxoffice/tickets/postgres"
	"boxoffice/tickets/ticketstest"
)

// TestTracing: with a TracerProvider, each statement run under a span — a query or each
// statement of a pipeline — is a child span with its SQL text and never an argument value;
// statements outside any span (the migrations at Open) make no spans.
func TestTracing(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	s, err := postgres.Open(t.Context(), ticketstest.PostgresURL(t), postgres.Options{MaxConns: 2, TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := len(rec.Ended()); n != 0 {
		t.Fatalf("%d spans outside any request", n)
	}
	ctx, req := tp.Tracer("test").Start(context.Background(), "request")
	const title, id = "Argument Value Title", "mv-argument-value-id"
	if _, err := s.PutMovie(ctx, tickets.Movie{ID: id, Title: title, DurationMinutes: 90}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Order(ctx, "order-argument-value"); err == nil {
		t.Fatal("unknown order found")
	}
	req.End()

	var names []string
	for _, sp := range rec.Ended() {
		if sp.Name() == "request" {
			continue
		}
		names = append(names, sp.Name())
		if sp.Parent().SpanID() != req.SpanContext().SpanID() {
			t.Errorf("span %q is not a child of the request", sp.Name())
		}
		text, sql := sp.Name(), ""
		for _, a := range sp.Attributes() {
			text += fmt.Sprintf(" %s=%v", a.Key, a.Value.Emit())
			if a.Key == "db.query.text" {
				sql = a.Value.AsString()
			}
		}
		if sql == "" || !strings.HasPrefix(strings.ToUpper(strings.TrimSpace(sql)), sp.Name()) {
			t.Errorf("span %q has SQL %q", sp.Name(), sql)
		}
		if strings.Contains(text, "argument-value") || strings.Contains(text, "Argument Value") {
			t.Errorf("span holds an argument value: %s", text)
		}
	}
	if !strings.Contains(strings.Join(names, " "), "INSERT") || !strings.Contains(strings.Join(names, " "), "SELECT") {
		t.Fatalf("spans %v: want the INSERT and the pipeline's SELECTs", names)
	}
}
