package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"sort"

	"github.com/go-logr/logr"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	"go.opentelemetry.io/otel/trace/noop"
)

// Provider is the process's tracing: a TracerProvider exporting over OTLP/HTTP when the
// configuration enables it, a no-op one otherwise. It never installs itself as OpenTelemetry's
// global provider: pass TracerProvider to what should trace.
type Provider struct {
	sdk *sdktrace.TracerProvider // nil when off
	tp  trace.TracerProvider
}

// New builds the tracing cfg asks for. Off (cfg.Enabled false), it returns a Provider whose
// TracerProvider is a no-op and whose Shutdown does nothing. On, spans are batched and sent to
// cfg.Endpoint in the background (the SDK reads the OTEL_BSP_* batching settings and the
// exporter's other OTEL_EXPORTER_OTLP_* settings, such as certificates and timeout, itself);
// nothing connects until the first export. The SDK's own errors (an unreachable collector) are
// logged to log at warn level with component "otel". It returns an error only for a
// configuration the exporter refuses.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Provider, error) {
	if !cfg.Enabled {
		return &Provider{tp: noop.NewTracerProvider()}, nil
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(cfg.Endpoint), otlptracehttp.WithHeaders(cfg.Headers))
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	if log != nil {
		// OpenTelemetry reports export failures through a process-wide error handler and logger
		// (plain text on stderr by default); the library offers no per-provider setting, so
		// these are the globals we must touch to keep every log line JSON.
		l := log.With("component", "otel")
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { l.Warn("opentelemetry error", "err", err) }))
		otel.SetLogger(logr.FromSlogHandler(l.Handler()))
	}
	sdk := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(newResource(cfg)),
		sdktrace.WithSampler(sampler(cfg)),
	)
	return &Provider{sdk: sdk, tp: sdk}, nil
}

// Enabled reports whether spans are recorded and exported.
func (p *Provider) Enabled() bool { return p.sdk != nil }

// TracerProvider is the provider to start spans with: a no-op one when tracing is off.
func (p *Provider) TracerProvider() trace.TracerProvider { return p.tp }

// Shutdown exports the spans still buffered and stops the exporter, waiting at most until ctx
// is done. It returns the export's error, if any; off, it does nothing.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p.sdk == nil {
		return nil
	}
	return p.sdk.Shutdown(ctx)
}

func newResource(cfg Config) *resource.Resource {
	attrs := []attribute.KeyValue{attribute.String("service.name", cfg.ServiceName)}
	if cfg.ServiceVersion != "" {
		attrs = append(attrs, attribute.String("service.version", cfg.ServiceVersion))
	}
	keys := make([]string, 0, len(cfg.ResourceAttributes))
	for k := range cfg.ResourceAttributes {
		if k != "service.name" && k != "service.version" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		attrs = append(attrs, attribute.String(k, cfg.ResourceAttributes[k]))
	}
	return resource.NewSchemaless(attrs...)
}

func sampler(cfg Config) sdktrace.Sampler {
	switch cfg.Sampler {
	case "always_on":
		return sdktrace.AlwaysSample()
	case "always_off":
		return sdktrace.NeverSample()
	case "traceidratio":
		return sdktrace.TraceIDRatioBased(cfg.SamplerArg)
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample())
	case "parentbased_traceidratio":
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.SamplerArg))
	default:
		return sdktrace.ParentBased(sdktrace.AlwaysSample())
	}
}

// ChildrenOnly wraps tp so that its tracers start spans only under a span already in the
// context (a request's): instrumented clients then trace the Redis commands and SQL queries of
// requests, and background work (janitors, publishers, pollers) makes no root spans.
func ChildrenOnly(tp trace.TracerProvider) trace.TracerProvider { return childrenOnly{tp: tp} }

type childrenOnly struct {
	embedded.TracerProvider
	tp trace.TracerProvider
}

func (c childrenOnly) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return childTracer{t: c.tp.Tracer(name, opts...)}
}

type childTracer struct {
	embedded.Tracer
	t trace.Tracer
}

func (c childTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.SpanContext().IsValid() {
		return ctx, parent // a non-recording span; ending it does nothing
	}
	return c.t.Start(ctx, name, opts...)
}
