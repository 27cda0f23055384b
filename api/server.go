// Package api serves boxoffice's HTTP API with Fiber: routing, request decoding, authentication
// middleware and the mapping of every error to an RFC 9457 problem.
package api

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/trace"

	"boxoffice/accounts"
	"boxoffice/audit"
	"boxoffice/auth"
	"boxoffice/metrics"
	"boxoffice/session"
	"boxoffice/tickets"
	"boxoffice/tickets/live"
)

// Config is the HTTP layer's policy. Zero values take the documented defaults.
type Config struct {
	RequestTimeout time.Duration // deadline for a request's work, Redis included; default 2s
	BodyLimit      int           // bytes; default 64 KiB
	HeaderLimit    int           // bytes of request line and headers; default 8 KiB
	ReadTimeout    time.Duration // default 10s
	WriteTimeout   time.Duration // default 10s
	IdleTimeout    time.Duration // keep-alive; default 60s
	// TrustedProxies are the IPs or CIDRs whose ProxyHeader is believed for the client IP;
	// with none, the peer address is the client IP and ProxyHeader is ignored.
	TrustedProxies []string
	ProxyHeader    string // default "X-Real-IP"
	// RegisterPerIP bounds accounts created per client IP per RegisterWindow (a coarse limit
	// over Fiber's limiter middleware and the shared Redis storage); 0 disables it (the
	// command's configuration defaults it to 20). RegisterWindow defaults to 1h.
	RegisterPerIP  int
	RegisterWindow time.Duration
	// StoragePrefix starts every key Fiber middlewares keep in Deps.Storage; default "bx:fiber:".
	StoragePrefix string
	// CORSOrigins are the browser origins (scheme://host[:port]) allowed to call the API with
	// credentials; none means same-origin only. Never "*".
	CORSOrigins []string
	// PublicOrigins are the origins (scheme://host[:port]) under which browsers reach this API
	// itself; a cookie-authenticated state change is accepted from them and from CORSOrigins
	// only. The request's Host header is never trusted for this.
	PublicOrigins []string
	// InsecureDevCookies lets the cookie transport work over plain HTTP, for requests to a
	// loopback host only (local development): plain-HTTP cookie names, and http:// loopback
	// origins accepted by the origin check. Default false.
	InsecureDevCookies bool
	// Streams tunes the live seat maps (Server-Sent Events).
	Streams StreamConfig
}

// Deps are the server's collaborators.
type Deps struct {
	Accounts  *accounts.Service // sign-in, refresh and password change
	Sessions  *session.Store
	Users     auth.UserStore
	Passwords *auth.Passwords // hashes new accounts' passwords
	Tokens    *auth.Tokens
	CSRF      *auth.CSRF
	Tickets   *tickets.Service // the catalogue, seat maps and holds
	Live      *live.Hub        // live seat maps; required
	Storage   fiber.Storage    // shared state for Fiber middlewares
	Ping      func(context.Context) error
	Spec      []byte // openapi.yaml, served at /openapi.yaml and (converted) /openapi.json
	Web       fs.FS  // the reference web client served at /; nil serves none
	Logger    *slog.Logger
	Now       func() time.Time

	// TracerProvider starts a server span per request (see traceRequests); nil or a no-op
	// provider installs no tracing at all.
	TracerProvider trace.TracerProvider

	// Metrics counts requests, problems and operations (see api/metrics.go); nil counts
	// nothing, at no cost.
	Metrics *metrics.Metrics

	// Audit records the events the HTTP layer sees itself (user_created, authz_admin,
	// authz_fail); nil records nothing.
	Audit audit.Recorder
	// Activity reads kept audit events for GET /v1/me/activity and GET /v1/admin/audit; nil
	// answers them 503 service_unavailable.
	Activity audit.Reader
}

// Server is the HTTP API.
type Server struct {
	app      *fiber.App
	cfg      Config
	deps     Deps
	specJSON []byte
	jar      cookieJar
	draining atomic.Bool
}

// NewServer builds the API with every route registered. It returns an error when d.Spec is not
// a valid OpenAPI document, d.CSRF, d.Accounts, d.Tickets or d.Live is nil, or an entry of
// cfg.PublicOrigins or cfg.CORSOrigins is not an origin scheme://host[:port].
func NewServer(cfg Config, d Deps) (*Server, error) {
	cfg = withDefaults(cfg)
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Audit == nil {
		d.Audit = audit.Discard{}
	}
	if d.Activity == nil {
		d.Activity = noActivity{}
	}
	if d.CSRF == nil {
		return nil, errors.New("api: Deps.CSRF is required")
	}
	sj, err := specJSON(d.Spec)
	if err != nil {
		return nil, err
	}
	jar, err := newCookieJar(d.CSRF, cfg)
	if err != nil {
		return nil, err
	}
	if d.Accounts == nil {
		return nil, errors.New("api: Deps.Accounts is required")
	}
	if d.Tickets == nil {
		return nil, errors.New("api: Deps.Tickets is required")
	}
	if d.Live == nil {
		return nil, errors.New("api: Deps.Live is required")
	}
	s := &Server{cfg: cfg, deps: d, specJSON: sj, jar: jar}
	routes := &routeTable{}
	obs := newHTTPObserver(d.Metrics)
	s.app = fiber.New(fiber.Config{
		AppName:                 "boxoffice",
		DisableStartupMessage:   true,
		ErrorHandler:            obs.errors(errorHandler(d.Logger, routes.allowed)),
		BodyLimit:               cfg.BodyLimit,
		ReadBufferSize:          cfg.HeaderLimit,
		ReadTimeout:             cfg.ReadTimeout,
		WriteTimeout:            cfg.WriteTimeout,
		IdleTimeout:             cfg.IdleTimeout,
		ProxyHeader:             proxyHeader(cfg),
		EnableTrustedProxyCheck: len(cfg.TrustedProxies) > 0,
		TrustedProxies:          cfg.TrustedProxies,
		StrictRouting:           true,
		// fasthttp would parse multipart bodies before routing, answering malformed ones with a
		// bare 400; we accept only JSON, so they reach the app and get a 415 problem.
		DisablePreParseMultipartForm: true,
		CaseSensitive:                true,
	})
	if tracingOn(d.TracerProvider) {
		s.app.Use(traceRequests(d.TracerProvider)) // outermost: its span ends after the error handler
	}
	// accessLog before recover: a panic becomes a 500 it logs and counts.
	s.app.Use(accessLog(d.Logger, obs), recover.New())
	s.app.Use(requestContext(cfg.RequestTimeout), securityHeaders(), identityEncoding())
	if len(cfg.CORSOrigins) > 0 {
		s.app.Use(corsPolicy(cfg.CORSOrigins))
	}
	s.routes()
	routes.load(s.app)
	obs.load(s.app)
	s.app.Server().Handler = unknownMethods(s.app.Server().Handler, routes.allowed, obs)
	return s, nil
}

// unknownMethods answers requests whose method Fiber does not know (it would send a plain-text
// "Invalid http method") with the 405 problem Fiber's own 405 gets (writeProblem: the Allow
// header and a request id, the client's when valid), or with the 404 problem when no route
// serves the path, before Fiber sees them.
func unknownMethods(next fasthttp.RequestHandler, allow func(string) []string, obs *httpObserver) fasthttp.RequestHandler {
	known := map[string]bool{}
	for _, m := range fiber.DefaultMethods {
		known[m] = true
	}
	return func(fctx *fasthttp.RequestCtx) {
		if known[string(fctx.Method())] {
			next(fctx)
			return
		}
		start := time.Now()
		err := fiber.ErrMethodNotAllowed
		if len(allow(string(fctx.URI().PathOriginal()))) == 0 {
			err = fiber.ErrNotFound // no route serves this path, whatever the method
		}
		p, retry := problemFor(err)
		p.RequestID = newRequestID(string(fctx.Request.Header.Peek(fiber.HeaderXRequestID)))
		writeProblem(fctx, p, retry, allow)
		obs.unknownMethod(p.Code, p.Status, time.Since(start))
	}
}

// Defaults of Config that the command's settings table shows too.
const (
	DefaultRequestTimeout  = 2 * time.Second  // Config.RequestTimeout
	DefaultProxyHeader     = "X-Real-IP"      // Config.ProxyHeader
	DefaultRegisterWindow  = time.Hour        // Config.RegisterWindow
	DefaultStreamHeartbeat = 15 * time.Second // Config.Streams.Heartbeat
)

func withDefaults(c Config) Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.RequestTimeout, DefaultRequestTimeout)
	def(&c.ReadTimeout, 10*time.Second)
	def(&c.WriteTimeout, 10*time.Second)
	def(&c.IdleTimeout, 60*time.Second)
	def(&c.RegisterWindow, DefaultRegisterWindow)
	def(&c.Streams.Heartbeat, DefaultStreamHeartbeat)
	if c.Streams.RetryMillis <= 0 {
		c.Streams.RetryMillis = 2000
	}
	if c.BodyLimit <= 0 {
		c.BodyLimit = 64 << 10
	}
	if c.HeaderLimit <= 0 {
		c.HeaderLimit = 8 << 10
	}
	if c.StoragePrefix == "" {
		c.StoragePrefix = "bx:fiber:"
	}
	if c.ProxyHeader == "" {
		c.ProxyHeader = DefaultProxyHeader
	}
	return c
}

// proxyHeader enables the client-IP header only when some proxy is trusted: Fiber would
// otherwise believe it from anyone.
func proxyHeader(c Config) string {
	if len(c.TrustedProxies) == 0 {
		return ""
	}
	return c.ProxyHeader
}

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.app.Listener(ln) }

// Shutdown marks the server not ready, stops accepting connections and waits for in-flight
// requests until ctx is done.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	return s.app.ShutdownWithContext(ctx)
}

// SetDraining makes /readyz answer 503 (or ready again) without stopping, so a load balancer
// drains the instance before Shutdown.
func (s *Server) SetDraining(v bool) { s.draining.Store(v) }

// routeTable remembers the registered routes to answer 405 with an Allow header.
type routeTable struct{ routes []fiber.Route }

func (t *routeTable) load(app *fiber.App) { t.routes = app.GetRoutes(true) }

func (t *routeTable) allowed(path string) []string {
	var out []string
	for _, r := range t.routes {
		if r.Method != fiber.MethodConnect && matchPath(r.Path, path) {
			out = append(out, r.Method)
		}
	}
	return out
}

// matchPath matches a request path against a route pattern whose ":name" segments match any
// one non-empty segment.
func matchPath(pattern, path string) bool {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return false
	}
	for i := range ps {
		if strings.HasPrefix(ps[i], ":") {
			if xs[i] == "" {
				return false
			}
		} else if ps[i] != xs[i] {
			return false
		}
	}
	return true
}
