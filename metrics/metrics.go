// Package metrics counts what boxoffice does as Prometheus metrics — HTTP requests and problems,
// sign-ins, revocations and payments (from audit events), the Redis and PostgreSQL clients, live
// seat-map streams and the Go runtime — on a registry of its own, served by Handler.
package metrics

import (
	"net/http"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// namespace starts every boxoffice metric name.
const namespace = "boxoffice"

// Metrics is every boxoffice metric, on its own registry (never Prometheus' global one). It is
// safe for concurrent use. The zero value is not usable: call New.
type Metrics struct {
	reg *prometheus.Registry

	httpRequests *prometheus.CounterVec   // method, route, status (class)
	httpDuration *prometheus.HistogramVec // method, route, status (class)
	problems     *prometheus.CounterVec   // code, status
	unavailable  *prometheus.CounterVec   // cause
	operations   *prometheus.CounterVec   // operation, outcome
	problemSet   bounded[problemKey, prometheus.Counter]

	audit auditCounters

	redisDuration *prometheus.HistogramVec // command
	redisErrors   *prometheus.CounterVec   // command
	redisCommands map[string]*redisCommand // the allow-list, fixed at New; "other" included

	sessions sessionsEstimate
}

// New returns the metrics on a fresh registry with the Go runtime and process collectors and
// boxoffice_build_info registered. The store metrics (RegisterRedisPool, RegisterDBPool,
// RegisterStreams, RegisterSessionsEstimate) are added by the caller when it has the stores.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfo(),
	)
	m.initHTTP()
	m.initAudit()
	m.initRedis()
	return m
}

// Handler serves the metrics in the Prometheus text (or, when asked, OpenMetrics) format. A
// collector that fails is reported in the scrape and does not hide the others.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
		Registry:          m.reg, // promhttp_metric_handler_errors_total
	})
}

// Gatherer returns the registry, for tests that read values without HTTP.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// buildInfo is boxoffice_build_info{version,commit,go} = 1, read from the binary's build
// information: the main module's version ("(devel)" for a local build), its VCS revision
// ("unknown" when built without VCS stamping) and the Go version.
func buildInfo() prometheus.Collector {
	version, commit, goVersion := "unknown", "unknown", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				commit = s.Value
			}
		}
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info",
		Help:        "Always 1; the labels say which build runs: module version, VCS commit, Go version.",
		ConstLabels: prometheus.Labels{"version": version, "commit": commit, "go": goVersion},
	})
	g.Set(1)
	return g
}
