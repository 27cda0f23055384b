package metrics

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Unmatched is the route label of requests that no route handled: unknown paths (404), known
// paths with a method they do not take (405), methods nobody knows, and requests answered
// before routing (a CORS preflight, a refused Content-Encoding, oversized headers). Raw paths
// never become labels.
const Unmatched = "unmatched"

// knownMethods are the methods that are their own label value; any other is "other".
var knownMethods = set("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")

// durationBuckets are the request duration histogram's upper bounds, in seconds.
var durationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// statusClasses are the status label's values, by class(status).
var statusClasses = [4]string{"2xx", "3xx", "4xx", "5xx"}

// causeNames are the values of boxoffice_unavailable_total's cause label.
var causeNames = []string{"redis", "database", "timeout", "draining", "streams_full", "hash_busy", "other"}

// maxOutcomes bounds the outcome label values of one operation (problem codes are a fixed
// table; this only guards against a bug).
const maxOutcomes = 64

func (m *Metrics) initHTTP() {
	labels := []string{"method", "route", "status"}
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "http_requests_total",
		Help: "HTTP requests answered, by method, route template (\"unmatched\" when no route handled it) and status class.",
	}, labels)
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "http_request_duration_seconds",
		Help:    "Time from a request's arrival in the router to its response being ready (for seat-map streams: until the stream is accepted), by method, route template and status class.",
		Buckets: durationBuckets,
	}, labels)
	m.problems = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "problems_total",
		Help: "RFC 9457 problems written, by their stable code and HTTP status.",
	}, []string{"code", "status"})
	m.problemSet.max = 256
	m.unavailable = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "unavailable_total",
		Help: "503 answers by cause: redis, database, timeout (request deadline), draining (shutting down), streams_full, hash_busy (password hashing saturated), other.",
	}, []string{"cause"})
	for _, c := range causeNames {
		m.unavailable.WithLabelValues(c) // present from the start, for ratios and alerts
	}
	m.operations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "operations_total",
		Help: "Business operations (login, refresh, hold_create, order_create, payment_webhook, ...) by outcome: ok, or the problem code.",
	}, []string{"operation", "outcome"})
	m.reg.MustRegister(m.httpRequests, m.httpDuration, m.problems, m.unavailable, m.operations)
}

// Route observes the requests of one route and method. Make one per route at start-up (its
// series are created on first use, so routes never called export nothing); Observe then
// costs no allocation and no lock.
type Route struct {
	m             *Metrics
	method, route string
	series        [len(statusClasses)]atomic.Pointer[routeSeries]
}

type routeSeries struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

// Route returns the observer of requests with method (upper case; a method HTTP does not
// define counts as "other") to route, a route template such as /v1/holds/:id or Unmatched.
// route must come from the code, never from a request.
func (m *Metrics) Route(method, route string) *Route {
	if !knownMethods[method] {
		method = "other"
	}
	return &Route{m: m, method: method, route: route}
}

// Observe counts one request answered with status after d.
func (r *Route) Observe(status int, d time.Duration) {
	i := class(status)
	s := r.series[i].Load()
	if s == nil {
		s = &routeSeries{
			count:    r.m.httpRequests.WithLabelValues(r.method, r.route, statusClasses[i]),
			duration: r.m.httpDuration.WithLabelValues(r.method, r.route, statusClasses[i]),
		}
		if !r.series[i].CompareAndSwap(nil, s) {
			s = r.series[i].Load() // the same children: the vectors return one child per labels
		}
	}
	s.count.Inc()
	s.duration.Observe(d.Seconds())
}

// class is the index in statusClasses of status; informational statuses count as 2xx and
// anything past 5xx as 5xx.
func class(status int) int {
	switch {
	case status < 300:
		return 0
	case status < 400:
		return 1
	case status < 500:
		return 2
	}
	return 3
}

// Operation counts one business operation by outcome.
type Operation struct {
	m        *Metrics
	name     string
	ok       prometheus.Counter
	outcomes bounded[string, prometheus.Counter]
}

// Operation returns the counter of the operation name (a fixed word from the code, such as
// "hold_create"). Its "ok" series exists from the start.
func (m *Metrics) Operation(name string) *Operation {
	o := &Operation{m: m, name: name, ok: m.operations.WithLabelValues(name, "ok")}
	o.outcomes.max = maxOutcomes
	return o
}

// Observe counts one operation with outcome: "ok", or the problem code it failed with (a code
// of the problem table, or "other").
func (o *Operation) Observe(outcome string) {
	if outcome == "ok" {
		o.ok.Inc()
		return
	}
	o.outcomes.get(outcome, "other", func(v string) prometheus.Counter {
		return o.m.operations.WithLabelValues(o.name, v)
	}).Inc()
}

type problemKey struct {
	code   string
	status int
}

// Problem counts one problem written with code and status. code comes from the problem table;
// past 256 distinct (code, status) pairs, new ones count as code "other".
func (m *Metrics) Problem(code string, status int) {
	m.problemSet.get(problemKey{code, status}, problemKey{"other", status}, func(k problemKey) prometheus.Counter {
		return m.problems.WithLabelValues(k.code, strconv.Itoa(k.status))
	}).Inc()
}

// Unavailable counts one 503 with cause, one of causeNames (else "other").
func (m *Metrics) Unavailable(cause string) {
	if c, err := m.unavailable.GetMetricWithLabelValues(pick(cause, unavailableCauses)); err == nil {
		c.Inc()
	}
}

var unavailableCauses = set(causeNames...)
