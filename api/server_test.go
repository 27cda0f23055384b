package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	redisstorage "github.com/gofiber/storage/redis/v3"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"boxoffice"
	"boxoffice/accounts"
	"boxoffice/audit"
	"boxoffice/audit/redisaudit"
	"boxoffice/auth"
	"boxoffice/metrics"
	"boxoffice/session"
	"boxoffice/session/sessiontest"
	"boxoffice/tickets"
	"boxoffice/tickets/live"
	"boxoffice/tickets/live/redisbroker"
	"boxoffice/tickets/sqlite"
	"boxoffice/tickets/testpay"
	"boxoffice/web"
)

// rtCounter counts Redis round trips: one per command or pipeline sent.
type rtCounter struct{ n atomic.Int64 }

func (c *rtCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *rtCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !heartbeat(cmd) {
			c.n.Add(1)
		}
		return next(ctx, cmd)
	}
}

// heartbeat reports whether cmd is a write of the session cache's heartbeat, which goes on in
// the background and is not a round trip of the request being counted.
func heartbeat(cmd redis.Cmder) bool {
	a := cmd.Args()
	if len(a) < 2 {
		return false
	}
	k, _ := a[1].(string)
	return strings.Contains(k, "{u:~cache}:hb:")
}
func (c *rtCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { c.n.Add(1); return next(ctx, cmds) }
}

// testServer is an in-process API over a throwaway Redis and an in-memory ticket store.
type testServer struct {
	srv     *Server
	rdb     redis.UniversalClient
	rts     *rtCounter
	tickets *tickets.Service
	tstore  *sqlite.Store
	// spec, when set, validates every exchange of call against openapi.yaml.
	spec  func(tb testing.TB, req *http.Request, reqBody []byte, resp *http.Response, body []byte)
	clock *testClock // the clock of the session store and of the ticket store and service
	hub   *live.Hub  // the live seat maps
}

// testClock is the wall clock moved by a settable offset.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *testClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// sessionCheck is the session store as the ticketing domain's SessionChecker, as
// cmd/boxoffice wires it.
type sessionCheck struct{ s *session.Store }

func (c sessionCheck) Alive(ctx context.Context, refs []tickets.SessionRef) ([]bool, error) {
	rs := make([]session.Ref, len(refs))
	for i, r := range refs {
		rs[i] = session.Ref{UserID: r.UserID, SessionID: r.SessionID}
	}
	return c.s.Alive(ctx, rs)
}

func (c sessionCheck) MovedTo(ctx context.Context, r tickets.SessionRef) (string, error) {
	return c.s.Resumable(ctx, r.UserID, r.SessionID)
}

func newTestServer(tb testing.TB) *testServer {
	tb.Helper()
	return newTestServerWith(tb, Config{})
}

// newTestServerWith is newTestServer with an HTTP-layer configuration and changes to the
// account flows' configuration.
func newTestServerWith(tb testing.TB, cfg Config, mutate ...func(*accounts.Service)) *testServer {
	tb.Helper()
	ts, _ := buildTestServer(tb, testServerOptions{cfg: cfg, tickets: openSQLite, mutate: mutate})
	return ts
}

// testServerOptions configure buildTestServer. Zero values: no HTTP-layer changes, the tickets
// store opened by tickets is required, the server's log is discarded.
type testServerOptions struct {
	cfg     Config
	tickets func(tb testing.TB, clock *testClock) tickets.Store
	log     io.Writer // the server's log, error level only; nil discards it
	mutate  []func(*accounts.Service)
	noWeb   bool                 // build the server without the web client
	tp      trace.TracerProvider // Deps.TracerProvider; nil: no tracing
	metrics *metrics.Metrics     // Deps.Metrics; nil: no metrics
	audit   []audit.Recorder     // recorders of audit events besides the Redis store
	cache   bool                 // a redis-server and the session cache on (serving before it returns)
}

// buildTestServer is the one place a test server is put together: a throwaway Redis (miniredis
// or redis-server), the account flows, and a ticket store, all on one settable clock.
func buildTestServer(tb testing.TB, o testServerOptions) (*testServer, tickets.Store) {
	tb.Helper()
	r := sessiontest.Start(tb)
	if o.cache {
		r = sessiontest.StartServer(tb)
	}
	rdb, err := session.NewClient(session.ClientConfig{URL: r.URL()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { rdb.Close() })
	rts := &rtCounter{}
	rdb.AddHook(rts)
	clock := &testClock{}
	// Audit events are kept in the same Redis, through a client of their own (outside rts).
	ardb, err := session.NewClient(session.ClientConfig{URL: r.URL()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ardb.Close() })
	events := redisaudit.New(ardb, redisaudit.Config{Now: clock.now})
	rec := audit.Stamp{Now: clock.now, Next: audit.Recorders(append([]audit.Recorder{
		&audit.Keeper{Store: events, Now: clock.now, Timeout: 5 * time.Second}}, o.audit...))}
	scfg := session.DefaultConfig()
	scfg.Now = clock.now
	scfg.Audit = rec
	store, err := session.New(rdb, scfg)
	if err != nil {
		tb.Fatal(err)
	}
	if o.cache {
		startCache(tb, store)
	}
	tokens, err := auth.NewTokens(auth.TokenConfig{Keys: testKeys, CacheSize: 1000})
	if err != nil {
		tb.Fatal(err)
	}
	passwords := auth.NewPasswords(auth.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}, 4)
	acc := &accounts.Service{Users: store.Users(), Sessions: store, Throttle: store.Throttle(),
		Passwords: passwords, Tokens: tokens, RefreshTokens: auth.NewRefreshTokens(testKeys),
		Devices: auth.NewDeviceTokens(testKeys), Audit: rec}
	for _, m := range o.mutate {
		m(acc)
	}
	logger := slog.New(slog.DiscardHandler)
	if o.log != nil {
		logger = slog.New(slog.NewTextHandler(o.log, &slog.HandlerOptions{Level: slog.LevelError}))
	}
	tstore := o.tickets(tb, clock)
	ticketing := tickets.NewService(tstore, tickets.Config{Now: clock.now, Sessions: sessionCheck{store}, Audit: rec,
		Payments: map[string]tickets.PaymentProvider{"test": &testpay.Provider{Secret: testWebhookSecret}}})
	webApp := web.Assets()
	if o.noWeb {
		webApp = nil
	}
	// The hub gets a Redis client of its own, so that its background traffic stays out of the
	// round trips rts counts.
	hrdb, err := session.NewClient(session.ClientConfig{URL: r.URL()})
	if err != nil {
		tb.Fatal(err)
	}
	hub := live.NewHub(tstore, redisbroker.New(hrdb, ""), live.Config{Logger: logger})
	hctx, stopHub := context.WithCancel(context.Background())
	hubDone := make(chan struct{})
	go func() { defer close(hubDone); hub.Run(hctx) }()
	tb.Cleanup(func() { stopHub(); <-hubDone; hrdb.Close() })
	srv, err := NewServer(o.cfg, Deps{
		Accounts: acc, Sessions: store, Users: store.Users(), Passwords: passwords,
		Tokens: tokens, CSRF: testCSRF, Tickets: ticketing, Live: hub, Web: webApp,
		Storage: redisstorage.NewFromConnection(rdb), Ping: store.Ping,
		Logger: logger, Now: time.Now, Spec: boxoffice.OpenAPI, TracerProvider: o.tp,
		Metrics: o.metrics, Audit: rec, Activity: events,
	})
	if err != nil {
		tb.Fatal(err)
	}
	ts := &testServer{srv: srv, rdb: rdb, rts: rts, tickets: ticketing, clock: clock, hub: hub}
	if s, ok := tstore.(*sqlite.Store); ok {
		ts.tstore = s
	}
	return ts, tstore
}

// startCache turns the store's session cache on until the test ends, and waits until it serves.
func startCache(tb testing.TB, store *session.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	// The staleness bound is generous: on a loaded machine the heartbeat's echo can be late by
	// more than the default second, and the cache would then (rightly) stop serving, so that
	// counts of Redis round trips would depend on the machine's speed.
	wait, err := store.StartCache(ctx, session.CacheConfig{Staleness: time.Minute}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cancel(); wait() })
	deadline := time.Now().Add(30 * time.Second)
	for !store.CacheStats().Serving {
		if time.Now().After(deadline) {
			tb.Fatalf("the session cache did not start serving: %+v", store.CacheStats())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testWebhookSecret signs the test payment provider's webhooks (testpay.Sign).
var testWebhookSecret = []byte("whsec-test-0123456789abcdef")

// openSQLite opens an empty in-memory ticket store on the test clock.
func openSQLite(tb testing.TB, clock *testClock) tickets.Store {
	s, err := sqlite.Open(context.Background(), "", sqlite.Options{Now: clock.now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// call sends one request through the Fiber app.
func (ts *testServer) call(tb testing.TB, method, path, token, body string, hdr ...string) (*http.Response, []byte) {
	tb.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := ts.srv.app.Test(req, -1)
	if err != nil {
		tb.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ts.spec != nil {
		ts.spec(tb, req, []byte(body), resp, b)
	}
	return resp, b
}

// signIn registers a user and logs in, returning the token response.
func (ts *testServer) signIn(tb testing.TB, name string) tokenResponse {
	tb.Helper()
	if resp, b := ts.call(tb, "POST", "/v1/users", "", `{"username":"`+name+`","password":"password-`+name+`"}`); resp.StatusCode != 201 {
		tb.Fatalf("register: %d %s", resp.StatusCode, b)
	}
	resp, b := ts.call(tb, "POST", "/v1/auth/login", "", `{"username":"`+name+`","password":"password-`+name+`"}`)
	if resp.StatusCode != 200 {
		tb.Fatalf("login: %d %s", resp.StatusCode, b)
	}
	var tr tokenResponse
	if err := json.Unmarshal(b, &tr); err != nil {
		tb.Fatal(err)
	}
	return tr
}

// TestAuthenticatedReadIsOneRoundTrip: the hot path (verify the JWT, check the session is
// live, slide its deadline when due, return it) costs exactly one Redis round trip, and
// GET /v1/me reads the account in that same trip.
func TestAuthenticatedReadIsOneRoundTrip(t *testing.T) {
	ts := newTestServer(t)
	tr := ts.signIn(t, "alice")
	for _, path := range []string{"/v1/session", "/v1/me"} {
		ts.call(t, "GET", path, tr.AccessToken, "") // load the script into Redis' cache
		before := ts.rts.n.Load()
		for i := 0; i < 10; i++ {
			if resp, b := ts.call(t, "GET", path, tr.AccessToken, ""); resp.StatusCode != 200 {
				t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
			}
		}
		if n := ts.rts.n.Load() - before; n != 10 {
			t.Fatalf("%s: %d Redis round trips for 10 requests, want 10", path, n)
		}
	}
	// With the session cache, a warm session costs none.
	cached, _ := buildTestServer(t, testServerOptions{tickets: openSQLite, cache: true})
	tr = cached.signIn(t, "alice")
	for _, path := range []string{"/v1/session", "/v1/me"} {
		cached.call(t, "GET", path, tr.AccessToken, "") // read into the cache
		before := cached.rts.n.Load()
		for i := 0; i < 10; i++ {
			if resp, b := cached.call(t, "GET", path, tr.AccessToken, ""); resp.StatusCode != 200 {
				t.Fatalf("cached %s: %d %s", path, resp.StatusCode, b)
			}
		}
		if n := cached.rts.n.Load() - before; n != 0 {
			t.Fatalf("cached %s: %d Redis round trips for 10 requests, want 0", path, n)
		}
	}
	// A patch of plain values is one round trip too (objects need a read to merge).
	ts.call(t, "PATCH", "/v1/session/data", tr.AccessToken, `{"warm":1}`)
	before := ts.rts.n.Load()
	ts.call(t, "PATCH", "/v1/session/data", tr.AccessToken, `{"a":1}`)
	if n := ts.rts.n.Load() - before; n != 1 {
		t.Fatalf("patch: %d round trips, want 1", n)
	}
}

// TestServerErrorsHideInternals: a 5xx says nothing about its cause.
func TestServerErrorsHideInternals(t *testing.T) {
	ts := newTestServer(t)
	tr := ts.signIn(t, "bob")
	// Corrupt the session hash so decoding fails inside the store.
	key := "bx:{u:" + tr.Session.UserID + "}:s:" + tr.SessionID
	if err := ts.rdb.HSet(context.Background(), key, "ct", "not-a-number").Err(); err != nil {
		t.Fatal(err)
	}
	resp, b := ts.call(t, "GET", "/v1/session", tr.AccessToken, "")
	if resp.StatusCode != 500 || strings.Contains(string(b), "not-a-number") || strings.Contains(string(b), "strconv") {
		t.Fatalf("500 body leaks or wrong status: %d %s", resp.StatusCode, b)
	}
	var p Problem
	if err := json.Unmarshal(b, &p); err != nil || p.Code != "internal_error" || p.RequestID == "" {
		t.Fatalf("problem = %+v, %v", p, err)
	}
}
