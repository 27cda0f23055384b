// Package tracing sets up OpenTelemetry tracing from the standard OTEL_* environment — off
// unless it asks for an OTLP exporter — and adds trace ids to log records.
package tracing

import (
	"net/url"
	"strconv"
	"strings"
)

// Config is what the OTEL_* environment asks for. The zero Config is tracing off.
type Config struct {
	// Enabled: OTEL_TRACES_EXPORTER=otlp, or OTEL_EXPORTER_OTLP_ENDPOINT or
	// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT set; never when OTEL_SDK_DISABLED=true or
	// OTEL_TRACES_EXPORTER=none.
	Enabled bool
	// Endpoint is the full URL spans are POSTed to (OTLP over HTTP, protobuf):
	// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as it is, else OTEL_EXPORTER_OTLP_ENDPOINT + "/v1/traces",
	// else DefaultEndpoint + "/v1/traces".
	Endpoint string
	// Headers are sent with every export (OTEL_EXPORTER_OTLP_HEADERS, overridden key by key by
	// OTEL_EXPORTER_OTLP_TRACES_HEADERS): often a credential, never logged.
	Headers map[string]string
	// ServiceName is the resource's service.name (OTEL_SERVICE_NAME); default
	// DefaultServiceName.
	ServiceName string
	// ServiceVersion is the resource's service.version; set by the caller (build info).
	ServiceVersion string
	// ResourceAttributes are extra resource attributes (OTEL_RESOURCE_ATTRIBUTES), such as
	// deployment.environment.name.
	ResourceAttributes map[string]string
	// Sampler is OTEL_TRACES_SAMPLER: always_on, always_off, traceidratio,
	// parentbased_always_on, parentbased_always_off or parentbased_traceidratio; default
	// DefaultSampler.
	Sampler string
	// SamplerArg is OTEL_TRACES_SAMPLER_ARG, the ratio of the traceidratio samplers in [0, 1];
	// default DefaultSamplerArg.
	SamplerArg float64
}

// What ConfigFromEnv uses when the OTEL_* variables leave it unset (exported so that help
// texts state the same values).
const (
	DefaultServiceName = "boxoffice"
	DefaultSampler     = "parentbased_always_on"
	DefaultSamplerArg  = 1.0
	// DefaultEndpoint is the collector's base URL when neither OTEL_EXPORTER_OTLP_ENDPOINT nor
	// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set (the OTLP/HTTP default); spans go to its
	// /v1/traces.
	DefaultEndpoint = "http://localhost:4318"
	// Protocol is the only OTLP protocol supported, and so the default of
	// OTEL_EXPORTER_OTLP_PROTOCOL and OTEL_EXPORTER_OTLP_TRACES_PROTOCOL; any other value is
	// refused.
	Protocol = "http/protobuf"
)

// tracesPath is where spans are POSTed, under a collector's base URL.
const tracesPath = "/v1/traces"

// variables are the names ConfigFromEnv reads, for help texts.
var variables = []string{
	"OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT",
	"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
	"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_SERVICE_NAME",
	"OTEL_RESOURCE_ATTRIBUTES", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
}

// ConfigFromEnv reads the OTEL_* variables through getenv (every one of variables, whatever
// their values) and reports each invalid one through bad, in the style of a configuration
// loader that lists every problem at once.
func ConfigFromEnv(getenv func(string) string, bad func(format string, a ...any)) Config {
	v := make(map[string]string, len(variables))
	for _, name := range variables {
		v[name] = strings.TrimSpace(getenv(name))
	}
	c := Config{ServiceName: DefaultServiceName, Sampler: DefaultSampler, SamplerArg: DefaultSamplerArg}
	if s := v["OTEL_SERVICE_NAME"]; s != "" {
		c.ServiceName = s
	}
	switch exp := strings.ToLower(v["OTEL_TRACES_EXPORTER"]); exp {
	case "":
		c.Enabled = v["OTEL_EXPORTER_OTLP_ENDPOINT"] != "" || v["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] != ""
	case "otlp":
		c.Enabled = true
	case "none":
	default:
		bad("OTEL_TRACES_EXPORTER=%q: only otlp and none are supported", exp)
	}
	switch d := strings.ToLower(v["OTEL_SDK_DISABLED"]); d {
	case "", "false":
	case "true":
		c.Enabled = false
	default:
		bad("OTEL_SDK_DISABLED=%q must be true or false", d)
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"} {
		if p := v[name]; p != "" && p != Protocol {
			bad("%s=%q: only %s is supported", name, p, Protocol)
		}
	}

	switch {
	case v["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] != "":
		c.Endpoint = v["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
	case v["OTEL_EXPORTER_OTLP_ENDPOINT"] != "":
		c.Endpoint = strings.TrimSuffix(v["OTEL_EXPORTER_OTLP_ENDPOINT"], "/") + tracesPath
	default:
		c.Endpoint = DefaultEndpoint + tracesPath
	}
	if u, err := url.Parse(c.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("the OTLP endpoint %q (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) must be an http:// or https:// URL", redactURL(c.Endpoint))
	}

	c.Headers = keyValues("OTEL_EXPORTER_OTLP_HEADERS", v["OTEL_EXPORTER_OTLP_HEADERS"], bad)
	for k, val := range keyValues("OTEL_EXPORTER_OTLP_TRACES_HEADERS", v["OTEL_EXPORTER_OTLP_TRACES_HEADERS"], bad) {
		if c.Headers == nil {
			c.Headers = map[string]string{}
		}
		c.Headers[k] = val
	}
	c.ResourceAttributes = keyValues("OTEL_RESOURCE_ATTRIBUTES", v["OTEL_RESOURCE_ATTRIBUTES"], bad)

	switch s := strings.ToLower(v["OTEL_TRACES_SAMPLER"]); s {
	case "":
	case "always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio":
		c.Sampler = s
	default:
		bad("OTEL_TRACES_SAMPLER=%q must be always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio", s)
	}
	if a := v["OTEL_TRACES_SAMPLER_ARG"]; a != "" {
		f, err := strconv.ParseFloat(a, 64)
		if err != nil || f < 0 || f > 1 {
			bad("OTEL_TRACES_SAMPLER_ARG=%q must be a ratio between 0 and 1", a)
		} else {
			c.SamplerArg = f
		}
	}
	return c
}

// keyValues parses the W3C Baggage-like list "k1=v1,k2=v2" of the OTEL_* variables, values
// percent-decoded. The problem it reports names the variable, never the values (credentials).
func keyValues(name, s string, bad func(string, ...any)) map[string]string {
	if s == "" {
		return nil
	}
	out := map[string]string{}
	for i, kv := range strings.Split(s, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, val, ok := strings.Cut(kv, "=")
		k, val = strings.TrimSpace(k), strings.TrimSpace(val)
		dec, err := url.PathUnescape(val)
		if !ok || k == "" || err != nil {
			bad("%s: entry %d is not key=value (percent-encoded)", name, i+1)
			continue
		}
		out[k] = dec
	}
	return out
}

// redactURL hides a URL's password, for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
