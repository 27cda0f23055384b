package main

import (
	"fmt"
	"io"
	"net"
	"strings"
)

// setting documents one environment variable: the one place its default and meaning are
// written for people (--help). loadConfig reads it; a test checks that every variable
// loadConfig reads has a row, and that a literal default is what loadConfig uses.
type setting struct {
	name, def, doc string
}

// settings are every environment variable the program reads, grouped as --help shows them.
// def is the default as it would be written in the variable ("" when unset means off or
// none), or words in parentheses describing a default that is not one literal value.
var settings = []struct {
	group string
	rows  []setting
}{
	{"Server", []setting{
		{"BOXOFFICE_ADDR", ":8080", "listen address (host:port or :port)"},
		{"BOXOFFICE_REQUEST_TIMEOUT", "2s", "deadline for a request's work, Redis and PostgreSQL included"},
		{"BOXOFFICE_SHUTDOWN_TIMEOUT", "15s", "how long SIGTERM waits for in-flight requests"},
		{"BOXOFFICE_DRAIN_DELAY", "0s", "after SIGTERM, how long /readyz answers 503 before the listener closes"},
		{"BOXOFFICE_TRUSTED_PROXIES", "", "comma-separated IPs/CIDRs whose BOXOFFICE_PROXY_HEADER is believed"},
		{"BOXOFFICE_PROXY_HEADER", "X-Real-IP", "client-IP header set by the trusted proxy"},
		{"BOXOFFICE_CORS_ORIGINS", "", "comma-separated browser origins allowed to call the API with credentials (never *); none: same-origin only"},
		{"BOXOFFICE_PUBLIC_ORIGINS", "", "comma-separated origins under which browsers reach this API; required for the cookie transport"},
		{"BOXOFFICE_INSECURE_DEV_COOKIES", "false", "let the cookie transport work over plain HTTP, for loopback hosts only"},
		{"BOXOFFICE_LOG_LEVEL", "info", "debug, info, warn or error (JSON lines on stderr)"},
		{"BOXOFFICE_DEBUG_ADDR", "", "loopback host:port serving Go's pprof; off when unset"},
		{"BOXOFFICE_METRICS_ADDR", "", "host:port serving Prometheus metrics at /metrics, on a listener of its own (not the API's port); off when unset"},
		{"BOXOFFICE_CLOCK_OFFSET", "0s", "shifts this instance's clock; for clock-skew tests only"},
	}},
	{"Redis (sessions, accounts, throttles, live seat events)", []setting{
		{"REDIS_URL", "(embedded)", "single node: redis://[user:pass@]host:port/db or rediss://…; with no Redis setting, an embedded in-process Redis, not shared, not persisted"},
		{"REDIS_CLUSTER_ADDRS", "", "Redis Cluster: comma-separated host:port seeds"},
		{"REDIS_SENTINEL_ADDRS", "", "Sentinel: comma-separated sentinel host:port addresses"},
		{"REDIS_SENTINEL_MASTER", "", "Sentinel: the name of the master they watch"},
		{"REDIS_USERNAME", "", "ACL user of the data nodes, for Cluster and Sentinel (REDIS_URL carries its own)"},
		{"REDIS_PASSWORD", "", "password of the data nodes, for Cluster and Sentinel (secret)"},
		{"REDIS_TIMEOUT", "300ms", "Redis read, write and pool-wait timeout"},
		{"REDIS_POOL_SIZE", "0", "connections per instance; 0: go-redis' default (10 per CPU)"},
	}},
	{"Tokens and sessions", []setting{
		{"BOXOFFICE_JWT_SECRET", "(random, with the embedded Redis only)", "HS256 key of at least 32 bytes, the same on every instance; required with an external Redis (secret)"},
		{"BOXOFFICE_JWT_PREVIOUS_SECRETS", "", "comma-separated older secrets still accepted during a key rotation (secret)"},
		{"BOXOFFICE_ISSUER", "boxoffice", "JWT iss"},
		{"BOXOFFICE_AUDIENCE", "boxoffice", "JWT aud"},
		{"BOXOFFICE_ACCESS_TTL", "5m", "access-token lifetime"},
		{"BOXOFFICE_IDLE_TTL", "168h", "idle timeout; slides with activity and refresh"},
		{"BOXOFFICE_ABSOLUTE_TTL", "720h", "absolute cap from login; nothing extends it"},
		{"BOXOFFICE_REFRESH_GRACE", "10s", "a spent refresh token presented again this soon gets the current token instead of revoking the session; 0s disables"},
		{"BOXOFFICE_TOUCH_INTERVAL", "1m", "reads slide the idle deadline at most this often"},
		{"BOXOFFICE_SESSION_DATA_MAX_KEYS", "64", "top-level keys in a session's data"},
		{"BOXOFFICE_SESSION_DATA_MAX_BYTES", "16384", "bytes of a session's data"},
		{"BOXOFFICE_USER_DATA_MAX_BYTES", "262144", "bytes of the data of all of a user's sessions together"},
		{"BOXOFFICE_MAX_SESSIONS_PER_USER", "50", "live sessions per user; a sign-in beyond it revokes the least recently used"},
		{"BOXOFFICE_REVOCATION_REPLICAS", "0", "revocations and sign-ins wait until this many replicas hold them (WAIT), else 503"},
		{"BOXOFFICE_REVOCATION_WAIT", "200ms", "how long they wait; below REDIS_TIMEOUT"},
		{"BOXOFFICE_SESSION_CACHE", "on", "keep sessions this instance read in memory, invalidated by Redis on every change (single node or Sentinel; off with Cluster and the embedded Redis); off: every request reads Redis"},
		{"BOXOFFICE_SESSION_CACHE_ENTRIES", "100000", "sessions and accounts the cache holds"},
		{"BOXOFFICE_SESSION_CACHE_BYTES", "67108864", "their estimated bytes"},
		{"BOXOFFICE_SESSION_CACHE_STALENESS", "1s", "the cache stops serving when its invalidation link has not proved itself current for this long"},
	}},
	{"Passwords and sign-in limits", []setting{
		{"BOXOFFICE_ARGON2_MEMORY_KIB", "19456", "argon2id memory of new hashes"},
		{"BOXOFFICE_ARGON2_ITERATIONS", "2", "argon2id iterations of new hashes"},
		{"BOXOFFICE_HASH_CONCURRENCY", "4", "argon2id hashes running at once"},
		{"BOXOFFICE_LOGIN_MAX_PER_ACCOUNT", "10", "failed logins for one account from one network per window"},
		{"BOXOFFICE_LOGIN_MAX_PER_ACCOUNT_GLOBAL", "100", "failed logins for one account from all networks per window"},
		{"BOXOFFICE_LOGIN_MAX_PER_IP", "50", "failed logins from one network over all accounts per window"},
		{"BOXOFFICE_LOGIN_WINDOW", "15m", "the login throttle's window"},
		{"BOXOFFICE_REGISTER_MAX_PER_IP", "20", "accounts created per client IP per hour; 0 disables"},
	}},
	{"Audit trail (security events: a JSON stream, and kept in Redis for GET /v1/me/activity and GET /v1/admin/audit)", []setting{
		{"BOXOFFICE_AUDIT_LOG", "stderr", "where the audit events go as JSON lines (\"log\":\"audit\"): stderr, stdout, a file path (appended to, created 0600) or off"},
		{"BOXOFFICE_AUDIT_MAX_PER_USER", "100", "events kept in Redis per user (their newest)"},
		{"BOXOFFICE_AUDIT_MAX_EVENTS", "100000", "events kept in Redis in all (approximately: up to about 100 more)"},
		{"BOXOFFICE_AUDIT_RETENTION", "2160h", "no event older than this is kept or shown (90 days)"},
	}},
	{"Tickets (PostgreSQL or the embedded SQLite)", []setting{
		{"DATABASE_URL", "(embedded SQLite)", "PostgreSQL, postgres://user:pass@host:5432/db?sslmode=…, migrated at start-up"},
		{"BOXOFFICE_SQLITE_PATH", "(in memory)", "the embedded SQLite's file, to keep its data across restarts"},
		{"BOXOFFICE_DB_MAX_CONNS", "10", "PostgreSQL connections per instance"},
		{"BOXOFFICE_DEMO_DATA", "(true without DATABASE_URL)", "load the demo catalogue at start-up"},
		{"BOXOFFICE_HOLD_TTL", "10m", "how long a hold keeps its seats"},
		{"BOXOFFICE_MAX_SEATS_PER_HOLD", "10", "seats in one hold"},
		{"BOXOFFICE_JANITOR_INTERVAL", "5s", "how often expired holds, overdue payments and refunds are tidied"},
		{"BOXOFFICE_SWEEP_INTERVAL", "1s", "how often expired holds are marked and announced"},
		{"BOXOFFICE_CANCEL_CUTOFF", "2h", "buyers may cancel until this long before a screening"},
		{"BOXOFFICE_PAYMENT_GRACE", "30s", "a payment pending this long past its deadline is cancelled"},
		{"BOXOFFICE_IDEMPOTENCY_LEASE", "(BOXOFFICE_REQUEST_TIMEOUT + 1s, at least 15s)", "how long a request owns its Idempotency-Key"},
		{"BOXOFFICE_TEST_PAYMENTS", "(true without DATABASE_URL)", "the fake \"test\" payment provider: never in production"},
		{"BOXOFFICE_PAYMENT_WEBHOOK_SECRET", "", "HMAC key of payment webhooks; unset refuses them (secret)"},
	}},
	{"Live seat maps", []setting{
		{"BOXOFFICE_EVENTS_PUBLISH_INTERVAL", "50ms", "how often the seat-event outbox is published"},
		{"BOXOFFICE_EVENTS_POLL_INTERVAL", "1s", "how often each instance checks for events Redis lost"},
		{"BOXOFFICE_EVENTS_RETENTION", "15m", "how long seat events are kept for resuming clients"},
		{"BOXOFFICE_EVENTS_HEARTBEAT", "15s", "comment line on an idle stream"},
		{"BOXOFFICE_MAX_STREAMS", "10000", "open streams per instance; beyond it 503"},
	}},
	{"Tracing (OpenTelemetry; off unless OTEL_TRACES_EXPORTER=otlp or an OTLP endpoint is set)", []setting{
		{"OTEL_SDK_DISABLED", "false", "true turns tracing off whatever else is set"},
		{"OTEL_TRACES_EXPORTER", "", "otlp turns tracing on (to http://localhost:4318 without an endpoint); none turns it off"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", "", "collector base URL (OTLP over HTTP); spans go to its /v1/traces"},
		{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "", "full URL spans are sent to; wins over OTEL_EXPORTER_OTLP_ENDPOINT"},
		{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf", "the only protocol supported"},
		{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf", "the only protocol supported"},
		{"OTEL_EXPORTER_OTLP_HEADERS", "", "key=value,… headers of every export, percent-encoded (secret: masked in logs)"},
		{"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "", "more headers, overriding OTEL_EXPORTER_OTLP_HEADERS key by key (secret)"},
		{"OTEL_SERVICE_NAME", "boxoffice", "the service.name of every span"},
		{"OTEL_RESOURCE_ATTRIBUTES", "", "key=value,… resource attributes, such as deployment.environment.name=prod"},
		{"OTEL_TRACES_SAMPLER", "parentbased_always_on", "always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio"},
		{"OTEL_TRACES_SAMPLER_ARG", "1", "the ratio of the traceidratio samplers, 0 to 1"},
	}},
}

// usage is the --help text: the commands, then every environment variable with its default
// and meaning.
func usage(w io.Writer) {
	fmt.Fprint(w, `boxoffice serves the boxoffice API: sessions and tickets.

Usage: boxoffice [command]

Commands:
  serve                           serve the API (the default)
  healthcheck                     ask the local server's /healthz; exit status 0 when it answers 200
  admin grant|revoke|show <user>  manage administrators, directly in Redis
  demo-data                       load the demo catalogue into DATABASE_URL or BOXOFFICE_SQLITE_PATH
  version                         print the module version, commit and Go version
  help, -h, --help                print this help

Configuration is read once at start-up from these environment variables; an invalid one stops
the program with every problem listed. Durations use Go syntax (300ms, 5m, 168h). The effective
configuration is logged at start-up ("configuration"), secrets masked.
`)
	for _, g := range settings {
		fmt.Fprintf(w, "\n%s:\n", g.group)
		for _, s := range g.rows {
			def := ""
			if s.def != "" {
				def = " (default " + s.def + ")"
			}
			fmt.Fprintf(w, "  %s%s\n      %s\n", s.name, def, s.doc)
		}
	}
	fmt.Fprint(w, `
The OpenTelemetry SDK also reads the standard OTEL_BSP_* (batching) and OTEL_EXPORTER_OTLP_*
certificate, compression and timeout variables itself.
`)
}

// settingNames lists every documented variable.
func settingNames() []string {
	var out []string
	for _, g := range settings {
		for _, s := range g.rows {
			out = append(out, s.name)
		}
	}
	return out
}

// literalDefault reports whether def is one value loadConfig would read as its default.
func literalDefault(def string) bool { return def != "" && !strings.HasPrefix(def, "(") }

// docsURL is where the interactive API reference of a server listening on addr is, for the
// start-up log: http://host:port/docs, with localhost for a wildcard address.
func docsURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/docs"
}
