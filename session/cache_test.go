package session_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"sync"
	"testing"
	"time"

	"boxoffice/auth"
	"boxoffice/session"
	"boxoffice/session/sessiontest"
)

// cacheEnv is a redis-server with a store that has no cache (the writer, standing for every
// other instance and tool) and returns a store with its cache on, over the same Redis and
// clock, once its link is serving. A zero cfg.Staleness is a year, beyond every advance of the
// test clock (sessions' idle deadlines included): heartbeats (every fifth of it) then come once,
// at the start, so that the cache keeps serving after the clock moves and counts of hits and
// misses do not depend on whether a heartbeat's echo happens to wait unread during a read.
func cacheEnv(t *testing.T, cfg session.CacheConfig) (*env, *session.Store) {
	t.Helper()
	if cfg.Staleness == 0 {
		cfg.Staleness = 365 * 24 * time.Hour
	}
	r := sessiontest.StartServer(t)
	e := &env{rdb: r.Client(t), clock: newClock(), redis: r, ctx: context.Background()}
	rdb, err := session.NewClient(session.ClientConfig{URL: r.URL(), ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, PoolTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	scfg := session.DefaultConfig()
	scfg.Now = e.clock.Now
	if e.store, err = session.New(rdb, scfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.store.Wait)
	cached, err := session.New(r.Client(t), scfg)
	if err != nil {
		t.Fatal(err)
	}
	startCache(t, cached, cfg)
	waitServing(t, cached)
	return e, cached
}

// waitServing waits until the cache's link has subscribed and echoed a heartbeat.
func waitServing(t *testing.T, st *session.Store) {
	t.Helper()
	deadline := time.Now().Add(guard)
	for !st.CacheStats().Serving {
		if time.Now().After(deadline) {
			t.Fatalf("the cache did not start serving within %v: %+v", guard, st.CacheStats())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// guard bounds waits for something that takes milliseconds, so that a loaded machine never
// fails a test by being slow.
const guard = 30 * time.Second

// newAccount creates an account with a password hash and returns its id.
func newAccount(t *testing.T, e *env) string {
	t.Helper()
	uid := auth.NewID()
	name := "u" + uid[:12]
	if err := e.store.Users().CreateUser(e.ctx, auth.User{ID: uid, Username: name, DisplayName: name,
		PasswordHash: "hash-1", CreatedAt: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	return uid
}

// same asserts that the cached store answers exactly what Redis holds now.
func same(t *testing.T, e *env, cached *session.Store, uid, sid, after string) {
	t.Helper()
	want, wu, werr := e.store.GetWithUser(e.ctx, uid, sid)
	got, gu, gerr := cached.GetWithUser(e.ctx, uid, sid)
	if !errors.Is(gerr, werr) && (gerr == nil || werr == nil || gerr.Error() != werr.Error()) {
		t.Fatalf("after %s: cached store answered %v, Redis %v", after, gerr, werr)
	}
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gu, wu) {
		t.Fatalf("after %s: cached store answered\n%+v %+v\nRedis holds\n%+v %+v", after, got, gu, want, wu)
	}
}

// TestCacheServesAndEveryChangeInvalidates: a warm session is answered from memory; every kind
// of change made elsewhere — another instance's scripts, the admin CLI's plain commands, a
// tool writing Redis directly, expiry — is visible to the very next read, with no waiting:
// Redis writes the invalidation to the link before it answers the writer, and a cached read
// first checks that nothing waits unread on the link. FLUSHALL's notice comes just after its
// reply (see below).
func TestCacheServesAndEveryChangeInvalidates(t *testing.T) {
	e, cached := cacheEnv(t, session.CacheConfig{})
	uid := newAccount(t, e)
	// warm reads id until it is held in memory, once the invalidations of the writes before are
	// applied (a read that raced one of them is rightly not kept): its second read is a hit.
	warm := func(id string) {
		t.Helper()
		waitServing(t, cached)
		same(t, e, cached, uid, id, "warming")
		before := cached.CacheStats()
		same(t, e, cached, uid, id, "nothing")
		if st := cached.CacheStats(); st.Hits != before.Hits+1 || st.Misses != before.Misses {
			t.Fatalf("a warm read of %s was not answered from memory: %+v then %+v", id, before, st)
		}
	}
	s := e.login(t, uid)
	other := e.login(t, uid)
	for _, sid := range []string{s.ID, other.ID} {
		same(t, e, cached, uid, sid, "login")
	}
	warm(s.ID)

	steps := []struct {
		name string
		do   func() error
	}{
		{"a data patch", func() error {
			_, err := e.store.PatchData(e.ctx, uid, s.ID, map[string]json.RawMessage{"cart": json.RawMessage(`[1]`)}, nil)
			return err
		}},
		{"a role grant (plain HSET)", func() error { return e.store.Users().SetRoles(e.ctx, uid, []string{"admin"}) }},
		{"a tool's HSET on the session", func() error { return e.rdb.HSet(e.ctx, e.sessionKey(uid, s.ID), "dn", "renamed").Err() }},
		{"a refresh", func() error {
			_, err := e.store.Rotate(e.ctx, session.Rotation{UserID: uid, SessionID: s.ID, PresentedHash: "h0",
				SuccessorHash: "h1", RequestID: "r1", AccessExpiresAt: e.clock.Now().Add(5 * time.Minute)})
			return err
		}},
		{"a touch", func() error {
			e.clock.Advance(2 * time.Minute)
			_, err := e.store.Get(e.ctx, uid, s.ID)
			e.store.Wait()
			return err
		}},
		{"a password change", func() error {
			_, _, err := e.store.ChangePassword(e.ctx, session.PasswordChange{UserID: uid, SessionID: other.ID,
				OldHash: "hash-1", NewHash: "hash-2", NewSessionID: auth.NewID(), RefreshHash: "p0",
				AccessExpiresAt: e.clock.Now().Add(5 * time.Minute)})
			return err
		}},
	}
	for _, step := range steps {
		same(t, e, cached, uid, s.ID, "warming before "+step.name)
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		same(t, e, cached, uid, s.ID, step.name)
	}

	// Revocation, one session and all; then expiry and FLUSHALL on fresh sessions.
	a, b := e.login(t, uid), e.login(t, uid)
	for _, sid := range []string{a.ID, b.ID} {
		same(t, e, cached, uid, sid, "login")
	}
	if err := e.store.Revoke(e.ctx, uid, a.ID, b.ID, session.ReasonRevoked); err != nil {
		t.Fatal(err)
	}
	same(t, e, cached, uid, b.ID, "a revoke")
	if _, err := e.store.RevokeAll(e.ctx, uid, "", session.ReasonRevoked); err != nil {
		t.Fatal(err)
	}
	same(t, e, cached, uid, a.ID, "sign out everywhere")

	c := e.login(t, uid)
	warm(c.ID)
	e.clock.Advance(session.DefaultConfig().IdleTTL) // past the idle deadline, before Redis' TTL
	before := cached.CacheStats()
	if _, err := cached.Get(e.ctx, uid, c.ID); !errors.Is(err, session.ErrExpired) {
		t.Fatalf("a cached session past its idle deadline: %v, want ErrExpired", err)
	}
	if st := cached.CacheStats(); !before.Serving || st.Hits != before.Hits+1 {
		t.Fatalf("the expired session was not read from memory: %+v then %+v", before, st)
	}
	// A session warm in memory, then FLUSHALL. The one exception to "before the reply": Redis
	// queues a flush's notice during the command, so it writes it just after the FLUSHALL's
	// reply, in the same turn of its event loop (broadcast invalidations are queued after the
	// reply, so written before it). A read that starts once the notice arrived goes to Redis.
	d := e.login(t, uid)
	same(t, e, cached, uid, d.ID, "login")
	warm(d.ID)
	flushes := cached.CacheStats().Flushes
	if err := e.rdb.FlushAll(e.ctx).Err(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(guard); cached.CacheStats().Flushes == flushes; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no flush notice on the link within %v: %+v", guard, cached.CacheStats())
		}
	}
	if _, err := cached.Get(e.ctx, uid, d.ID); !errors.Is(err, session.ErrExpired) {
		t.Fatalf("after FLUSHALL: %v, want ErrExpired", err)
	}
}

// TestCacheRevocationRace is the race harness of the read barrier: a session warm in the
// cache is revoked by another store, and the cached store's very next read must fail. Without
// the check of the link's socket (link.serving), reads win the race against the link's reader
// goroutine now and then and answer a revoked session.
func TestCacheRevocationRace(t *testing.T) {
	e, cached := cacheEnv(t, session.CacheConfig{})
	uid := newAccount(t, e)
	const rounds = 300
	served := 0
	for i := range rounds {
		s := e.login(t, uid)
		for range 2 {
			if _, err := cached.Get(e.ctx, uid, s.ID); err != nil {
				t.Fatalf("round %d: warm read: %v", i, err)
			}
		}
		stop := readers(e.ctx, cached, 2, uid, s.ID) // keep the cache busy while the revocation lands
		if err := e.store.Revoke(e.ctx, uid, s.ID, s.ID, session.ReasonLogout); err != nil {
			t.Fatal(err)
		}
		_, err := cached.Get(e.ctx, uid, s.ID)
		stop()
		if !errors.Is(err, session.ErrRevoked) {
			served++
			t.Errorf("round %d: the read after the revocation answered %v, want ErrRevoked", i, err)
		}
	}
	if st := cached.CacheStats(); st.Hits < rounds {
		t.Fatalf("the harness did not exercise the cache: %+v", st)
	}
}

// TestCacheReadsRacingWrites is the race harness of the generation check: readers fill the
// cache while writers change the session; once the writers are done, the cached store must
// answer the last version. A read that fetched an old version and inserted it after the
// invalidation of a newer write had already been applied would keep answering the old one.
func TestCacheReadsRacingWrites(t *testing.T) {
	e, cached := cacheEnv(t, session.CacheConfig{})
	uid := newAccount(t, e)
	for round := range 40 {
		s := e.login(t, uid)
		stop := readers(e.ctx, cached, 3, uid, s.ID)
		var last session.Session
		for i := range 30 {
			var err error
			last, err = e.store.PatchData(e.ctx, uid, s.ID, map[string]json.RawMessage{"n": json.RawMessage(fmt.Sprint(i))}, nil)
			if err != nil {
				t.Fatal(err)
			}
		}
		stop()
		got, err := cached.Get(e.ctx, uid, s.ID)
		if err != nil || got.Version != last.Version {
			t.Fatalf("round %d: cached store answered version %d (%v) after the writes; the last is %d", round, got.Version, err, last.Version)
		}
	}
}

// readers starts n goroutines reading session sid of uid through st until the returned stop
// is called; stop waits for them.
func readers(ctx context.Context, st *session.Store, n int, uid, sid string) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
					_, _ = st.Get(ctx, uid, sid)
				}
			}
		})
	}
	return func() { close(done); wg.Wait() }
}

// TestCacheLinkStalls is the fault test of the invalidation link alone: a proxy in front of
// the link (and only the link) stops forwarding, silently. The cache stops serving once the
// last echoed heartbeat is older than the staleness bound — shown here with the injected
// clock — and reads then go to Redis and see the revocation the link never delivered. When the
// proxy forwards again, the held invalidations arrive and the cache serves again; when the
// proxy cuts the connection, the link reconnects and starts from an empty cache.
func TestCacheLinkStalls(t *testing.T) {
	p := &linkProxy{}
	var target string
	cfg := session.CacheConfig{LinkDialer: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return p.dial(ctx, target)
	}}
	r := sessiontest.StartServer(t)
	target = r.Addr
	p.start(t)
	e := &env{rdb: r.Client(t), clock: newClock(), redis: r, ctx: context.Background()}
	scfg := session.DefaultConfig()
	scfg.Now = e.clock.Now
	var err error
	if e.store, err = session.New(r.Client(t), scfg); err != nil {
		t.Fatal(err)
	}
	cached, err := session.New(r.Client(t), scfg)
	if err != nil {
		t.Fatal(err)
	}
	startCache(t, cached, cfg)
	waitServing(t, cached)

	uid := newAccount(t, e)
	s := e.login(t, uid)
	for range 2 {
		if _, err := cached.Get(e.ctx, uid, s.ID); err != nil {
			t.Fatal(err)
		}
	}
	p.stall()
	if err := e.store.Revoke(e.ctx, uid, s.ID, s.ID, session.ReasonLogout); err != nil {
		t.Fatal(err)
	}
	_, err = cached.Get(e.ctx, uid, s.ID)
	t.Logf("within the bound, with the link stalled, the cached store answered %v", err)
	e.clock.Advance(time.Second + time.Millisecond) // the default staleness bound, and a bit
	if st := cached.CacheStats(); st.Serving {
		t.Fatalf("the cache serves with its link stalled past the bound: %+v", st)
	}
	if _, err := cached.Get(e.ctx, uid, s.ID); !errors.Is(err, session.ErrRevoked) {
		t.Fatalf("past the bound with the link stalled: %v, want ErrRevoked from Redis", err)
	}

	p.resume()
	waitServing(t, cached) // a heartbeat written after the advance came back
	if _, err := cached.Get(e.ctx, uid, s.ID); !errors.Is(err, session.ErrRevoked) {
		t.Fatalf("after the link resumed: %v, want ErrRevoked", err)
	}
	s2 := e.login(t, uid)
	for range 2 {
		if _, err := cached.Get(e.ctx, uid, s2.ID); err != nil {
			t.Fatal(err)
		}
	}
	flushes := cached.CacheStats().Flushes
	p.cut()
	deadline := time.Now().Add(guard)
	for cached.CacheStats().Flushes < flushes+2 { // one when the link fell, one when it came back
		if time.Now().After(deadline) {
			t.Fatalf("the link did not come back after a cut: %+v", cached.CacheStats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	waitServing(t, cached)
	if st := cached.CacheStats(); st.Entries != 0 && st.Hits == 0 {
		t.Fatalf("after reconnecting the cache kept entries: %+v", st)
	}
}

// TestCacheLinkStallRealTime measures, on the real clock, how long a cache keeps serving after
// its link silently stalls: at most the staleness bound (1s) after the last echo. It reports
// the time; the bound itself is asserted with the injected clock in TestCacheLinkStalls.
func TestCacheLinkStallRealTime(t *testing.T) {
	p := &linkProxy{}
	r := sessiontest.StartServer(t)
	p.start(t)
	cfg := session.CacheConfig{LinkDialer: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return p.dial(ctx, r.Addr)
	}}
	cached, err := session.New(r.Client(t), session.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	startCache(t, cached, cfg)
	waitServing(t, cached)
	stalled := time.Now()
	p.stall()
	for cached.CacheStats().Serving {
		if time.Since(stalled) > guard {
			t.Fatalf("still serving %v after the link stalled", guard)
		}
		time.Sleep(time.Millisecond)
	}
	t.Logf("the cache stopped serving %v after its link stalled (bound: 1s after the last echo)", time.Since(stalled).Round(time.Millisecond))
	p.resume()
}

// linkProxy forwards TCP connections to Redis, and can hold every byte (stall), let them
// through again (resume) or close every connection (cut).
type linkProxy struct {
	mu    sync.Mutex
	open  chan struct{} // closed while forwarding
	conns []net.Conn
}

func (p *linkProxy) start(t *testing.T) {
	p.open = make(chan struct{})
	close(p.open)
	t.Cleanup(func() { p.resume(); p.cut() })
}

func (p *linkProxy) dial(ctx context.Context, target string) (net.Conn, error) {
	var d net.Dialer
	up, err := d.DialContext(ctx, "tcp", target)
	if err != nil {
		return nil, err
	}
	near, far := net.Pipe()
	p.mu.Lock()
	p.conns = append(p.conns, up, near)
	p.mu.Unlock()
	go p.pipe(up, near)
	go p.pipe(near, up)
	return far, nil
}

func (p *linkProxy) pipe(src, dst net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			gate := p.open
			p.mu.Unlock()
			<-gate
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrClosedPipe) {
				_ = dst.Close()
			}
			_ = dst.Close()
			return
		}
	}
}

func (p *linkProxy) stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.open = make(chan struct{})
}

func (p *linkProxy) resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.open:
	default:
		close(p.open)
	}
}

func (p *linkProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}
