package session_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"boxoffice/auth"
	"boxoffice/session"
)

func TestUsers(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start()
		us := e.store.Users()
		u := auth.User{ID: auth.NewID(), Username: "alice", DisplayName: "Alice", PasswordHash: "h1",
			Roles: []string{"admin"}, CreatedAt: time.UnixMilli(1700000000123).UTC()}
		if err := us.CreateUser(e.ctx, u); err != nil {
			t.Fatal(err)
		}
		got, err := us.UserByUsername(e.ctx, "alice")
		if err != nil || got.ID != u.ID || got.DisplayName != "Alice" || !got.HasRole("admin") || !got.CreatedAt.Equal(u.CreatedAt) {
			t.Fatalf("by name = %+v, %v", got, err)
		}
		if _, err := us.UserByUsername(e.ctx, "bob"); !errors.Is(err, auth.ErrUserNotFound) {
			t.Fatalf("unknown name: %v", err)
		}
		if _, err := us.UserByID(e.ctx, auth.NewID()); !errors.Is(err, auth.ErrUserNotFound) {
			t.Fatalf("unknown id: %v", err)
		}
		dup := u
		dup.ID = auth.NewID()
		if err := us.CreateUser(e.ctx, dup); !errors.Is(err, auth.ErrUsernameTaken) {
			t.Fatalf("duplicate: %v", err)
		}
		if e.exists(t, "bx:{u:"+dup.ID+"}:user") {
			t.Fatal("losing registration left its record")
		}
		// Compare-and-set of the password hash.
		if ok, err := us.SetPasswordHash(e.ctx, u.ID, "wrong", "h2"); ok || err != nil {
			t.Fatalf("CAS with stale hash = %v, %v", ok, err)
		}
		if ok, err := us.SetPasswordHash(e.ctx, u.ID, "h1", "h2"); !ok || err != nil {
			t.Fatalf("CAS = %v, %v", ok, err)
		}
		if got, _ := us.UserByID(e.ctx, u.ID); got.PasswordHash != "h2" {
			t.Fatalf("hash = %q", got.PasswordHash)
		}
		// The user record is read in the same round trip as the session.
		s := e.login(t, u.ID)
		_, gu, err := e.store.GetWithUser(e.ctx, u.ID, s.ID)
		if err != nil || gu.Username != "alice" {
			t.Fatalf("GetWithUser = %+v, %v", gu, err)
		}
	})
}

func TestUsersConcurrentRegistration(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start()
		us := e.store.Users()
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := us.CreateUser(e.ctx, auth.User{ID: auth.NewID(), Username: "race", PasswordHash: "h", CreatedAt: time.Now()})
				if err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				} else if !errors.Is(err, auth.ErrUsernameTaken) {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("%d registrations of one name succeeded", wins)
		}
		n := 0
		for _, k := range e.allKeys(t) {
			if len(k) > 5 && k[len(k)-5:] == ":user" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d user records for one name", n)
		}
	})
}

func TestThrottle(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start()
		th := e.store.Throttle()
		var wg sync.WaitGroup
		var mu sync.Mutex
		allowed := 0
		for i := 0; i < 60; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := th.Reserve(e.ctx, "login-account", "alice", 10, time.Minute)
				if err != nil {
					t.Error(err)
				}
				if r.OK {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if allowed != 10 {
			t.Fatalf("%d parallel attempts allowed, want exactly 10", allowed)
		}
		r, err := th.Reserve(e.ctx, "login-account", "alice", 10, time.Minute)
		if r.OK || err != nil || r.RetryAfter <= 0 || r.RetryAfter > time.Minute {
			t.Fatalf("blocked reserve = %+v %v", r, err)
		}
		if err := th.Release(e.ctx, "login-account", "alice", true); err != nil {
			t.Fatal(err)
		}
		if r, _ := th.Reserve(e.ctx, "login-account", "alice", 10, time.Minute); !r.OK {
			t.Fatal("reset did not clear the window")
		}
		// Release of one attempt.
		for i := 0; i < 2; i++ {
			th.Reserve(e.ctx, "login-ip", "192.0.2.9", 2, time.Minute)
		}
		if r, _ := th.Reserve(e.ctx, "login-ip", "192.0.2.9", 2, time.Minute); r.OK {
			t.Fatal("third attempt allowed")
		}
		th.Release(e.ctx, "login-ip", "192.0.2.9", false)
		if r, _ := th.Reserve(e.ctx, "login-ip", "192.0.2.9", 2, time.Minute); !r.OK {
			t.Fatal("released attempt not usable")
		}
		for _, k := range e.allKeys(t) {
			if !hasPrefixAll([]string{k}, "bx:throttle:") || len(k) != len("bx:throttle:login-ip:")+64 && len(k) != len("bx:throttle:login-account:")+64 {
				t.Fatalf("throttle key %q: subjects must be hashed", k)
			}
		}
	})
}

// TestThrottleFirstRefusal: exactly one refusal per window and subject is the first, however
// many race; attempts given back under the mark are usable again and do not make a second
// first; the mark never lets a refused attempt through and leaves the window's end alone; a new
// window has a first refusal of its own.
func TestThrottleFirstRefusal(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start()
		th := e.store.Throttle()
		reserve := func() session.Reservation {
			t.Helper()
			r, err := th.Reserve(e.ctx, "login-account", "bob", 5, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		var wg sync.WaitGroup
		var allowed, first atomic.Int64
		for range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := reserve()
				if r.OK {
					allowed.Add(1)
				}
				if r.First {
					first.Add(1)
					if r.OK || r.RetryAfter <= 0 {
						t.Errorf("first refusal %+v", r)
					}
				}
			}()
		}
		wg.Wait()
		if allowed.Load() != 5 || first.Load() != 1 {
			t.Fatalf("%d allowed, %d first refusals; want 5 and 1", allowed.Load(), first.Load())
		}
		key := "bx:throttle:login-account:" + func() string { sum := sha256.Sum256([]byte("bob")); return hex.EncodeToString(sum[:]) }()
		if n, err := e.rdb.Get(e.ctx, key).Int64(); err != nil || n < 5 {
			t.Fatalf("marked counter = %d, %v; a script unaware of the mark must still see the limit spent", n, err)
		}
		if ttl, err := e.rdb.PTTL(e.ctx, key).Result(); err != nil || ttl <= 0 || ttl > time.Minute {
			t.Fatalf("marked counter TTL = %s, %v; want the window's", ttl, err)
		}
		// Given back under the mark: exactly as many attempts go through again, and the next
		// refusals are repeats.
		for range 2 {
			if err := th.Release(e.ctx, "login-account", "bob", false); err != nil {
				t.Fatal(err)
			}
		}
		for i, want := range []bool{true, true, false, false} {
			if r := reserve(); r.OK != want || r.First {
				t.Fatalf("attempt %d after two releases = %+v, want allowed %v and no first", i, r, want)
			}
		}
		// Releases racing refusals never let more through than was given back.
		allowed.Store(0)
		for range 3 {
			wg.Add(1)
			go func() { defer wg.Done(); th.Release(e.ctx, "login-account", "bob", false) }()
		}
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if r := reserve(); r.OK {
					allowed.Add(1)
				} else if r.First {
					t.Error("a second first refusal in one window")
				}
			}()
		}
		wg.Wait()
		if allowed.Load() > 3 {
			t.Fatalf("%d allowed after 3 attempts were given back", allowed.Load())
		}
		// A reset starts over: its next refusal is a first again.
		if err := th.Release(e.ctx, "login-account", "bob", true); err != nil {
			t.Fatal(err)
		}
		for i := range 6 {
			if r := reserve(); r.OK != (i < 5) || r.First != (i == 5) {
				t.Fatalf("attempt %d after reset = %+v", i, r)
			}
		}
	})
}

func TestUnavailable(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start()
		uid := auth.NewID()
		s := e.login(t, uid)
		e.redis.Close()
		if _, err := e.store.Get(e.ctx, uid, s.ID); !errors.Is(err, session.ErrUnavailable) {
			t.Fatalf("get with Redis down: %v, want ErrUnavailable", err)
		}
		if err := e.store.Ping(e.ctx); !errors.Is(err, session.ErrUnavailable) {
			t.Fatalf("ping: %v", err)
		}
		if _, err := e.store.Throttle().Reserve(e.ctx, "k", "s", 1, time.Minute); !errors.Is(err, session.ErrUnavailable) {
			t.Fatalf("throttle fails closed: %v", err)
		}
		if _, err := e.store.Users().UserByUsername(e.ctx, "x"); !errors.Is(err, session.ErrUnavailable) {
			t.Fatalf("users: %v", err)
		}
	})
}

// newTestUser returns an account named canonical with a fresh id.
func newTestUser(canonical string) auth.User {
	return auth.User{ID: auth.NewID(), Username: canonical, DisplayName: canonical, PasswordHash: "h",
		CreatedAt: time.UnixMilli(1700000000000).UTC()}
}

// TestUsersLookAlikes: the username index is keyed by auth.UsernameSkeleton, so a look-alike of
// a registered name is refused with ErrUsernameTaken (leaving no record behind), while lookups
// stay exact: a look-alike is an unknown user.
func TestUsersLookAlikes(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start()
		us := e.store.Users()
		for _, g := range [][]string{
			{"scope", "ѕсоре"}, // Cyrillic dze, es, o, er, ie
			{"admin", "ɑdmin", "admın", "ᴀdmin", "adrnin"},
			{"paypa", "раура"}, // Cyrillic er, a, u
			{"bob1", "bobl"},
		} {
			owner := newTestUser(g[0])
			if err := us.CreateUser(e.ctx, owner); err != nil {
				t.Fatalf("CreateUser(%q): %v", g[0], err)
			}
			for _, alike := range g[1:] {
				if c, err := auth.CanonicalUsername(alike); err != nil || c != alike {
					t.Fatalf("test name %q is not canonical: %q, %v", alike, c, err)
				}
				u := newTestUser(alike)
				if err := us.CreateUser(e.ctx, u); !errors.Is(err, auth.ErrUsernameTaken) {
					t.Errorf("CreateUser(%q) after %q = %v, want ErrUsernameTaken", alike, g[0], err)
				}
				if e.exists(t, "bx:{u:"+u.ID+"}:user") {
					t.Errorf("refused look-alike %q left its record", alike)
				}
				if got, err := us.UserByUsername(e.ctx, alike); !errors.Is(err, auth.ErrUserNotFound) {
					t.Errorf("UserByUsername(%q) = %+v, %v; want ErrUserNotFound (look-alike of %q)", alike, got, err, g[0])
				}
			}
			if got, err := us.UserByUsername(e.ctx, g[0]); err != nil || got.ID != owner.ID {
				t.Errorf("UserByUsername(%q) = %+v, %v", g[0], got, err)
			}
		}
		// Names that merely resemble each other remain distinct accounts.
		for _, name := range []string{"alicia", "alice", "a.b", "a_b", "a-b", "scape"} {
			if err := us.CreateUser(e.ctx, newTestUser(name)); err != nil {
				t.Errorf("CreateUser(%q) = %v, want nil", name, err)
			}
		}
		for _, k := range e.allKeys(t) {
			if strings.HasPrefix(k, "bx:username:") && len(k) != len("bx:username:")+64 {
				t.Errorf("username key %q: names must be hashed", k)
			}
		}
	})
}

// TestUsersLegacyIndex: accounts indexed, before the skeleton index, by the digest of their
// canonical name are still found by that name, block the exact name at registration, and are
// indexed by skeleton on their first lookup, which then blocks their look-alikes too.
func TestUsersLegacyIndex(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start()
		us := e.store.Users()
		digest := func(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }
		old := newTestUser("mallory") // its skeleton, "rnallory", differs: the keys differ
		if err := e.rdb.HSet(e.ctx, "bx:{u:"+old.ID+"}:user", "id", old.ID, "username", old.Username,
			"display_name", old.DisplayName, "pw", old.PasswordHash, "roles", "", "ct", old.CreatedAt.UnixMilli()).Err(); err != nil {
			t.Fatal(err)
		}
		if err := e.rdb.Set(e.ctx, "bx:username:"+digest("mallory"), old.ID, 0).Err(); err != nil {
			t.Fatal(err)
		}
		if err := us.CreateUser(e.ctx, newTestUser("mallory")); !errors.Is(err, auth.ErrUsernameTaken) {
			t.Fatalf("re-registering a legacy name = %v, want ErrUsernameTaken", err)
		}
		skeletonKey := "bx:username:" + digest(auth.UsernameSkeleton("mallory"))
		if e.exists(t, skeletonKey) {
			t.Fatal("a refused registration claimed the skeleton key")
		}
		if got, err := us.UserByUsername(e.ctx, "mallory"); err != nil || got.ID != old.ID {
			t.Fatalf("legacy lookup = %+v, %v", got, err)
		}
		if owner, err := e.rdb.Get(e.ctx, skeletonKey).Result(); err != nil || owner != old.ID {
			t.Fatalf("legacy account not indexed by skeleton after lookup: %q, %v", owner, err)
		}
		if err := us.CreateUser(e.ctx, newTestUser("rnallory")); !errors.Is(err, auth.ErrUsernameTaken) {
			t.Fatalf("look-alike of a legacy account = %v, want ErrUsernameTaken", err)
		}
		if got, err := us.UserByUsername(e.ctx, "mallory"); err != nil || got.ID != old.ID {
			t.Fatalf("second legacy lookup = %+v, %v", got, err)
		}
		if _, err := us.UserByUsername(e.ctx, "rnallory"); !errors.Is(err, auth.ErrUserNotFound) {
			t.Fatalf("look-alike lookup = %v, want ErrUserNotFound", err)
		}
	})
}

// roundTrips counts the commands and pipelines a client sends, less those that set up a new
// connection.
type roundTrips struct{ n atomic.Int64 }

func (h *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		switch cmd.Name() {
		case "hello", "client", "auth", "select":
		default:
			h.n.Add(1)
		}
		return next(ctx, cmd)
	}
}
func (h *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.n.Add(1); return next(ctx, cmds) }
}

// TestUsersLookupRoundTrips: a known name, an unknown name and a look-alike of a known name
// cost the same Redis round trips, so a lookup's latency does not tell which it was.
func TestUsersLookupRoundTrips(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start()
		rdb, err := session.NewClient(session.ClientConfig{URL: e.redis.URL()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rdb.Close() })
		hook := &roundTrips{}
		rdb.AddHook(hook)
		st, err := session.New(rdb, session.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		us := st.Users()
		for _, name := range []string{"admin", "scope"} {
			if err := us.CreateUser(e.ctx, newTestUser(name)); err != nil {
				t.Fatal(err)
			}
		}
		cost := map[string]int64{}
		for _, name := range []string{"admin", "scope", "nobody", "ѕсоре", "ɑdmin", "adrnin"} {
			before := hook.n.Load()
			_, err := us.UserByUsername(e.ctx, name)
			if err != nil && !errors.Is(err, auth.ErrUserNotFound) {
				t.Fatal(err)
			}
			cost[name] = hook.n.Load() - before
		}
		for name, n := range cost {
			if n != cost["admin"] {
				t.Errorf("round trips = %v; %q differs from a known name", cost, name)
			}
		}
	})
}
