package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"boxoffice/tracing"
)

// config is every setting, read once from the environment at startup.
type config struct {
	Addr            string
	RedisURL        string
	ClusterAddrs    []string
	SentinelAddrs   []string
	SentinelMaster  string
	RedisUsername   string
	RedisPassword   string
	JWTSecret       []byte
	PreviousSecrets [][]byte
	SecretGenerated bool
	Issuer          string
	Audience        string

	AccessTTL     time.Duration
	IdleTTL       time.Duration
	AbsoluteTTL   time.Duration
	RefreshGrace  time.Duration
	TouchInterval time.Duration

	MaxDataKeys      int
	MaxDataBytes     int
	UserDataMaxBytes int // session data of all of a user's sessions together
	MaxSessions      int // live sessions per user; login beyond it revokes the least recently used

	Argon2MemoryKiB uint32
	Argon2Time      uint32

	LoginMaxPerAccount       int
	LoginMaxPerAccountGlobal int
	LoginMaxPerIP            int
	LoginWindow              time.Duration
	RegisterMaxPerIP         int

	TrustedProxies  []string
	ProxyHeader     string
	CORSOrigins     []string
	PublicOrigins   []string // origins (scheme://host[:port]) under which browsers reach this API
	InsecureCookies bool

	RequestTimeout  time.Duration
	ShutdownTimeout time.Duration
	DrainDelay      time.Duration
	RedisTimeout    time.Duration
	RedisPoolSize   int
	HashConcurrency int
	LogLevel        slog.Level

	DebugAddr string // where pprof listens (loopback only); "" disables
	// MetricsAddr is where Prometheus metrics are served (/metrics), never the API's port; ""
	// disables them (nothing is counted).
	MetricsAddr string

	RevocationReplicas int
	RevocationWait     time.Duration

	// SessionCache turns on the per-instance session cache (BOXOFFICE_SESSION_CACHE, default
	// on); it runs only with a single external Redis or Sentinel.
	SessionCache          bool
	SessionCacheEntries   int
	SessionCacheBytes     int
	SessionCacheStaleness time.Duration

	DatabaseURL     string        // PostgreSQL; "" means the embedded SQLite
	SQLitePath      string        // the embedded SQLite's file; "" keeps it in memory
	DBMaxConns      int           // PostgreSQL pool size
	HoldTTL         time.Duration // how long a hold keeps its seats
	MaxSeatsPerHold int
	JanitorInterval time.Duration // how often expired holds and holds of ended sessions are tidied
	SweepInterval   time.Duration // how often expired holds are marked (and their seats announced free)
	DemoData        bool          // load the demo catalogue at start-up

	CancelCutoff     time.Duration // buyers may cancel a confirmed order until this long before the screening
	PaymentGrace     time.Duration // how long past its deadline a pending payment may complete before it is cancelled
	IdempotencyLease time.Duration // how long a request owns its Idempotency-Key before a retry may take its order over (> RequestTimeout)
	TestPayments     bool          // the built-in "test" payment provider, which accepts fake payments
	WebhookSecret    []byte        // signs payment webhooks; empty refuses every webhook
	// Live seat maps (Server-Sent Events).
	EventsPublishInterval time.Duration // how often the outbox is published (by one instance at a time)
	EventsPollInterval    time.Duration // how often each instance checks the outbox for events the broker lost
	EventsRetention       time.Duration // how long events are kept for resuming clients
	EventsHeartbeat       time.Duration // comment line on an idle stream
	MaxStreams            int           // open streams per instance

	// The audit trail: its JSON lines, and what Redis keeps for GET /v1/me/activity and
	// GET /v1/admin/audit.
	AuditLog        string        // "stderr", "stdout", "off" or a file path (appended to, 0600)
	AuditMaxPerUser int           // events kept per user
	AuditMaxEvents  int           // events kept in all (approximately)
	AuditRetention  time.Duration // no event older is kept or shown

	// ClockOffset shifts this instance's clock (tests of clock skew between instances only).
	ClockOffset time.Duration

	Tracing tracing.Config // the OTEL_* variables: OpenTelemetry tracing, off unless they ask
}

// externalRedis reports whether a Redis to connect to is configured (else: embedded).
func (c config) externalRedis() bool {
	return c.RedisURL != "" || len(c.ClusterAddrs) > 0 || len(c.SentinelAddrs) > 0
}

// origins reads a comma-separated list of browser origins such as https://app.example.com.
func origins(name string, getenv func(string) string, bad func(string, ...any)) []string {
	var out []string
	for _, o := range strings.Split(getenv(name), ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" ||
			u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.Contains(o, "*") {
			bad("%s: %q is not an origin like https://app.example.com (no wildcards, paths or trailing slash)", name, o)
			continue
		}
		out = append(out, o)
	}
	return out
}

// hostPorts reads a comma-separated list of host:port addresses.
func hostPorts(name string, getenv func(string) string, bad func(string, ...any)) []string {
	var out []string
	for _, a := range strings.Split(getenv(name), ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			bad("%s: %q is not host:port", name, a)
			continue
		}
		out = append(out, a)
	}
	return out
}

// loadConfig reads the BOXOFFICE_* and REDIS_URL variables. It reports every problem at once.
func loadConfig(getenv func(string) string) (config, error) {
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	str := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	dur := func(name string, def, min time.Duration) time.Duration {
		v := getenv(name)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			bad("%s=%q is not a duration (examples: 300ms, 5m, 168h)", name, v)
			return def
		}
		if d < min {
			bad("%s=%s must be at least %s", name, v, min)
		}
		return d
	}
	num := func(name string, def, min int) int {
		v := getenv(name)
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < min {
			bad("%s=%q must be an integer of at least %d", name, v, min)
			return def
		}
		return n
	}

	c := config{
		Addr:     str("BOXOFFICE_ADDR", ":8080"),
		RedisURL: str("REDIS_URL", ""),
		Issuer:   str("BOXOFFICE_ISSUER", "boxoffice"),
		Audience: str("BOXOFFICE_AUDIENCE", "boxoffice"),

		AccessTTL:     dur("BOXOFFICE_ACCESS_TTL", 5*time.Minute, time.Second),
		IdleTTL:       dur("BOXOFFICE_IDLE_TTL", 7*24*time.Hour, time.Second),
		AbsoluteTTL:   dur("BOXOFFICE_ABSOLUTE_TTL", 30*24*time.Hour, time.Second),
		RefreshGrace:  dur("BOXOFFICE_REFRESH_GRACE", 10*time.Second, 0),
		TouchInterval: dur("BOXOFFICE_TOUCH_INTERVAL", time.Minute, 0),

		MaxDataKeys:      num("BOXOFFICE_SESSION_DATA_MAX_KEYS", 64, 1),
		MaxDataBytes:     num("BOXOFFICE_SESSION_DATA_MAX_BYTES", 16<<10, 1),
		UserDataMaxBytes: num("BOXOFFICE_USER_DATA_MAX_BYTES", 256<<10, 1),
		MaxSessions:      num("BOXOFFICE_MAX_SESSIONS_PER_USER", 50, 1),

		Argon2MemoryKiB: uint32(num("BOXOFFICE_ARGON2_MEMORY_KIB", 19*1024, 8)),
		Argon2Time:      uint32(num("BOXOFFICE_ARGON2_ITERATIONS", 2, 1)),

		LoginMaxPerAccount:       num("BOXOFFICE_LOGIN_MAX_PER_ACCOUNT", 10, 1),
		LoginMaxPerAccountGlobal: num("BOXOFFICE_LOGIN_MAX_PER_ACCOUNT_GLOBAL", 100, 1),
		LoginMaxPerIP:            num("BOXOFFICE_LOGIN_MAX_PER_IP", 50, 1),
		LoginWindow:              dur("BOXOFFICE_LOGIN_WINDOW", 15*time.Minute, time.Second),
		RegisterMaxPerIP:         num("BOXOFFICE_REGISTER_MAX_PER_IP", 20, 0),

		ProxyHeader: str("BOXOFFICE_PROXY_HEADER", "X-Real-IP"),

		RequestTimeout:  dur("BOXOFFICE_REQUEST_TIMEOUT", 2*time.Second, 100*time.Millisecond),
		ShutdownTimeout: dur("BOXOFFICE_SHUTDOWN_TIMEOUT", 15*time.Second, 0),
		DrainDelay:      dur("BOXOFFICE_DRAIN_DELAY", 0, 0),
		RedisTimeout:    dur("REDIS_TIMEOUT", 300*time.Millisecond, 10*time.Millisecond),
		RedisPoolSize:   num("REDIS_POOL_SIZE", 0, 0),
		HashConcurrency: num("BOXOFFICE_HASH_CONCURRENCY", 4, 1),

		DebugAddr:   str("BOXOFFICE_DEBUG_ADDR", ""),
		MetricsAddr: str("BOXOFFICE_METRICS_ADDR", ""),

		RevocationReplicas: num("BOXOFFICE_REVOCATION_REPLICAS", 0, 0),
		RevocationWait:     dur("BOXOFFICE_REVOCATION_WAIT", 200*time.Millisecond, time.Millisecond),

		SessionCache:          true,
		SessionCacheEntries:   num("BOXOFFICE_SESSION_CACHE_ENTRIES", 100_000, 1),
		SessionCacheBytes:     num("BOXOFFICE_SESSION_CACHE_BYTES", 64<<20, 1<<20),
		SessionCacheStaleness: dur("BOXOFFICE_SESSION_CACHE_STALENESS", time.Second, 50*time.Millisecond),

		DatabaseURL:     str("DATABASE_URL", ""),
		SQLitePath:      str("BOXOFFICE_SQLITE_PATH", ""),
		DBMaxConns:      num("BOXOFFICE_DB_MAX_CONNS", 10, 1),
		HoldTTL:         dur("BOXOFFICE_HOLD_TTL", 10*time.Minute, time.Second),
		MaxSeatsPerHold: num("BOXOFFICE_MAX_SEATS_PER_HOLD", 10, 1),
		JanitorInterval: dur("BOXOFFICE_JANITOR_INTERVAL", 5*time.Second, 100*time.Millisecond),
		SweepInterval:   dur("BOXOFFICE_SWEEP_INTERVAL", time.Second, 50*time.Millisecond),

		EventsPublishInterval: dur("BOXOFFICE_EVENTS_PUBLISH_INTERVAL", 50*time.Millisecond, 5*time.Millisecond),
		EventsPollInterval:    dur("BOXOFFICE_EVENTS_POLL_INTERVAL", time.Second, 50*time.Millisecond),
		EventsRetention:       dur("BOXOFFICE_EVENTS_RETENTION", 15*time.Minute, time.Second),
		EventsHeartbeat:       dur("BOXOFFICE_EVENTS_HEARTBEAT", 15*time.Second, 100*time.Millisecond),
		MaxStreams:            num("BOXOFFICE_MAX_STREAMS", 10000, 1),

		AuditLog:        str("BOXOFFICE_AUDIT_LOG", "stderr"),
		AuditMaxPerUser: num("BOXOFFICE_AUDIT_MAX_PER_USER", 100, 1),
		AuditMaxEvents:  num("BOXOFFICE_AUDIT_MAX_EVENTS", 100000, 1),
		AuditRetention:  dur("BOXOFFICE_AUDIT_RETENTION", 2160*time.Hour, time.Minute),

		CancelCutoff:     dur("BOXOFFICE_CANCEL_CUTOFF", 2*time.Hour, time.Second),
		PaymentGrace:     dur("BOXOFFICE_PAYMENT_GRACE", 30*time.Second, time.Second),
		IdempotencyLease: dur("BOXOFFICE_IDEMPOTENCY_LEASE", 15*time.Second, time.Second),
		TestPayments:     getenv("DATABASE_URL") == "", // fake money only in the embedded mode, unless asked
		WebhookSecret:    []byte(getenv("BOXOFFICE_PAYMENT_WEBHOOK_SECRET")),
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		bad("DATABASE_URL must start with postgres:// or postgresql://")
	}
	if c.DatabaseURL != "" && c.SQLitePath != "" {
		bad("set DATABASE_URL or BOXOFFICE_SQLITE_PATH, not both")
	}
	switch v := getenv("BOXOFFICE_DEMO_DATA"); v {
	case "":
		c.DemoData = c.DatabaseURL == "" // the embedded database starts with the demo catalogue
	case "true", "1":
		c.DemoData = true
	case "false", "0":
	default:
		bad("BOXOFFICE_DEMO_DATA=%q must be true or false", v)
	}
	if v := getenv("BOXOFFICE_CLOCK_OFFSET"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			bad("BOXOFFICE_CLOCK_OFFSET=%q is not a duration", v)
		}
		c.ClockOffset = d
	}
	if c.DebugAddr != "" {
		host, _, err := net.SplitHostPort(c.DebugAddr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			bad("BOXOFFICE_DEBUG_ADDR=%q must be a loopback host:port (pprof must not be public)", c.DebugAddr)
		}
	}
	if c.MetricsAddr != "" {
		_, port, err := net.SplitHostPort(c.MetricsAddr)
		_, apiPort, _ := net.SplitHostPort(c.Addr)
		switch {
		case err != nil:
			bad("BOXOFFICE_METRICS_ADDR=%q must be host:port or :port", c.MetricsAddr)
		case port == apiPort && port != "0":
			bad("BOXOFFICE_METRICS_ADDR=%q must not be the API's port (BOXOFFICE_ADDR=%q): metrics are served on a listener of their own", c.MetricsAddr, c.Addr)
		}
	}
	switch v := getenv("BOXOFFICE_TEST_PAYMENTS"); v {
	case "":
	case "true", "1":
		c.TestPayments = true
	case "false", "0":
		c.TestPayments = false
	default:
		bad("BOXOFFICE_TEST_PAYMENTS=%q must be true or false", v)
	}
	// A request still running when its key's lease ends could have its order taken over by a
	// retry, and both would drive it: the lease must outlast the request deadline. The default
	// grows with a long deadline; a lease set explicitly must be longer.
	switch {
	case c.IdempotencyLease > c.RequestTimeout:
	case getenv("BOXOFFICE_IDEMPOTENCY_LEASE") == "":
		c.IdempotencyLease = c.RequestTimeout + time.Second
	default:
		bad("BOXOFFICE_IDEMPOTENCY_LEASE (%s) must be longer than BOXOFFICE_REQUEST_TIMEOUT (%s)", c.IdempotencyLease, c.RequestTimeout)
	}
	if c.RevocationReplicas > 0 && c.RevocationWait >= c.RedisTimeout {
		bad("BOXOFFICE_REVOCATION_WAIT (%s) must be shorter than REDIS_TIMEOUT (%s)", c.RevocationWait, c.RedisTimeout)
	}

	if err := c.LogLevel.UnmarshalText([]byte(str("BOXOFFICE_LOG_LEVEL", "info"))); err != nil {
		bad("BOXOFFICE_LOG_LEVEL=%q must be debug, info, warn or error", getenv("BOXOFFICE_LOG_LEVEL"))
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		bad("BOXOFFICE_ADDR=%q must be host:port or :port", c.Addr)
	}
	if c.RedisURL != "" && !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") {
		bad("REDIS_URL must start with redis:// or rediss://")
	}
	c.ClusterAddrs = hostPorts("REDIS_CLUSTER_ADDRS", getenv, bad)
	c.SentinelAddrs = hostPorts("REDIS_SENTINEL_ADDRS", getenv, bad)
	c.SentinelMaster = strings.TrimSpace(getenv("REDIS_SENTINEL_MASTER"))
	c.RedisUsername, c.RedisPassword = getenv("REDIS_USERNAME"), getenv("REDIS_PASSWORD")
	topologies := 0
	for _, set := range []bool{c.RedisURL != "", len(c.ClusterAddrs) > 0, len(c.SentinelAddrs) > 0} {
		if set {
			topologies++
		}
	}
	if topologies > 1 {
		bad("set only one of REDIS_URL, REDIS_CLUSTER_ADDRS and REDIS_SENTINEL_ADDRS")
	}
	if (len(c.SentinelAddrs) > 0) != (c.SentinelMaster != "") {
		bad("REDIS_SENTINEL_ADDRS and REDIS_SENTINEL_MASTER go together")
	}
	if c.AbsoluteTTL < c.AccessTTL {
		bad("BOXOFFICE_ABSOLUTE_TTL (%s) must not be shorter than BOXOFFICE_ACCESS_TTL (%s)", c.AbsoluteTTL, c.AccessTTL)
	}
	for _, p := range strings.Split(getenv("BOXOFFICE_TRUSTED_PROXIES"), ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				bad("BOXOFFICE_TRUSTED_PROXIES: %q is not an IP address or CIDR", p)
				continue
			}
		}
		c.TrustedProxies = append(c.TrustedProxies, p)
	}

	c.CORSOrigins = origins("BOXOFFICE_CORS_ORIGINS", getenv, bad)
	c.PublicOrigins = origins("BOXOFFICE_PUBLIC_ORIGINS", getenv, bad)
	if c.UserDataMaxBytes < c.MaxDataBytes {
		bad("BOXOFFICE_USER_DATA_MAX_BYTES (%d) must not be below BOXOFFICE_SESSION_DATA_MAX_BYTES (%d)", c.UserDataMaxBytes, c.MaxDataBytes)
	}
	if c.Argon2MemoryKiB > 4<<20 || c.Argon2Time > 64 {
		bad("BOXOFFICE_ARGON2_MEMORY_KIB must be at most 4194304 and BOXOFFICE_ARGON2_ITERATIONS at most 64")
	}
	switch v := getenv("BOXOFFICE_SESSION_CACHE"); v {
	case "", "on":
	case "off":
		c.SessionCache = false
	default:
		bad("BOXOFFICE_SESSION_CACHE=%q must be on or off", v)
	}
	switch v := getenv("BOXOFFICE_INSECURE_DEV_COOKIES"); v {
	case "", "false", "0":
	case "true", "1":
		c.InsecureCookies = true
	default:
		bad("BOXOFFICE_INSECURE_DEV_COOKIES=%q must be true or false", v)
	}

	switch secret := getenv("BOXOFFICE_JWT_SECRET"); {
	case secret != "" && len(secret) < 32:
		bad("BOXOFFICE_JWT_SECRET must be at least 32 bytes (generate one with: openssl rand -base64 48)")
	case secret != "":
		c.JWTSecret = []byte(secret)
	case c.externalRedis():
		bad("BOXOFFICE_JWT_SECRET is required with an external Redis (REDIS_URL, REDIS_CLUSTER_ADDRS or REDIS_SENTINEL_ADDRS): every instance sharing the Redis must sign with the same key (generate one with: openssl rand -base64 48)")
	default:
		b := make([]byte, 48)
		rand.Read(b)
		c.JWTSecret = []byte(base64.RawStdEncoding.EncodeToString(b))
		c.SecretGenerated = true
	}

	for i, p := range strings.Split(getenv("BOXOFFICE_JWT_PREVIOUS_SECRETS"), ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if len(p) < 32 {
			bad("BOXOFFICE_JWT_PREVIOUS_SECRETS: secret %d is shorter than 32 bytes", i+1)
			continue
		}
		c.PreviousSecrets = append(c.PreviousSecrets, []byte(p))
	}

	c.Tracing = tracing.ConfigFromEnv(getenv, bad)

	if len(problems) > 0 {
		return c, errors.New("invalid configuration:\n  - " + strings.Join(problems, "\n  - "))
	}
	return c, nil
}
