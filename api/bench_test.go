package api

import (
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/session"
	redisstorage "github.com/gofiber/storage/redis/v3"
	"github.com/valyala/fasthttp"

	"boxoffice/auth"
)

// BenchmarkAuthenticatedGetSession measures the authentication hot path end to end inside the
// process: Fiber routing, JWT verification (cached after the first request, as for a real
// client), the single Redis round trip (HGETALL) and the JSON response. Redis is a real redis-server on loopback when installed.
//
//	go test ./api -run '^$' -bench AuthenticatedGetSession -benchmem
func BenchmarkAuthenticatedGetSession(b *testing.B) {
	ts := newTestServer(b)
	tr := ts.signIn(b, "bench")
	benchHandler(b, ts, "GET", "/v1/session", "Bearer "+tr.AccessToken)
}

// BenchmarkAuthenticatedGetMe is the hot path that also reads the account (same round trip).
func BenchmarkAuthenticatedGetMe(b *testing.B) {
	ts := newTestServer(b)
	tr := ts.signIn(b, "bench")
	benchHandler(b, ts, "GET", "/v1/me", "Bearer "+tr.AccessToken)
}

// BenchmarkAuthenticatedGetSessionCached is the hot path with the session cache on (a
// redis-server behind it): a warm session costs no Redis round trip.
func BenchmarkAuthenticatedGetSessionCached(b *testing.B) {
	ts, _ := buildTestServer(b, testServerOptions{tickets: openSQLite, cache: true})
	tr := ts.signIn(b, "bench")
	benchHandler(b, ts, "GET", "/v1/session", "Bearer "+tr.AccessToken)
}

// BenchmarkAuthenticatedGetMeCached is GET /v1/me with the session cache on.
func BenchmarkAuthenticatedGetMeCached(b *testing.B) {
	ts, _ := buildTestServer(b, testServerOptions{tickets: openSQLite, cache: true})
	tr := ts.signIn(b, "bench")
	benchHandler(b, ts, "GET", "/v1/me", "Bearer "+tr.AccessToken)
}

// BenchmarkVerifyAccessToken isolates the CPU cost of JWT verification: a full check
// (signature, header, claims) and a hit in the cache of verified tokens.
func BenchmarkVerifyAccessToken(b *testing.B) {
	for _, size := range []int{0, 1000} {
		name := map[int]string{0: "full", 1000: "cached"}[size]
		b.Run(name, func(b *testing.B) {
			tk, err := auth.NewTokens(auth.TokenConfig{Keys: testKeys, CacheSize: size})
			if err != nil {
				b.Fatal(err)
			}
			tok, _, _ := tk.Issue(auth.NewID(), auth.NewID())
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tk.Verify(tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFiberSessionMiddleware is the baseline we compare with: Fiber's own session
// middleware over the same Redis (gofiber/storage/redis), loading a session and reading one
// value. It has no revocation, no expiry beyond a TTL and no lost-update protection.
func BenchmarkFiberSessionMiddleware(b *testing.B) {
	ts := newTestServer(b)
	store := session.New(session.Config{Storage: prefixed{redisstorage.NewFromConnection(ts.rdb), "bench:fiber:"}})
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/login", func(c *fiber.Ctx) error {
		s, err := store.Get(c)
		if err != nil {
			return err
		}
		s.Set("user", "bench")
		return s.Save()
	})
	app.Get("/read", func(c *fiber.Ctx) error {
		s, err := store.Get(c)
		if err != nil {
			return err
		}
		if s.Fresh() || s.Get("user") == nil {
			return fiber.ErrUnauthorized
		}
		return c.JSON(fiber.Map{"id": s.ID(), "user": s.Get("user")})
	})
	h := app.Handler()
	var login fasthttp.RequestCtx
	login.Request.Header.SetMethod("GET")
	login.Request.SetRequestURI("/login")
	h(&login)
	cookie := login.Response.Header.PeekCookie("session_id")
	var ck fasthttp.Cookie
	if err := ck.ParseBytes(cookie); err != nil {
		b.Fatal(err)
	}
	var ctx fasthttp.RequestCtx
	b.ReportAllocs()
	before := ts.rts.n.Load()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.Header.SetMethod("GET")
		ctx.Request.SetRequestURI("/read")
		ctx.Request.Header.SetCookie("session_id", string(ck.Value()))
		h(&ctx)
		if ctx.Response.StatusCode() != 200 {
			b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
	b.ReportMetric(float64(ts.rts.n.Load()-before)/float64(b.N), "redis_rt/op")
}

func benchHandler(b *testing.B, ts *testServer, method, path, authz string) {
	h := ts.srv.app.Handler()
	var ctx fasthttp.RequestCtx
	run := func() {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.Header.SetMethod(method)
		ctx.Request.SetRequestURI(path)
		ctx.Request.Header.Set("Authorization", authz)
		h(&ctx)
		if ctx.Response.StatusCode() != 200 {
			b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
	run() // load the script
	b.ReportAllocs()
	before := ts.rts.n.Load()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		run()
	}
	b.ReportMetric(float64(ts.rts.n.Load()-before)/float64(b.N), "redis_rt/op")
}

// BenchmarkHealthz is the framework floor: routing, middleware and a JSON answer, no Redis.
func BenchmarkHealthz(b *testing.B) {
	ts := newTestServer(b)
	benchHandler(b, ts, "GET", "/healthz", "")
}
