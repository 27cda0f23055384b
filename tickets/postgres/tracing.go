package postgres

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// queryTracer makes one client span per SQL statement — a query, or each statement of a
// pipeline (batch) — under the span of the context it runs in; statements run outside any
// recording span (background work) are not traced. A span holds the parameterised SQL text,
// never the arguments, and an error's SQLSTATE, never its message (which may quote values).
//
// Our own rather than exaring/otelpgx: that one falls back on OpenTelemetry's global providers,
// records metrics and timestamps for every query even when nothing is traced, and traces pool
// acquisition; this is the little we need, and costs one context lookup per statement when the
// request is not traced.
type queryTracer struct {
	tracer trace.Tracer
	attrs  []attribute.KeyValue
}

var (
	_ pgx.QueryTracer = (*queryTracer)(nil)
	_ pgx.BatchTracer = (*queryTracer)(nil)
)

func newQueryTracer(tp trace.TracerProvider, cfg *pgx.ConnConfig) *queryTracer {
	return &queryTracer{
		tracer: tp.Tracer("boxoffice/tickets/postgres"),
		attrs: []attribute.KeyValue{
			attribute.String("db.system.name", "postgresql"),
			attribute.String("db.namespace", cfg.Database),
			attribute.String("server.address", cfg.Host),
			attribute.Int("server.port", int(cfg.Port)),
		},
	}
}

// spanKey marks a context carrying a span this tracer started (so that its end never ends the
// caller's span).
type spanKey struct{}

func (t *queryTracer) start(ctx context.Context, sql string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	op := operation(sql)
	attrs := append(t.attrs[:len(t.attrs):len(t.attrs)],
		attribute.String("db.query.text", sql), attribute.String("db.operation.name", op))
	opts = append(opts, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return t.tracer.Start(ctx, op, opts...)
}

// TraceQueryStart implements pgx.QueryTracer.
func (t *queryTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return ctx
	}
	ctx, span := t.start(ctx, d.SQL)
	return context.WithValue(ctx, spanKey{}, span)
}

// TraceQueryEnd implements pgx.QueryTracer.
func (t *queryTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	if span, ok := ctx.Value(spanKey{}).(trace.Span); ok {
		end(span, d.CommandTag, d.Err)
	}
}

// TraceBatchStart implements pgx.BatchTracer: the pipeline's statements become spans of their
// own, each timed from when pgx began reading its result.
func (t *queryTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

// TraceBatchQuery implements pgx.BatchTracer.
func (t *queryTracer) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return
	}
	var opts []trace.SpanStartOption
	if !d.ReadStartTime.IsZero() {
		opts = append(opts, trace.WithTimestamp(d.ReadStartTime))
	}
	_, span := t.start(ctx, d.SQL, opts...)
	end(span, d.CommandTag, d.Err)
}

// TraceBatchEnd implements pgx.BatchTracer.
func (t *queryTracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func end(span trace.Span, tag pgconn.CommandTag, err error) {
	if err != nil {
		kind := "error"
		var pe *pgconn.PgError
		switch {
		case errors.As(err, &pe):
			kind = pe.Code
		case errors.Is(err, context.DeadlineExceeded):
			kind = "timeout"
		case errors.Is(err, context.Canceled):
			kind = "canceled"
		}
		span.SetAttributes(attribute.String("error.type", kind))
		span.SetStatus(codes.Error, kind)
	} else {
		span.SetAttributes(attribute.Int64("db.response.returned_rows", tag.RowsAffected()))
	}
	span.End()
}

// operation is the statement's first keyword, upper case ("SELECT", "WITH", "BEGIN"): the span's
// name, bounded whatever the SQL.
func operation(sql string) string {
	sql = strings.TrimSpace(sql)
	for strings.HasPrefix(sql, "--") { // a leading comment line
		_, sql, _ = strings.Cut(sql, "\n")
		sql = strings.TrimSpace(sql)
	}
	i := strings.IndexFunc(sql, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') })
	if i < 0 {
		i = len(sql)
	}
	if i == 0 || i > 16 {
		return "SQL"
	}
	return strings.ToUpper(sql[:i])
}
