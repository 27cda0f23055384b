package main

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"boxoffice/tracing"
)

// config is every setting, read once from the environment at startup (see settings, the table
// of the variables, for what each means and its default).
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

// loadConfig reads the environment variables of the settings table, then checks the rules
// between them (checkConfig) and reads the OTEL_* ones (tracing.ConfigFromEnv). It reports every
// problem at once.
func loadConfig(getenv func(string) string) (config, error) {
	var c config
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	var unset []func(badFunc)
	for _, s := range allSettings(&c) {
		if s.read == nil {
			continue // read by tracing.ConfigFromEnv below
		}
		v := getenv(s.name)
		s.read(v, bad)
		if v == "" && s.unset != nil {
			unset = append(unset, s.unset)
		}
	}
	for _, f := range unset {
		f(bad)
	}
	checkConfig(&c, bad)
	c.Tracing = tracing.ConfigFromEnv(getenv, bad)

	if len(problems) > 0 {
		return c, errors.New("invalid configuration:\n  - " + strings.Join(problems, "\n  - "))
	}
	return c, nil
}
