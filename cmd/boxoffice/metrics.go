package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/redis/go-redis/v9"

	"boxoffice/audit"
	"boxoffice/metrics"
	"boxoffice/session"
	"boxoffice/tickets"
	"boxoffice/tickets/live"
	"boxoffice/tickets/postgres"
)

// newMetrics returns the metrics of this instance when BOXOFFICE_METRICS_ADDR is set (else nil:
// nothing is counted) with the Redis client's commands and pool, the ticket store's pool
// (PostgreSQL only) and the live seat maps' streams registered on them.
func newMetrics(cfg config, rdb redis.UniversalClient, tstore tickets.Store, hub *live.Hub) *metrics.Metrics {
	if cfg.MetricsAddr == "" {
		return nil
	}
	m := metrics.New()
	session.Observe(rdb, m)
	m.RegisterRedisPool(func() metrics.RedisPool {
		s := session.Pool(rdb)
		return metrics.RedisPool{Hits: uint64(s.Hits), Misses: uint64(s.Misses), Timeouts: uint64(s.Timeouts),
			StaleConns: uint64(s.StaleConns), TotalConns: uint64(s.TotalConns), IdleConns: uint64(s.IdleConns)}
	})
	if pg, ok := tstore.(*postgres.Store); ok {
		m.RegisterDBPool(func() metrics.DBPool {
			s := pg.PoolStats()
			return metrics.DBPool{AcquiredConns: int64(s.AcquiredConns), IdleConns: int64(s.IdleConns),
				TotalConns: int64(s.TotalConns), MaxConns: int64(s.MaxConns), AcquireCount: s.AcquireCount,
				EmptyAcquireCount: s.EmptyAcquireCount, CanceledAcquireCount: s.CanceledAcquireCount,
				AcquireDuration: s.AcquireDuration}
		})
	}
	m.RegisterStreams(hub.Streams)
	return m
}

// withMetrics returns r that also counts every event in m; r itself when m is nil.
func withMetrics(r audit.Recorder, m *metrics.Metrics) audit.Recorder {
	if m == nil {
		return r
	}
	if r == nil {
		return m
	}
	return audit.Recorders{r, m}
}

// startMetrics serves m at /metrics on addr, with net/http on a listener of its own (never the
// API's port), and returns the function that stops it. A host that is a public IP address is
// allowed, with a warning: the metrics hold no secret, but they describe the service.
func startMetrics(addr string, m *metrics.Metrics, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("metrics server stopped", "err", err)
		}
	}()
	if publicHost(addr) {
		log.Warn("BOXOFFICE_METRICS_ADDR is a public address: keep the metrics port away from the internet (firewall, or a private or loopback address)", "addr", addr)
	}
	log.Info("metrics server listening", "addr", ln.Addr().String(), "path", "/metrics")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}, nil
}

// publicHost reports whether addr's host is an IP address on the public internet (not
// loopback, private, link-local or unspecified). Names are not resolved.
func publicHost(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	return ip.IsGlobalUnicast() && !ip.IsPrivate()
}
