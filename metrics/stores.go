package metrics

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DBPool is a snapshot of the PostgreSQL connection pool.
type DBPool struct {
	AcquiredConns, IdleConns, TotalConns, MaxConns int64 // now
	// Since start: connections acquired, acquisitions that had to wait for a connection
	// (none was idle), acquisitions cancelled by their context, and the time spent acquiring.
	AcquireCount, EmptyAcquireCount, CanceledAcquireCount int64
	AcquireDuration                                       time.Duration
}

// RegisterDBPool exports stats, called once per scrape, as boxoffice_db_pool_*. Only the
// PostgreSQL store has a pool; with the embedded SQLite nothing is registered.
func (m *Metrics) RegisterDBPool(stats func() DBPool) {
	m.reg.MustRegister(&snapshotCollector[DBPool]{snapshot: stats, fields: []snapshotField[DBPool]{
		gaugeField("db_pool_acquired_conns", "PostgreSQL connections in use.", func(s DBPool) float64 { return float64(s.AcquiredConns) }),
		gaugeField("db_pool_idle_conns", "Idle PostgreSQL connections.", func(s DBPool) float64 { return float64(s.IdleConns) }),
		gaugeField("db_pool_total_conns", "PostgreSQL connections open (in use, idle, being opened).", func(s DBPool) float64 { return float64(s.TotalConns) }),
		gaugeField("db_pool_max_conns", "The PostgreSQL pool's size (BOXOFFICE_DB_MAX_CONNS).", func(s DBPool) float64 { return float64(s.MaxConns) }),
		counterField("db_pool_acquire_count_total", "PostgreSQL connections acquired from the pool.", func(s DBPool) float64 { return float64(s.AcquireCount) }),
		counterField("db_pool_acquire_duration_seconds_total", "Time spent acquiring PostgreSQL connections.", func(s DBPool) float64 { return s.AcquireDuration.Seconds() }),
		counterField("db_pool_empty_acquire_count_total", "Acquisitions that waited because no PostgreSQL connection was idle.", func(s DBPool) float64 { return float64(s.EmptyAcquireCount) }),
		counterField("db_pool_canceled_acquire_count_total", "Acquisitions cancelled by their deadline before a PostgreSQL connection was free.", func(s DBPool) float64 { return float64(s.CanceledAcquireCount) }),
	}})
}

// RegisterStreams exports open, called at each scrape, as boxoffice_sse_streams.
func (m *Metrics) RegisterStreams(open func() int) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: namespace, Name: "sse_streams",
		Help: "Live seat-map streams (Server-Sent Events) open on this instance.",
	}, func() float64 { return float64(open()) }))
}

// RegisterAuditFailures exports failures, called at each scrape, as
// boxoffice_audit_write_failures_total: audit events that could not be kept in Redis (they were
// still written to the audit stream and counted).
func (m *Metrics) RegisterAuditFailures(failures func() uint64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: namespace, Name: "audit_write_failures_total",
		Help: "Audit events that could not be kept in Redis (the audit stream still has them).",
	}, func() float64 { return float64(failures()) }))
}

// SessionsEstimateTTL is how long a computed boxoffice_sessions_estimate is reused.
const SessionsEstimateTTL = 30 * time.Second

// sessionsEstimateTimeout bounds one computation of the estimate, within a scrape.
const sessionsEstimateTimeout = 2 * time.Second

// sessionsEstimate caches the estimate between scrapes.
type sessionsEstimate struct {
	mu    sync.Mutex
	at    time.Time // of the last computation; zero: never
	value float64
	now   func() time.Time
}

// RegisterSessionsEstimate exports boxoffice_sessions_estimate: estimate is called at scrape
// time, at most once per SessionsEstimateTTL (other scrapes reuse its answer), with a 2s
// deadline. A failed estimate reads NaN until the next computation.
func (m *Metrics) RegisterSessionsEstimate(estimate func(context.Context) (float64, error)) {
	e := &m.sessions
	if e.now == nil {
		e.now = time.Now
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: namespace, Name: "sessions_estimate",
		Help: "Estimate of the live sessions in Redis (all instances), sampled, refreshed at most every 30s; NaN when Redis could not be asked.",
	}, func() float64 {
		e.mu.Lock()
		defer e.mu.Unlock()
		if now := e.now(); e.at.IsZero() || now.Sub(e.at) >= SessionsEstimateTTL {
			ctx, cancel := context.WithTimeout(context.Background(), sessionsEstimateTimeout)
			v, err := estimate(ctx)
			cancel()
			if err != nil {
				v = math.NaN()
			}
			e.at, e.value = now, v
		}
		return e.value
	}))
}

// snapshotCollector exports the fields of one snapshot of a pool, taken once per scrape.
type snapshotCollector[S any] struct {
	snapshot func() S
	fields   []snapshotField[S]
}

type snapshotField[S any] struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(S) float64
}

func counterField[S any](name, help string, v func(S) float64) snapshotField[S] {
	return snapshotField[S]{prometheus.NewDesc(namespace+"_"+name, help, nil, nil), prometheus.CounterValue, v}
}

func gaugeField[S any](name, help string, v func(S) float64) snapshotField[S] {
	return snapshotField[S]{prometheus.NewDesc(namespace+"_"+name, help, nil, nil), prometheus.GaugeValue, v}
}

// Describe implements prometheus.Collector.
func (c *snapshotCollector[S]) Describe(ch chan<- *prometheus.Desc) {
	for _, f := range c.fields {
		ch <- f.desc
	}
}

// Collect implements prometheus.Collector.
func (c *snapshotCollector[S]) Collect(ch chan<- prometheus.Metric) {
	s := c.snapshot()
	for _, f := range c.fields {
		ch <- prometheus.MustNewConstMetric(f.desc, f.kind, f.value(s))
	}
}

// SessionCache is a snapshot of the per-instance session cache. The counters count since start.
type SessionCache struct {
	Hits, Misses, Invalidations, Flushes uint64
	Entries, Bytes                       int
	Serving                              bool
}

// RegisterSessionCache exports stats, called once per scrape, as boxoffice_session_cache_*.
// Registered only when the cache is on.
func (m *Metrics) RegisterSessionCache(stats func() SessionCache) {
	m.reg.MustRegister(&snapshotCollector[SessionCache]{snapshot: stats, fields: []snapshotField[SessionCache]{
		counterField("session_cache_hits_total", "Authenticated reads answered from this instance's session cache.", func(s SessionCache) float64 { return float64(s.Hits) }),
		counterField("session_cache_misses_total", "Reads while the cache was serving that were not held, and went to Redis.", func(s SessionCache) float64 { return float64(s.Misses) }),
		counterField("session_cache_invalidations_total", "Session and account keys Redis reported changed on the invalidation link.", func(s SessionCache) float64 { return float64(s.Invalidations) }),
		counterField("session_cache_flushes_total", "Times the cache dropped everything (invalidation link lost or re-established, FLUSHALL).", func(s SessionCache) float64 { return float64(s.Flushes) }),
		gaugeField("session_cache_entries", "Sessions and accounts held.", func(s SessionCache) float64 { return float64(s.Entries) }),
		gaugeField("session_cache_bytes", "Estimated bytes held.", func(s SessionCache) float64 { return float64(s.Bytes) }),
		gaugeField("session_cache_serving", "1 while the invalidation link is proved current and cached sessions are served, else 0.", func(s SessionCache) float64 {
			if s.Serving {
				return 1
			}
			return 0
		}),
	}})
}
