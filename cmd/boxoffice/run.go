package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"time"

	"github.com/alicebob/miniredis/v2"
	redisstorage "github.com/gofiber/storage/redis/v3"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"boxoffice"
	"boxoffice/accounts"
	"boxoffice/api"
	"boxoffice/audit/redisaudit"
	"boxoffice/auth"
	"boxoffice/metrics"
	"boxoffice/session"
	"boxoffice/tickets"
	"boxoffice/tickets/demo"
	"boxoffice/tickets/live"
	"boxoffice/tickets/live/redisbroker"
	"boxoffice/tracing"
	"boxoffice/web"
)

// run is the whole program: it reads the configuration once, wires the dependencies and serves
// until ctx is cancelled. args may be empty (serve), "healthcheck", "admin ..." (see
// adminCommand), "demo-data", "version" or "help" (see usage).
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "help", "-h", "--help":
			usage(stdout)
			return nil
		case "version", "--version":
			return versionCommand(stdout)
		}
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	if len(args) > 0 {
		switch args[0] {
		case "serve":
		case "healthcheck":
			return healthcheck(ctx, cfg.Addr, stdout)
		case "admin":
			return adminCommand(ctx, cfg, args[1:], stdout, stderr)
		case "demo-data":
			return demoDataCommand(ctx, cfg, stdout)
		default:
			return fmt.Errorf("unknown command %q (commands: serve, healthcheck, admin, demo-data, version, help; see boxoffice --help)", args[0])
		}
	}
	logs := slog.Handler(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	if cfg.Tracing.Enabled {
		logs = tracing.LogHandler(logs) // trace_id and span_id on the lines of traced requests
	}
	log := slog.New(logs)
	// go-redis prints its own plain-text lines on stderr through one process-wide logger; this is
	// the one global we set, so that every line is JSON (at most 10 a second).
	session.RouteClientLogs(log, 10)
	logConfig(log, cfg)
	tp, clientTP, stopTracing, err := startTracing(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer stopTracing() // last: flushes the spans of the final requests

	redisURL := cfg.RedisURL
	if !cfg.externalRedis() {
		m := miniredis.NewMiniRedis()
		m.ClockTTL(true)
		if err := m.StartAddr("127.0.0.1:0"); err != nil {
			return fmt.Errorf("start embedded redis: %w", err)
		}
		defer m.Close()
		redisURL = "redis://" + m.Addr()
		log.Warn("REDIS_URL is not set: using an embedded in-process Redis; sessions are not shared with other instances and are lost on exit")
	}
	if p := argon2Params(cfg); !p.AtLeastOWASP() {
		log.Warn("BOXOFFICE_ARGON2_MEMORY_KIB and BOXOFFICE_ARGON2_ITERATIONS are below OWASP's minimum for argon2id (19 MiB, 2 iterations): use such settings for tests only",
			"memory_kib", p.MemoryKiB, "iterations", p.Time)
	}
	if len(cfg.PublicOrigins) == 0 && len(cfg.CORSOrigins) == 0 && !cfg.InsecureCookies {
		log.Info("BOXOFFICE_PUBLIC_ORIGINS is not set: browsers cannot use the cookie transport (their cookie-authenticated requests are refused); bearer clients are not affected")
	}
	if cfg.SecretGenerated {
		log.Warn("BOXOFFICE_JWT_SECRET is not set: using a random key; tokens stop working when the process exits")
	}
	warnPayments(cfg, log)

	rdb, err := session.NewClient(session.ClientConfig{
		URL: redisURL, ClusterAddrs: cfg.ClusterAddrs, SentinelAddrs: cfg.SentinelAddrs,
		MasterName: cfg.SentinelMaster, Username: cfg.RedisUsername, Password: cfg.RedisPassword,
		ReadTimeout: cfg.RedisTimeout, WriteTimeout: cfg.RedisTimeout,
		PoolTimeout: cfg.RedisTimeout, PoolSize: cfg.RedisPoolSize,
	})
	if err != nil {
		return err
	}
	defer rdb.Close()
	if clientTP != nil {
		if err := session.InstrumentTracing(rdb, clientTP); err != nil {
			return err
		}
	}

	tstore, err := openTickets(ctx, cfg, clock(cfg), log, clientTP)
	if err != nil {
		return err
	}
	defer tstore.Close()
	hub := live.NewHub(tstore, redisbroker.New(rdb, redisbroker.DefaultChannel), live.Config{
		PublishInterval: cfg.EventsPublishInterval, PollInterval: cfg.EventsPollInterval,
		Retention: cfg.EventsRetention, MaxStreams: cfg.MaxStreams, Logger: log,
	})
	hctx, stopHub := context.WithCancel(context.WithoutCancel(ctx))
	hubDone := make(chan struct{})
	go func() { defer close(hubDone); hub.Run(hctx) }()
	defer func() { stopHub(); <-hubDone }()
	m := newMetrics(cfg, rdb, tstore, hub) // nil without BOXOFFICE_METRICS_ADDR
	auditOut, closeAudit, err := openAuditLog(cfg.AuditLog, stdout, stderr)
	if err != nil {
		return err
	}
	defer closeAudit()
	srv, store, ticketing, err := newServer(cfg, rdb, tstore, hub, log, tp, m, auditOut)
	if err != nil {
		return err
	}
	defer store.Wait() // background touches finish before the client closes
	if stop := startSessionCache(ctx, cfg, store, log, m); stop != nil {
		defer stop()
	}
	if cfg.DemoData {
		n, err := demo.Load(ctx, ticketing, clock(cfg)())
		if err != nil {
			return fmt.Errorf("load the demo catalogue: %w", err)
		}
		log.Info("demo catalogue loaded", "movies", len(demo.Movies), "new_screenings", n)
	}
	jctx, stopJanitor := context.WithCancel(ctx)
	janitorDone := make(chan struct{})
	go func() {
		defer close(janitorDone)
		(&tickets.Janitor{Service: ticketing, Interval: cfg.JanitorInterval, SweepInterval: cfg.SweepInterval, Logger: log}).Run(jctx)
	}()
	defer func() { stopJanitor(); <-janitorDone }()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	pingCtx, cancel := context.WithTimeout(ctx, time.Second)
	if err := store.LoadScripts(pingCtx); err != nil {
		log.Warn("redis is not reachable yet; answering 503 until it is", "err", err)
	}
	cancel()
	log.Info("listening", "addr", ln.Addr().String(), "embedded_redis", !cfg.externalRedis(),
		"docs", docsURL(ln.Addr()), "version", readBuild().short())
	if cfg.ClockOffset != 0 {
		log.Warn("BOXOFFICE_CLOCK_OFFSET shifts this instance's clock; it exists for tests", "offset", cfg.ClockOffset.String())
	}

	if cfg.DebugAddr != "" {
		if err := startDebug(ctx, cfg.DebugAddr, log); err != nil {
			return err
		}
	}
	if m != nil {
		stopMetrics, err := startMetrics(cfg.MetricsAddr, m, log)
		if err != nil {
			ln.Close()
			return fmt.Errorf("metrics listener (BOXOFFICE_METRICS_ADDR): %w", err)
		}
		defer stopMetrics() // after the API's shutdown: the drain stays visible to scrapes
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "drain_delay", cfg.DrainDelay.String())
	srv.SetDraining(true)
	time.Sleep(cfg.DrainDelay) // let load balancers see /readyz fail before connections close
	hub.Close()                // streams end (clients reconnect elsewhere with Last-Event-ID): connections can drain
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// newServer wires the domain packages and the HTTP API over one Redis client. auditOut is the
// audit stream's destination (nil: off).
func newServer(cfg config, rdb redis.UniversalClient, tstore tickets.Store, hub *live.Hub, log *slog.Logger, tp trace.TracerProvider, m *metrics.Metrics, auditOut io.Writer) (*api.Server, *session.Store, *tickets.Service, error) {
	now := clock(cfg)
	kept := redisaudit.New(rdb, redisaudit.Config{MaxPerUser: cfg.AuditMaxPerUser, MaxEvents: cfg.AuditMaxEvents,
		Retention: cfg.AuditRetention, Now: now})
	events := newAuditRecorder(auditOut, kept, cfg.RedisTimeout, log, now, m) // every audit event goes here: its stream, Redis, the metrics
	keys, err := auth.NewKeyRing(cfg.JWTSecret, cfg.PreviousSecrets...)
	if err != nil {
		return nil, nil, nil, err
	}
	tokens, err := auth.NewTokens(auth.TokenConfig{
		Issuer: cfg.Issuer, Audience: cfg.Audience, TTL: cfg.AccessTTL, Now: now, CacheSize: 10000,
		Keys: keys,
	})
	if err != nil {
		return nil, nil, nil, err
	}
	scfg := session.DefaultConfig()
	scfg.IdleTTL = cfg.IdleTTL
	scfg.AbsoluteTTL = cfg.AbsoluteTTL
	scfg.RefreshGrace = cfg.RefreshGrace
	scfg.TouchInterval = cfg.TouchInterval
	scfg.RevocationPad = max(tokens.Leeway()+5*time.Second, time.Second)
	scfg.RevocationReplicas = cfg.RevocationReplicas
	scfg.RevocationWait = cfg.RevocationWait
	scfg.MaxDataKeys = cfg.MaxDataKeys
	scfg.MaxDataBytes = cfg.MaxDataBytes
	scfg.MaxUserDataBytes = cfg.UserDataMaxBytes
	scfg.MaxSessions = cfg.MaxSessions
	scfg.Now = now
	scfg.Audit = events
	store, err := session.New(rdb, scfg)
	if err != nil {
		return nil, nil, nil, err
	}
	if m != nil {
		m.RegisterSessionsEstimate(store.EstimateSessions)
	}
	ticketing := newTickets(cfg, tstore, store, now, events)
	users := store.Users()
	passwords := auth.NewPasswords(argon2Params(cfg), min(cfg.HashConcurrency, 4*runtime.NumCPU()))
	acc := &accounts.Service{
		Users: users, Sessions: store, Throttle: store.Throttle(), Passwords: passwords,
		Tokens: tokens, RefreshTokens: auth.NewRefreshTokens(keys),
		Devices: auth.NewDeviceTokens(keys),
		Limits: accounts.Limits{
			PerAccount: cfg.LoginMaxPerAccount, PerAccountGlobal: cfg.LoginMaxPerAccountGlobal,
			PerIP: cfg.LoginMaxPerIP, Window: cfg.LoginWindow,
		},
		Log: log, Now: now, Audit: events,
	}
	srv, err := api.NewServer(api.Config{
		RequestTimeout:     cfg.RequestTimeout,
		BodyLimit:          max(512<<10, 4*cfg.MaxDataBytes), // a 2000-seat hall layout is about 250 KiB
		TrustedProxies:     cfg.TrustedProxies,
		ProxyHeader:        cfg.ProxyHeader,
		RegisterPerIP:      cfg.RegisterMaxPerIP,
		CORSOrigins:        cfg.CORSOrigins,
		PublicOrigins:      cfg.PublicOrigins,
		InsecureDevCookies: cfg.InsecureCookies,
		Streams:            api.StreamConfig{Heartbeat: cfg.EventsHeartbeat},
	}, api.Deps{
		Accounts:  acc,
		Sessions:  store,
		Users:     users,
		Passwords: passwords,
		Tokens:    tokens,
		CSRF:      auth.NewCSRF(keys),
		Storage:   redisstorage.NewFromConnection(rdb),
		Ping:      store.Ping,
		Logger:    log,
		Spec:      boxoffice.OpenAPI,
		Web:       web.Assets(),
		Now:       now,
		Tickets:   ticketing,
		Live:      hub,

		TracerProvider: tp,
		Metrics:        m,
		Audit:          events,
		Activity:       kept,
	})
	return srv, store, ticketing, err
}

// startSessionCache turns the session cache on when it is configured and possible, and
// returns what stops it (nil when it is off). Its counters go to m (when not nil).
func startSessionCache(ctx context.Context, cfg config, store *session.Store, log *slog.Logger, m *metrics.Metrics) func() {
	switch {
	case !cfg.SessionCache:
		log.Info("session cache off (BOXOFFICE_SESSION_CACHE=off): every authenticated request reads Redis")
		return nil
	case !cfg.externalRedis():
		log.Info("session cache off: the embedded Redis is in-process already")
		return nil
	}
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	wait, err := store.StartCache(cctx, session.CacheConfig{MaxEntries: cfg.SessionCacheEntries,
		MaxBytes: cfg.SessionCacheBytes, Staleness: cfg.SessionCacheStaleness}, log)
	if err != nil {
		cancel()
		log.Info("session cache off: " + err.Error())
		return nil
	}
	if m != nil {
		m.RegisterSessionCache(func() metrics.SessionCache {
			st := store.CacheStats()
			return metrics.SessionCache{Hits: st.Hits, Misses: st.Misses, Invalidations: st.Invalidations,
				Flushes: st.Flushes, Entries: st.Entries, Bytes: st.Bytes, Serving: st.Serving}
		})
	}
	log.Info("session cache on", "entries", cfg.SessionCacheEntries, "bytes", cfg.SessionCacheBytes,
		"staleness", cfg.SessionCacheStaleness.String())
	return func() { cancel(); wait() }
}

// clock is the application clock: the wall clock, shifted by BOXOFFICE_CLOCK_OFFSET.
func clock(cfg config) func() time.Time {
	if cfg.ClockOffset == 0 {
		return time.Now
	}
	return func() time.Time { return time.Now().Add(cfg.ClockOffset) }
}

// argon2Params are the password-hashing costs the configuration asks for.
func argon2Params(cfg config) auth.Argon2Params {
	return auth.Argon2Params{MemoryKiB: cfg.Argon2MemoryKiB, Time: cfg.Argon2Time, Threads: auth.DefaultArgon2.Threads}
}

// healthcheck asks the local server's /healthz (for container HEALTHCHECK in images without
// curl) and returns an error unless it answers 200.
func healthcheck(ctx context.Context, addr string, stdout io.Writer) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+port+"/healthz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthz answered %d", resp.StatusCode)
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}
