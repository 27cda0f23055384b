package main

import (
	"log/slog"
	"strconv"
	"time"

	"boxoffice/accounts"
	"boxoffice/api"
	"boxoffice/audit/redisaudit"
	"boxoffice/auth"
	"boxoffice/session"
	"boxoffice/tickets"
	"boxoffice/tickets/live"
	"boxoffice/tickets/postgres"
	"boxoffice/tracing"
)

// settings is the one table of the environment variables the program reads, grouped as --help
// and README.md show them: loadConfig reads every row into c, usage prints them, and
// TestREADMEConfigTable keeps README.md's configuration table equal to them. A default that a
// library package also applies is that package's constant, so that it is written once. Every
// call makes a new table; --help and the README make theirs for a throwaway config.
func settings(c *config) []group {
	return []group{
		{"Server", "", []setting{
			textVar("BOXOFFICE_ADDR", &c.Addr, ":8080", "listen address (`host:port` or `:port`)", hostPort),
			durationVar("BOXOFFICE_REQUEST_TIMEOUT", &c.RequestTimeout, api.DefaultRequestTimeout, 100*time.Millisecond,
				"deadline for a request's work, Redis and PostgreSQL included"),
			durationVar("BOXOFFICE_SHUTDOWN_TIMEOUT", &c.ShutdownTimeout, 15*time.Second, 0, "how long SIGTERM waits for in-flight requests"),
			durationVar("BOXOFFICE_DRAIN_DELAY", &c.DrainDelay, 0, 0,
				"after SIGTERM, how long `/readyz` answers 503 before the listener closes (for load balancers to notice)"),
			listVar("BOXOFFICE_TRUSTED_PROXIES", &c.TrustedProxies, isIPOrCIDR, "an IP address or CIDR",
				"comma-separated IPs/CIDRs whose `BOXOFFICE_PROXY_HEADER` is believed"),
			textVar("BOXOFFICE_PROXY_HEADER", &c.ProxyHeader, api.DefaultProxyHeader, "client-IP header set by the trusted proxy (nginx: `$remote_addr`)"),
			listVar("BOXOFFICE_CORS_ORIGINS", &c.CORSOrigins, isOrigin, "an origin like https://app.example.com (no wildcards, paths or trailing slash)",
				"comma-separated browser origins (`https://app.example.com`) allowed to call the API with credentials; never `*`").
				shownAs("(same-origin only)"),
			listVar("BOXOFFICE_PUBLIC_ORIGINS", &c.PublicOrigins, isOrigin, "an origin like https://app.example.com (no wildcards, paths or trailing slash)",
				"comma-separated origins (`scheme://host[:port]`, e.g. `https://tickets.example.com`) under which browsers reach this API itself; "+
					"cookie sign-ins and cookie-authenticated changes are accepted only from these and `BOXOFFICE_CORS_ORIGINS` "+
					"(scheme, host and port must match exactly; the `Host` header is never trusted). **Required for the cookie transport in browsers**"),
			boolVar("BOXOFFICE_INSECURE_DEV_COOKIES", &c.InsecureCookies, false, trueFalse,
				"let the cookie transport work over plain HTTP, for requests to `localhost`/loopback only"),
			levelVar("BOXOFFICE_LOG_LEVEL", &c.LogLevel, slog.LevelInfo, "`debug`, `info`, `warn` or `error` (JSON lines on stderr)"),
			textVar("BOXOFFICE_DEBUG_ADDR", &c.DebugAddr, "", "loopback `host:port` serving Go's pprof", loopback).shownAs("(off)"),
			textVar("BOXOFFICE_METRICS_ADDR", &c.MetricsAddr, "",
				"`host:port` serving Prometheus metrics at `/metrics` on a listener of its own (never the API's port; "+
					"a public IP address is allowed with a warning); off: nothing is counted. See [metrics](docs/operations.md#metrics)",
				hostPort).shownAs("(off)"),
			durationVar("BOXOFFICE_CLOCK_OFFSET", &c.ClockOffset, 0, noMinimum, "shifts this instance's clock; for clock-skew tests only"),
		}},
		{"Redis", "sessions, accounts, throttles, live seat events", []setting{
			textVar("REDIS_URL", &c.RedisURL, "",
				"single node: `redis://[user:pass@]host:port/db` or `rediss://…`; with none of the three Redis settings, "+
					"an embedded in-process Redis, not shared, not persisted",
				scheme("redis://", "rediss://")).shownAs("(embedded)"),
			listVar("REDIS_CLUSTER_ADDRS", &c.ClusterAddrs, isHostPort, "host:port", "Redis Cluster: comma-separated `host:port` seeds"),
			listVar("REDIS_SENTINEL_ADDRS", &c.SentinelAddrs, isHostPort, "host:port",
				"Sentinel: comma-separated sentinel `host:port` addresses (with `REDIS_SENTINEL_MASTER`)"),
			textVar("REDIS_SENTINEL_MASTER", &c.SentinelMaster, "", "Sentinel: the name of the master they watch"),
			verbatimVar("REDIS_USERNAME", &c.RedisUsername, "ACL user of the data nodes, for Cluster and Sentinel (`REDIS_URL` carries its own)"),
			verbatimVar("REDIS_PASSWORD", &c.RedisPassword, "password of the data nodes, for Cluster and Sentinel (secret)"),
			durationVar("REDIS_TIMEOUT", &c.RedisTimeout, session.DefaultRedisTimeout, 10*time.Millisecond,
				"Redis read, write and pool-wait timeout (go-redis' defaults are seconds), and the deadline of each audit write"),
			intVar("REDIS_POOL_SIZE", &c.RedisPoolSize, 0, 0, "connections per instance; `0`: go-redis' default (10 per CPU)"),
		}},
		{"Tokens and sessions", "", []setting{
			secretVar("BOXOFFICE_JWT_SECRET", &c.JWTSecret, 32,
				"HS256 key of at least 32 bytes, the same on every instance; **required** with an external Redis. "+
					"Instances sharing the Redis and this secret form one deployment. It also keys refresh-token tags and CSRF tokens (secret)").
				shownAs("(random, with the embedded Redis only)").ifUnset(func(bad badFunc) { unsetJWTSecret(c, bad) }),
			secretsVar("BOXOFFICE_JWT_PREVIOUS_SECRETS", &c.PreviousSecrets, 32,
				"comma-separated older secrets still accepted during a key rotation "+
					"(see [SECURITY.md](SECURITY.md#key-rotation)) (secret)"),
			textVar("BOXOFFICE_ISSUER", &c.Issuer, auth.DefaultIssuer, "JWT `iss`"),
			textVar("BOXOFFICE_AUDIENCE", &c.Audience, auth.DefaultAudience, "JWT `aud`"),
			durationVar("BOXOFFICE_ACCESS_TTL", &c.AccessTTL, auth.DefaultAccessTTL, time.Second, "access-token lifetime"),
			durationVar("BOXOFFICE_IDLE_TTL", &c.IdleTTL, session.DefaultIdleTTL, time.Second,
				"idle timeout; slides with activity and refresh").about("7 days"),
			durationVar("BOXOFFICE_ABSOLUTE_TTL", &c.AbsoluteTTL, session.DefaultAbsoluteTTL, time.Second,
				"absolute cap from login; nothing extends it; at least `BOXOFFICE_ACCESS_TTL`").about("30 days"),
			durationVar("BOXOFFICE_REFRESH_GRACE", &c.RefreshGrace, session.DefaultRefreshGrace, 0,
				"a spent refresh token presented again within this long after its own rotation gets the current token "+
					"instead of revoking the session (see [Token lifecycle](#token-lifecycle)); `0s` disables"),
			durationVar("BOXOFFICE_TOUCH_INTERVAL", &c.TouchInterval, session.DefaultTouchInterval, 0,
				"reads slide the idle deadline at most this often (fewer writes)"),
			intVar("BOXOFFICE_SESSION_DATA_MAX_KEYS", &c.MaxDataKeys, session.DefaultMaxDataKeys, 1, "top-level keys in a session's `data`"),
			intVar("BOXOFFICE_SESSION_DATA_MAX_BYTES", &c.MaxDataBytes, session.DefaultMaxDataBytes, 1,
				"bytes of keys plus JSON values in a session's `data`").about("16 KiB"),
			intVar("BOXOFFICE_USER_DATA_MAX_BYTES", &c.UserDataMaxBytes, session.DefaultMaxUserDataBytes, 1,
				"bytes of `data` of all of one user's sessions together; at least `BOXOFFICE_SESSION_DATA_MAX_BYTES`").about("256 KiB"),
			intVar("BOXOFFICE_MAX_SESSIONS_PER_USER", &c.MaxSessions, session.DefaultMaxSessions, 1,
				"live sessions per user; a sign-in beyond it revokes the user's least recently used session"),
			intVar("BOXOFFICE_REVOCATION_REPLICAS", &c.RevocationReplicas, 0, 0,
				"revocations, rotations, password changes and sign-ins wait until this many replicas hold them (`WAIT`), else 503; "+
					"see [durability](docs/operations.md#durability-policy)"),
			durationVar("BOXOFFICE_REVOCATION_WAIT", &c.RevocationWait, session.DefaultRevocationWait, time.Millisecond,
				"how long they wait; below `REDIS_TIMEOUT`"),
			boolVar("BOXOFFICE_SESSION_CACHE", &c.SessionCache, true, onOff,
				"keep the sessions this instance read in memory, invalidated by Redis on every change (single node or Sentinel; "+
					"off by itself with Cluster and the embedded Redis); `off`: every request reads Redis. "+
					"See [the session cache](docs/operations.md#the-session-cache)"),
			intVar("BOXOFFICE_SESSION_CACHE_ENTRIES", &c.SessionCacheEntries, session.DefaultCacheMaxEntries, 1, "sessions and accounts the cache holds at most"),
			intVar("BOXOFFICE_SESSION_CACHE_BYTES", &c.SessionCacheBytes, session.DefaultCacheMaxBytes, 1<<20, "their estimated bytes, at most").about("64 MiB"),
			durationVar("BOXOFFICE_SESSION_CACHE_STALENESS", &c.SessionCacheStaleness, session.DefaultCacheStaleness, 50*time.Millisecond,
				"the cache stops serving when its invalidation link has not proved itself current for this long"),
		}},
		{"Passwords and sign-in limits", "", []setting{
			intVar("BOXOFFICE_ARGON2_MEMORY_KIB", &c.Argon2MemoryKiB, auth.DefaultArgon2.MemoryKiB, 8,
				"argon2id memory of new hashes (older hashes are upgraded at sign-in), at most 4194304; "+
					"below OWASP's minimum (19 MiB and 2 iterations) the server warns: for tests only").about("19 MiB"),
			intVar("BOXOFFICE_ARGON2_ITERATIONS", &c.Argon2Time, auth.DefaultArgon2.Time, 1, "argon2id iterations of new hashes, at most 64"),
			intVar("BOXOFFICE_HASH_CONCURRENCY", &c.HashConcurrency, 4, 1,
				"argon2id hashes running at once (each takes `BOXOFFICE_ARGON2_MEMORY_KIB`)"),
			intVar("BOXOFFICE_LOGIN_MAX_PER_ACCOUNT", &c.LoginMaxPerAccount, accounts.DefaultPerAccount, 1,
				"failed logins for one account from one network (an IPv4 address or an IPv6 /64) per window, then 429; "+
					"also the own limit of a known device token"),
			intVar("BOXOFFICE_LOGIN_MAX_PER_ACCOUNT_GLOBAL", &c.LoginMaxPerAccountGlobal, accounts.DefaultPerAccountGlobal, 1,
				"failed logins for one account from all networks together per window; once spent, only sign-ins from a known device "+
					"(`device_token`) or a network the user signed in from before go on"),
			intVar("BOXOFFICE_LOGIN_MAX_PER_IP", &c.LoginMaxPerIP, accounts.DefaultPerIP, 1,
				"failed logins from one network over all accounts per window"),
			durationVar("BOXOFFICE_LOGIN_WINDOW", &c.LoginWindow, accounts.DefaultWindow, time.Second, "the login throttle's window"),
			intVar("BOXOFFICE_REGISTER_MAX_PER_IP", &c.RegisterMaxPerIP, 20, 0, "accounts created per client IP per hour; `0` disables"),
		}},
		{"Audit trail", "security events: a JSON stream, and kept in Redis for `GET /v1/me/activity` and `GET /v1/admin/audit`", []setting{
			textVar("BOXOFFICE_AUDIT_LOG", &c.AuditLog, "stderr",
				"where security events go as JSON lines, one per event (`\"log\":\"audit\"` tells them from the application log): "+
					"`stderr`, `stdout`, a file path (appended to, created `0600`) or `off`. See [audit trail](docs/operations.md#audit-trail)"),
			intVar("BOXOFFICE_AUDIT_MAX_PER_USER", &c.AuditMaxPerUser, redisaudit.DefaultMaxPerUser, 1,
				"security events kept in Redis per user (their newest), for `GET /v1/me/activity`"),
			intVar("BOXOFFICE_AUDIT_MAX_EVENTS", &c.AuditMaxEvents, redisaudit.DefaultMaxEvents, 1,
				"security events kept in Redis in all, for `GET /v1/admin/audit` (trimmed approximately: up to about 100 more)"),
			durationVar("BOXOFFICE_AUDIT_RETENTION", &c.AuditRetention, redisaudit.DefaultRetention, time.Minute,
				"no security event older than this is kept in Redis or shown").about("90 days"),
		}},
		{"Tickets", "PostgreSQL or the embedded SQLite", []setting{
			textVar("DATABASE_URL", &c.DatabaseURL, "",
				"PostgreSQL for tickets, `postgres://user:pass@host:5432/db?sslmode=…`, migrated at start-up. "+
					"Without it, an embedded SQLite with the demo catalogue, for one instance",
				scheme("postgres://", "postgresql://")).shownAs("(embedded SQLite)"),
			textVar("BOXOFFICE_SQLITE_PATH", &c.SQLitePath, "",
				"the embedded SQLite's file, to keep its data across restarts (not with `DATABASE_URL`)").shownAs("(in memory)"),
			intVar("BOXOFFICE_DB_MAX_CONNS", &c.DBMaxConns, postgres.DefaultMaxConns, 1, "PostgreSQL connections per instance"),
			boolVar("BOXOFFICE_DEMO_DATA", &c.DemoData, false, trueFalse, "load the demo catalogue at start-up (loading twice adds nothing)").
				shownAs("(`true` without `DATABASE_URL`, else `false`)").ifUnset(func(badFunc) { c.DemoData = c.DatabaseURL == "" }),
			durationVar("BOXOFFICE_HOLD_TTL", &c.HoldTTL, tickets.DefaultHoldTTL, time.Second, "how long a hold keeps its seats"),
			intVar("BOXOFFICE_MAX_SEATS_PER_HOLD", &c.MaxSeatsPerHold, tickets.DefaultMaxSeatsPerHold, 1, "seats in one hold"),
			durationVar("BOXOFFICE_JANITOR_INTERVAL", &c.JanitorInterval, tickets.DefaultJanitorInterval, 100*time.Millisecond,
				"how often each instance marks expired holds, settles overdue or abandoned payments, resends refunds "+
					"and ends holds of sessions that are gone (correctness never waits for it)"),
			durationVar("BOXOFFICE_SWEEP_INTERVAL", &c.SweepInterval, tickets.DefaultSweepInterval, 50*time.Millisecond,
				"how often each instance marks expired holds (their seats are free at the deadline either way; "+
					"live seat maps announce them at the next sweep); at most the janitor interval"),
			durationVar("BOXOFFICE_CANCEL_CUTOFF", &c.CancelCutoff, tickets.DefaultCancelCutoff, time.Second,
				"buyers may cancel (full refund) until this long before a screening starts"),
			durationVar("BOXOFFICE_PAYMENT_GRACE", &c.PaymentGrace, tickets.DefaultPaymentGrace, time.Second,
				"a payment still pending this long after its order's deadline (the hold's) is cancelled at the provider by the janitor"),
			durationVar("BOXOFFICE_IDEMPOTENCY_LEASE", &c.IdempotencyLease, tickets.DefaultKeyLease, time.Second,
				"how long a request owns its `Idempotency-Key`; after a crash, a retry takes the order over once it has passed; "+
					"longer than `BOXOFFICE_REQUEST_TIMEOUT`").
				about("raised to `BOXOFFICE_REQUEST_TIMEOUT` + 1s when that is longer").ifUnset(func(badFunc) { raiseLease(c) }),
			boolVar("BOXOFFICE_TEST_PAYMENTS", &c.TestPayments, false, trueFalse,
				"enable the `test` payment provider (tokens `test_success`, `test_decline`, `test_async`, `test_error`), "+
					"which accepts fake money: never in production").
				shownAs("(`true` without `DATABASE_URL`, else `false`)").ifUnset(func(badFunc) { c.TestPayments = c.DatabaseURL == "" }),
			secretVar("BOXOFFICE_PAYMENT_WEBHOOK_SECRET", &c.WebhookSecret, 0,
				"HMAC key of `POST /v1/payments/webhook`'s `Boxoffice-Signature`; the same on every instance (secret)").
				shownAs("(webhooks refused)"),
		}},
		{"Live seat maps", "", []setting{
			durationVar("BOXOFFICE_EVENTS_PUBLISH_INTERVAL", &c.EventsPublishInterval, live.DefaultPublishInterval, 5*time.Millisecond,
				"how often the seat-event outbox is published through Redis (one instance at a time does it)"),
			durationVar("BOXOFFICE_EVENTS_POLL_INTERVAL", &c.EventsPollInterval, live.DefaultPollInterval, 50*time.Millisecond,
				"how often each instance checks the outbox for seat events Redis lost (and, while Redis is down, how often live seat maps move)"),
			durationVar("BOXOFFICE_EVENTS_RETENTION", &c.EventsRetention, live.DefaultRetention, time.Second,
				"how long seat events are kept for clients that resume (`Last-Event-ID`); older gaps get `reset`"),
			durationVar("BOXOFFICE_EVENTS_HEARTBEAT", &c.EventsHeartbeat, api.DefaultStreamHeartbeat, 100*time.Millisecond,
				"comment line sent on an idle live seat map; also how soon a client that left is noticed"),
			intVar("BOXOFFICE_MAX_STREAMS", &c.MaxStreams, live.DefaultMaxStreams, 1,
				"live seat maps (open streams) per instance; beyond it 503 and `Retry-After`"),
		}},
		{"Tracing", "OpenTelemetry; off unless `OTEL_TRACES_EXPORTER=otlp` or an OTLP endpoint is set", []setting{
			otelVar("OTEL_SDK_DISABLED", "false", "`true` turns tracing off whatever else is set"),
			otelVar("OTEL_TRACES_EXPORTER", "", "`otlp` turns tracing on (to `"+tracing.DefaultEndpoint+"` without an endpoint); `none` turns it off"),
			otelVar("OTEL_EXPORTER_OTLP_ENDPOINT", "",
				"collector base URL (OTLP over HTTP, protobuf); spans go to its `/v1/traces`; setting it turns tracing on "+
					"(see [operations](docs/operations.md#tracing))"),
			otelVar("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "",
				"full URL spans are sent to; wins over `OTEL_EXPORTER_OTLP_ENDPOINT`; setting it turns tracing on"),
			otelVar("OTEL_EXPORTER_OTLP_PROTOCOL", tracing.Protocol, "the only protocol supported (`grpc` is refused at start-up)"),
			otelVar("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", tracing.Protocol, "the only protocol supported (`grpc` is refused at start-up)"),
			otelVar("OTEL_EXPORTER_OTLP_HEADERS", "",
				"`key=value,…` headers sent with every export (percent-encoded), e.g. a collector's credential (secret: masked in logs)"),
			otelVar("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "", "more headers, overriding `OTEL_EXPORTER_OTLP_HEADERS` key by key (secret)"),
			otelVar("OTEL_SERVICE_NAME", tracing.DefaultServiceName, "the `service.name` of every span"),
			otelVar("OTEL_RESOURCE_ATTRIBUTES", "", "`key=value,…` resource attributes, such as `deployment.environment.name=prod`"),
			otelVar("OTEL_TRACES_SAMPLER", tracing.DefaultSampler,
				"`always_on`, `always_off`, `traceidratio`, `parentbased_always_on`, `parentbased_always_off` or `parentbased_traceidratio`"),
			otelVar("OTEL_TRACES_SAMPLER_ARG", strconv.FormatFloat(tracing.DefaultSamplerArg, 'g', -1, 64), "the ratio of the `traceidratio` samplers, 0 to 1"),
		}},
	}
}

// allSettings are the rows of settings(c), in order.
func allSettings(c *config) []setting {
	var out []setting
	for _, g := range settings(c) {
		out = append(out, g.rows...)
	}
	return out
}
