package main

import (
	"context"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/trace"

	"boxoffice/tracing"
)

// startTracing sets up the tracing cfg.Tracing asks for (see tracing.ConfigFromEnv): off, a
// no-op provider and nothing else. On, it says so in the log (endpoint without credentials,
// sampler) and returns the provider with the one to give Redis and PostgreSQL clients, which
// traces their commands only inside requests. stop flushes the spans still buffered, waiting
// at most 5 seconds; it logs, never returns, a failed flush.
func startTracing(ctx context.Context, cfg config, log *slog.Logger) (requests, clients trace.TracerProvider, stop func(), err error) {
	tc := cfg.Tracing
	tc.ServiceVersion = readBuild().short()
	p, err := tracing.New(ctx, tc, log)
	if err != nil {
		return nil, nil, nil, err
	}
	if !p.Enabled() {
		return p.TracerProvider(), nil, func() {}, nil
	}
	log.Info("tracing on: spans are exported over OTLP/HTTP", "endpoint", redactURL(tc.Endpoint),
		"sampler", tc.Sampler, "sampler_arg", tc.SamplerArg, "service_name", tc.ServiceName, "service_version", tc.ServiceVersion)
	stop = func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.Shutdown(sctx); err != nil {
			log.Warn("tracing: spans not flushed at exit", "err", err)
		}
	}
	return p.TracerProvider(), tracing.ChildrenOnly(p.TracerProvider()), stop, nil
}
