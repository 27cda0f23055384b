package session

import (
	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"
)

// InstrumentTracing makes every command and pipeline c sends a client span of tp, named after
// the command only ("evalsha", "redis.pipeline hget expire"): command statements are off, since
// their arguments are session keys, ids and tokens. Give it a provider that starts spans only
// under a request's span (see tracing.ChildrenOnly) to keep background commands out of traces.
// It returns an error for a client type redisotel does not know.
func InstrumentTracing(c redis.UniversalClient, tp trace.TracerProvider) error {
	return redisotel.InstrumentTracing(c,
		redisotel.WithTracerProvider(tp),
		redisotel.WithDBStatement(false),
		redisotel.WithCallerEnabled(false), // code.* attributes cost a stack walk per command
	)
}
