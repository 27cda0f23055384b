package session_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"boxoffice/auth"
	"boxoffice/session"
	"boxoffice/session/sessiontest"
)

// clock is an injected, manually advanced time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().Truncate(time.Millisecond)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a store over one throwaway Redis, with direct access for assertions.
type env struct {
	store *session.Store
	rdb   *redis.Client
	clock *clock
	redis *sessiontest.Redis
	ctx   context.Context
}

// backends runs fn against miniredis and, when installed (always in CI), a real
// redis-server: the conformance suite that keeps the embedded mode honest.
func backends(t *testing.T, fn func(t *testing.T, start func(mutate ...func(*session.Config)) *env)) {
	kinds := []string{sessiontest.KindMini}
	if sessiontest.HaveServer() || sessiontest.RequireServer() {
		kinds = append(kinds, sessiontest.KindServer)
	}
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			start := func(mutate ...func(*session.Config)) *env {
				var r *sessiontest.Redis
				if kind == sessiontest.KindMini {
					r = sessiontest.StartMini(t)
				} else {
					r = sessiontest.StartServer(t)
				}
				e := &env{rdb: r.Client(t), clock: newClock(), redis: r, ctx: context.Background()}
				e.store = e.newStore(t, mutate...)
				return e
			}
			fn(t, start)
		})
	}
}

// newStore returns a store over the env's Redis and clock with the default configuration
// changed by mutate; its client is closed when the test ends. The client waits as long as a
// loaded machine needs: these tests are about what the store does, not Redis timeouts (with the
// 300 ms defaults, a hundred concurrent writers on two busy cores ran out of pool and read time,
// and a go-redis retry of a slow script changed what it answered).
func (e *env) newStore(t *testing.T, mutate ...func(*session.Config)) *session.Store {
	t.Helper()
	cfg := session.DefaultConfig()
	cfg.Now = e.clock.Now
	for _, m := range mutate {
		m(&cfg)
	}
	const patient = 30 * time.Second
	rdb, err := session.NewClient(session.ClientConfig{URL: e.redis.URL(),
		ReadTimeout: patient, WriteTimeout: patient, PoolTimeout: patient})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	st, err := session.New(rdb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if e.redis.Kind == sessiontest.KindServer && os.Getenv("BOXOFFICE_SESSION_CACHE") != "off" {
		startCache(t, st, session.CacheConfig{})
	}
	return st
}

// startCache turns the store's cache on until the test ends: every store over a redis-server
// runs the whole suite with its cache on, and with BOXOFFICE_SESSION_CACHE=off without it.
func startCache(t *testing.T, st *session.Store, cfg session.CacheConfig) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	wait, err := st.StartCache(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); wait(); st.Wait() })
}

// login creates a session for uid with refresh token hash "h0" and an access token valid for
// 5 minutes, under the user's current credential epoch, and returns it.
func (e *env) login(t *testing.T, uid string) session.Session {
	t.Helper()
	epoch, _ := e.rdb.HGet(e.ctx, "bx:{u:"+uid+"}:user", "ce").Int64()
	s, err := e.store.Create(e.ctx, session.NewSession{
		ID: auth.NewID(), UserID: uid, DeviceName: "phone", IP: "192.0.2.1", UserAgent: "test",
		RefreshHash: "h0", AccessExpiresAt: e.clock.Now().Add(5 * time.Minute), CredentialEpoch: epoch,
	})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	return s
}

func (e *env) sessionKey(uid, sid string) string { return "bx:{u:" + uid + "}:s:" + sid }
func (e *env) revokedKey(uid, sid string) string { return "bx:{u:" + uid + "}:r:" + sid }
func (e *env) indexKey(uid string) string        { return "bx:{u:" + uid + "}:sessions" }

func (e *env) exists(t *testing.T, key string) bool {
	t.Helper()
	n, err := e.rdb.Exists(e.ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func (e *env) inIndex(t *testing.T, uid, sid string) bool {
	t.Helper()
	_, err := e.rdb.ZScore(e.ctx, e.indexKey(uid), sid).Result()
	if err != nil && err != redis.Nil {
		t.Fatal(err)
	}
	return err == nil
}

// allKeys lists every key in the throwaway server but the session cache's heartbeats
// ("bx:{u:~cache}:hb:…"), which its link writes on a timer whatever the test does.
func (e *env) allKeys(t *testing.T) []string {
	t.Helper()
	keys, err := e.rdb.Keys(e.ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(keys, func(k string) bool { return strings.HasPrefix(k, "bx:{u:~cache}:hb:") })
}

func hasPrefixAll(keys []string, prefix string) bool {
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix) {
			return false
		}
	}
	return true
}
