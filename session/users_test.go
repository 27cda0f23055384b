package session_test

import (
	"errors"
	"sync"
	"testing"
	"time"

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
				ok, _, err := th.Reserve(e.ctx, "login-account", "alice", 10, time.Minute)
				if err != nil {
					t.Error(err)
				}
				if ok {
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
		ok, retry, err := th.Reserve(e.ctx, "login-account", "alice", 10, time.Minute)
		if ok || err != nil || retry <= 0 || retry > time.Minute {
			t.Fatalf("blocked reserve = %v %v %v", ok, retry, err)
		}
		if err := th.Release(e.ctx, "login-account", "alice", true); err != nil {
			t.Fatal(err)
		}
		if ok, _, _ := th.Reserve(e.ctx, "login-account", "alice", 10, time.Minute); !ok {
			t.Fatal("reset did not clear the window")
		}
		// Release of one attempt.
		for i := 0; i < 2; i++ {
			th.Reserve(e.ctx, "login-ip", "192.0.2.9", 2, time.Minute)
		}
		if ok, _, _ := th.Reserve(e.ctx, "login-ip", "192.0.2.9", 2, time.Minute); ok {
			t.Fatal("third attempt allowed")
		}
		th.Release(e.ctx, "login-ip", "192.0.2.9", false)
		if ok, _, _ := th.Reserve(e.ctx, "login-ip", "192.0.2.9", 2, time.Minute); !ok {
			t.Fatal("released attempt not usable")
		}
		for _, k := range e.allKeys(t) {
			if !hasPrefixAll([]string{k}, "bx:throttle:") || len(k) != len("bx:throttle:login-ip:")+64 && len(k) != len("bx:throttle:login-account:")+64 {
				t.Fatalf("throttle key %q: subjects must be hashed", k)
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
		if _, _, err := e.store.Throttle().Reserve(e.ctx, "k", "s", 1, time.Minute); !errors.Is(err, session.ErrUnavailable) {
			t.Fatalf("throttle fails closed: %v", err)
		}
		if _, err := e.store.Users().UserByUsername(e.ctx, "x"); !errors.Is(err, session.ErrUnavailable) {
			t.Fatalf("users: %v", err)
		}
	})
}
