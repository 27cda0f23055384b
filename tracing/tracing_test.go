package tracing

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func load(env map[string]string) (Config, []string) {
	var problems []string
	c := ConfigFromEnv(func(k string) string { return env[k] }, func(f string, a ...any) {
		problems = append(problems, fmt.Sprintf(f, a...))
	})
	return c, problems
}

func TestConfigFromEnvTurnsOnOnlyWhenAsked(t *testing.T) {
	for _, tc := range []struct {
		env      map[string]string
		enabled  bool
		endpoint string
	}{
		{nil, false, "http://localhost:4318/v1/traces"},
		{map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, true, "http://localhost:4318/v1/traces"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"}, true, "http://collector:4318/v1/traces"},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://c.example/otlp/spans"}, true, "https://c.example/otlp/spans"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:1", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b:2/t"}, true, "http://b:2/t"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:1", "OTEL_SDK_DISABLED": "true"}, false, "http://a:1/v1/traces"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:1", "OTEL_TRACES_EXPORTER": "none"}, false, "http://a:1/v1/traces"},
	} {
		c, problems := load(tc.env)
		if len(problems) > 0 || c.Enabled != tc.enabled || c.Endpoint != tc.endpoint {
			t.Errorf("%v: enabled %v endpoint %q problems %v; want %v %q", tc.env, c.Enabled, c.Endpoint, problems, tc.enabled, tc.endpoint)
		}
		if c.ServiceName != "boxoffice" || c.Sampler != "parentbased_always_on" || c.SamplerArg != 1 {
			t.Errorf("%v: defaults %+v", tc.env, c)
		}
	}
}

func TestConfigFromEnvSettings(t *testing.T) {
	c, problems := load(map[string]string{
		"OTEL_TRACES_EXPORTER":              "otlp",
		"OTEL_SERVICE_NAME":                 "tickets-eu",
		"OTEL_EXPORTER_OTLP_HEADERS":        "authorization=Bearer%20s3cr3t, x-tenant=a",
		"OTEL_EXPORTER_OTLP_TRACES_HEADERS": "x-tenant=b",
		"OTEL_RESOURCE_ATTRIBUTES":          "deployment.environment.name=prod",
		"OTEL_TRACES_SAMPLER":               "parentbased_traceidratio",
		"OTEL_TRACES_SAMPLER_ARG":           "0.25",
	})
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	if c.ServiceName != "tickets-eu" || c.Headers["authorization"] != "Bearer s3cr3t" || c.Headers["x-tenant"] != "b" ||
		c.ResourceAttributes["deployment.environment.name"] != "prod" || c.Sampler != "parentbased_traceidratio" || c.SamplerArg != 0.25 {
		t.Fatalf("%+v", c)
	}
}

func TestConfigFromEnvListsEveryProblemWithoutSecrets(t *testing.T) {
	_, problems := load(map[string]string{
		"OTEL_TRACES_EXPORTER":        "zipkin",
		"OTEL_SDK_DISABLED":           "maybe",
		"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
		"OTEL_EXPORTER_OTLP_ENDPOINT": "ftp://user:hunter2@collector",
		"OTEL_EXPORTER_OTLP_HEADERS":  "authorization",
		"OTEL_TRACES_SAMPLER":         "jaeger_remote",
		"OTEL_TRACES_SAMPLER_ARG":     "2",
	})
	all := strings.Join(problems, "\n")
	for _, want := range []string{"OTEL_TRACES_EXPORTER", "OTEL_SDK_DISABLED", "OTEL_EXPORTER_OTLP_PROTOCOL",
		"OTLP endpoint", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_TRACES_SAMPLER=", "OTEL_TRACES_SAMPLER_ARG"} {
		if !strings.Contains(all, want) {
			t.Errorf("no problem about %s in:\n%s", want, all)
		}
	}
	if strings.Contains(all, "hunter2") {
		t.Errorf("a problem shows the endpoint's password:\n%s", all)
	}
}

func TestConfigFromEnvReadsEveryVariable(t *testing.T) {
	read := map[string]bool{}
	ConfigFromEnv(func(k string) string { read[k] = true; return "" }, func(string, ...any) {})
	for _, v := range variables {
		if !read[v] {
			t.Errorf("%s not read", v)
		}
	}
	if len(read) != len(variables) {
		t.Errorf("read %v, variables lists %v", read, variables)
	}
}

func TestNewOffIsNoop(t *testing.T) {
	p, err := New(context.Background(), Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, span := p.TracerProvider().Tracer("t").Start(context.Background(), "x")
	if p.Enabled() || span.IsRecording() || span.SpanContext().IsValid() {
		t.Fatal("tracing off still records")
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestSamplers(t *testing.T) {
	for name, want := range map[string]bool{"always_on": true, "always_off": false, "traceidratio": true,
		"parentbased_always_on": true, "parentbased_always_off": false, "parentbased_traceidratio": true} {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler(Config{Sampler: name, SamplerArg: 1})))
		_, span := tp.Tracer("t").Start(context.Background(), "x")
		if span.IsRecording() != want {
			t.Errorf("%s: recording %v", name, span.IsRecording())
		}
	}
}

func TestChildrenOnlyStartsNoRootSpans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	children := ChildrenOnly(tp).Tracer("client")
	_, orphan := children.Start(context.Background(), "background")
	orphan.End()
	ctx, parent := tp.Tracer("server").Start(context.Background(), "request")
	_, child := children.Start(ctx, "GET")
	child.End()
	parent.End()
	ended := rec.Ended()
	if len(ended) != 2 || ended[0].Name() != "GET" || ended[0].Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Fatalf("spans %v", ended)
	}
}

func TestLogHandlerAddsTraceIDs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(LogHandler(slog.NewJSONHandler(&buf, nil))).With("component", "test")
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("t").Start(context.Background(), "x")
	log.InfoContext(ctx, "in a span")
	log.Info("outside")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var in, out map[string]any
	if len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &in) != nil || json.Unmarshal([]byte(lines[1]), &out) != nil {
		t.Fatalf("log %q", buf.String())
	}
	sc := trace.SpanContextFromContext(ctx)
	if in["trace_id"] != sc.TraceID().String() || in["span_id"] != span.SpanContext().SpanID().String() || in["component"] != "test" {
		t.Fatalf("line in a span: %v", in)
	}
	if _, ok := out["trace_id"]; ok {
		t.Fatalf("line outside a span: %v", out)
	}
}
