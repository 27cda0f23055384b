package session_test

import (
	"errors"
	"reflect"
	"strconv"
	"testing"
	"time"

	"boxoffice/auth"
	"boxoffice/session"
)

func TestCreateGetAndKeySchema(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start()
		uid := auth.NewID()
		s := e.login(t, uid)
		now := e.clock.Now()
		if s.UserID != uid || s.DeviceName != "phone" || s.IP != "192.0.2.1" || s.Version != 0 || len(s.Data) != 0 {
			t.Fatalf("created session = %+v", s)
		}
		if !s.CreatedAt.Equal(now) || !s.IdleExpiresAt.Equal(now.Add(7*24*time.Hour)) || !s.AbsoluteExpiresAt.Equal(now.Add(30*24*time.Hour)) {
			t.Fatalf("deadlines = created %v idle %v abs %v (now %v)", s.CreatedAt, s.IdleExpiresAt, s.AbsoluteExpiresAt, now)
		}
		got, err := e.store.Get(e.ctx, uid, s.ID)
		if err != nil || got.ID != s.ID || got.UserID != uid {
			t.Fatalf("get = %+v, %v", got, err)
		}
		ttl, _ := e.rdb.PTTL(e.ctx, e.sessionKey(uid, s.ID)).Result()
		if ttl <= 0 || ttl > 7*24*time.Hour {
			t.Fatalf("session key TTL = %v, want (0, 7d]", ttl)
		}
		if !e.inIndex(t, uid, s.ID) {
			t.Fatal("session missing from the user's index")
		}
		if keys := e.allKeys(t); !hasPrefixAll(keys, "bx:{u:"+uid+"}:") || len(keys) != 2 {
			t.Fatalf("keys = %v, want the session and index under the user's hash tag", keys)
		}
	})
}

func TestGetUnknownIsExpiredAndCreatesNothing(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start()
		uid, sid := auth.NewID(), auth.NewID()
		if _, err := e.store.Get(e.ctx, uid, sid); !errors.Is(err, session.ErrExpired) {
			t.Fatalf("err = %v, want ErrExpired", err)
		}
		if keys := e.allKeys(t); len(keys) != 0 {
			t.Fatalf("a read of a missing session wrote keys %v", keys)
		}
	})
}

func TestIdleExpiryAndTouchThrottle(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start(func(c *session.Config) {
			c.IdleTTL = time.Hour
			c.AbsoluteTTL = 3 * time.Hour
			c.TouchInterval = time.Minute
		})
		uid := auth.NewID()
		s := e.login(t, uid)

		e.clock.Advance(30 * time.Second) // within the throttle: no write
		got, err := e.store.Get(e.ctx, uid, s.ID)
		if err != nil || !got.LastSeenAt.Equal(s.LastSeenAt) || !got.IdleExpiresAt.Equal(s.IdleExpiresAt) {
			t.Fatalf("touch inside the throttle wrote: %+v, %v", got, err)
		}
		e.clock.Advance(30 * time.Minute) // past the throttle: slides
		got, err = e.store.Get(e.ctx, uid, s.ID)
		if err != nil || !got.LastSeenAt.Equal(e.clock.Now()) || !got.IdleExpiresAt.Equal(e.clock.Now().Add(time.Hour)) {
			t.Fatalf("touch did not slide: %+v, %v", got, err)
		}
		e.store.Wait() // the slide is written in the background
		if ie, _ := e.rdb.HGet(e.ctx, e.sessionKey(uid, s.ID), "ie").Int64(); ie != got.IdleExpiresAt.UnixMilli() {
			t.Fatalf("stored idle deadline %d, want %d", ie, got.IdleExpiresAt.UnixMilli())
		}
		if score, _ := e.rdb.ZScore(e.ctx, e.indexKey(uid), s.ID).Result(); int64(score) != got.IdleExpiresAt.UnixMilli() {
			t.Fatalf("index score %v, want idle deadline %v", int64(score), got.IdleExpiresAt.UnixMilli())
		}
		// Keep it alive up to the absolute cap: the idle deadline never passes it.
		for i := 0; i < 6; i++ {
			e.clock.Advance(30 * time.Minute)
			got, err = e.store.Get(e.ctx, uid, s.ID)
			e.store.Wait()
			if errors.Is(err, session.ErrExpired) {
				break
			}
			if err != nil || got.IdleExpiresAt.After(got.AbsoluteExpiresAt) || !got.AbsoluteExpiresAt.Equal(s.AbsoluteExpiresAt) {
				t.Fatalf("deadline moved past the cap: %+v, %v", got, err)
			}
		}
		if !errors.Is(err, session.ErrExpired) {
			t.Fatalf("session alive past its absolute deadline: %+v", got)
		}
		// Reads never write an expired session back; the next write prunes the index.
		if e.exists(t, e.sessionKey(uid, s.ID)) && e.inIndex(t, uid, s.ID) {
			if _, _, err := e.store.List(e.ctx, uid, e.login(t, uid).ID, session.Page{}); err != nil {
				t.Fatal(err)
			}
			if e.inIndex(t, uid, s.ID) {
				t.Fatal("index kept an expired session after a write")
			}
		}

		s2 := e.login(t, uid)
		e.clock.Advance(time.Hour) // exactly the idle timeout, no activity
		if _, err := e.store.Get(e.ctx, uid, s2.ID); !errors.Is(err, session.ErrExpired) {
			t.Fatalf("idle session: err = %v, want ErrExpired", err)
		}
	})
}

func TestRotateGraceReuseAndAbsoluteCap(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start(func(c *session.Config) {
			c.IdleTTL = time.Hour
			c.AbsoluteTTL = 2 * time.Hour
			c.RefreshGrace = 10 * time.Second
		})
		uid := auth.NewID()
		s := e.login(t, uid)
		rot := func(presented, successor, req string) (session.Rotated, error) {
			return e.store.Rotate(e.ctx, session.Rotation{UserID: uid, SessionID: s.ID,
				PresentedHash: presented, SuccessorHash: successor, RequestID: req,
				AccessExpiresAt: e.clock.Now().Add(5 * time.Minute)})
		}
		e.clock.Advance(10 * time.Minute)
		got, err := rot("h0", "h1", "r1")
		if err != nil || got.Steps != 0 || got.CurrentHash != "h1" || !got.Session.IdleExpiresAt.Equal(e.clock.Now().Add(time.Hour)) {
			t.Fatalf("rotate = %+v err=%v", got, err)
		}
		// The same script again (a go-redis retry) succeeds without rotating further.
		if r, err := rot("h0", "h1", "r1"); err != nil || r.Steps != 1 || r.CurrentHash != "h1" {
			t.Fatalf("retried rotation: %+v %v", r, err)
		}
		e.clock.Advance(5 * time.Second) // a client retry inside the grace window
		if r, err := rot("h0", "h1", "r2"); err != nil || r.Steps != 1 {
			t.Fatalf("grace retry: %+v err=%v", r, err)
		}
		if rh, _ := e.rdb.HGet(e.ctx, e.sessionKey(uid, s.ID), "rh").Result(); rh != "h1" {
			t.Fatalf("current hash = %q after grace retry, want h1", rh)
		}
		// Rotation continues from the successor.
		if _, err := rot("h1", "h2", "r3"); err != nil {
			t.Fatalf("rotate successor: %v", err)
		}
		e.clock.Advance(6 * time.Second) // h0 was rotated away 11 s ago, h1 6 s ago
		if r, err := rot("h1", "h2", "r4"); err != nil || r.Steps != 1 || r.CurrentHash != "h2" {
			t.Fatalf("h1 inside its own grace window: %+v %v", r, err)
		}
		// h0 is past its grace window: reuse revokes the session.
		if _, err := rot("h0", "h1", "r5"); !errors.Is(err, session.ErrRefreshReused) {
			t.Fatalf("reuse: err = %v, want ErrRefreshReused", err)
		}
		if e.exists(t, e.sessionKey(uid, s.ID)) || e.inIndex(t, uid, s.ID) {
			t.Fatal("reused session still stored")
		}
		if reason, _ := e.rdb.Get(e.ctx, e.revokedKey(uid, s.ID)).Result(); reason != session.ReasonReused {
			t.Fatalf("revocation marker = %q", reason)
		}
		if _, err := rot("h2", "h3", "r6"); !errors.Is(err, session.ErrRevoked) {
			t.Fatalf("rotate after revocation: %v, want ErrRevoked", err)
		}
		if e.exists(t, e.sessionKey(uid, s.ID)) {
			t.Fatal("rotation recreated a revoked session")
		}

		// Absolute cap across refreshes.
		s = e.login(t, uid)
		prev := "h0"
		for i := 1; ; i++ {
			e.clock.Advance(25 * time.Minute)
			next := "n" + string(rune('a'+i))
			got, err := rot(prev, next, next)
			if err != nil {
				if !errors.Is(err, session.ErrExpired) {
					t.Fatalf("refresh %d: %v", i, err)
				}
				if !e.clock.Now().After(s.AbsoluteExpiresAt.Add(-25 * time.Minute)) {
					t.Fatalf("expired too early at refresh %d", i)
				}
				break
			}
			if !got.Session.AbsoluteExpiresAt.Equal(s.AbsoluteExpiresAt) || got.Session.IdleExpiresAt.After(s.AbsoluteExpiresAt) {
				t.Fatalf("refresh %d moved the cap: %+v", i, got)
			}
			prev = next
			if i > 10 {
				t.Fatal("session outlived its absolute deadline")
			}
		}
	})
}

// TestRotateGraceCoversEveryRecentRotation: T0 → T1 → T2 → T3 within a second, then T0, T1 and
// T2 again (requests another tab had in flight): none revokes the session; each is told how
// many rotations ago it was current, so the caller hands out the current token. Once their
// own windows pass, they are reuse.
func TestRotateGraceCoversEveryRecentRotation(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start(func(c *session.Config) { c.RefreshGrace = 10 * time.Second })
		e.clock.Advance(time.Hour) // far ahead of Redis' clock: rotations are timed by ours
		uid := auth.NewID()
		s := e.login(t, uid)
		rot := func(presented, successor, req string) (session.Rotated, error) {
			return e.store.Rotate(e.ctx, session.Rotation{UserID: uid, SessionID: s.ID,
				PresentedHash: presented, SuccessorHash: successor, RequestID: req,
				AccessExpiresAt: e.clock.Now().Add(5 * time.Minute)})
		}
		chain := []string{"h0", "h1", "h2", "h3"}
		for i := 0; i < 3; i++ {
			e.clock.Advance(300 * time.Millisecond)
			if _, err := rot(chain[i], chain[i+1], "a"+chain[i]); err != nil {
				t.Fatalf("rotation %d: %v", i, err)
			}
		}
		for i := 0; i < 3; i++ {
			r, err := rot(chain[i], chain[i+1], "b"+chain[i])
			if err != nil || r.Steps != 3-i || r.CurrentHash != "h3" {
				t.Fatalf("%s presented again: %+v %v (want steps %d, current h3)", chain[i], r, err, 3-i)
			}
		}
		if rh, _ := e.rdb.HGet(e.ctx, e.sessionKey(uid, s.ID), "rh").Result(); rh != "h3" {
			t.Fatalf("current = %q, want h3: a grace answer rotated", rh)
		}
		e.clock.Advance(10*time.Second - 300*time.Millisecond) // h0's window is over, h2's is not
		if r, err := rot("h2", "h3", "c"); err != nil || r.Steps != 1 {
			t.Fatalf("h2 inside its window: %+v %v", r, err)
		}
		if _, err := rot("h0", "h1", "c0"); !errors.Is(err, session.ErrRefreshReused) {
			t.Fatalf("h0 after its window: %v, want ErrRefreshReused", err)
		}
	})
}

// TestRotateGraceStartsWhenApplied: a rotation that waited behind a stalled Redis (its
// caller's clock reads 12 s before Redis runs it) opens its grace window when it is applied,
// so the client's retry after the stall is a retry, not theft.
func TestRotateGraceStartsWhenApplied(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start(func(c *session.Config) { c.RefreshGrace = 10 * time.Second })
		uid := auth.NewID()
		e.clock.Advance(-12 * time.Second) // the request was made 12 s before Redis ran it
		s := e.login(t, uid)
		rot := func(req string) (session.Rotated, error) {
			return e.store.Rotate(e.ctx, session.Rotation{UserID: uid, SessionID: s.ID,
				PresentedHash: "h0", SuccessorHash: "h1", RequestID: req,
				AccessExpiresAt: e.clock.Now().Add(5 * time.Minute)})
		}
		if _, err := rot("stalled"); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(13 * time.Second) // the client's retry, a second after Redis resumed
		if r, err := rot("retry"); err != nil || r.Steps != 1 || r.CurrentHash != "h1" {
			t.Fatalf("retry after the stall: %+v %v, want the same successor", r, err)
		}
	})
}

// TestRotationsPerGraceWindowAreBounded: the history of rotations is bounded; a rotation that
// would forget one still inside its window is refused (and changes nothing) instead.
func TestRotationsPerGraceWindowAreBounded(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start(func(c *session.Config) { c.RefreshGrace = 10 * time.Second })
		e.clock.Advance(time.Hour) // far ahead of Redis' clock: rotations are timed by ours
		uid := auth.NewID()
		s := e.login(t, uid)
		h := func(i int) string { return "h" + strconv.Itoa(i) }
		rot := func(i int) (session.Rotated, error) {
			return e.store.Rotate(e.ctx, session.Rotation{UserID: uid, SessionID: s.ID,
				PresentedHash: h(i), SuccessorHash: h(i + 1), RequestID: "r" + h(i),
				AccessExpiresAt: e.clock.Now().Add(5 * time.Minute)})
		}
		for i := 0; i < session.MaxRotations; i++ {
			e.clock.Advance(10 * time.Millisecond)
			if _, err := rot(i); err != nil {
				t.Fatalf("rotation %d: %v", i, err)
			}
		}
		before, _ := e.rdb.HGetAll(e.ctx, e.sessionKey(uid, s.ID)).Result()
		var busy *session.RotationBusyError
		if _, err := rot(session.MaxRotations); !errors.As(err, &busy) || busy.RetryAfter <= 0 || busy.RetryAfter > 10*time.Second {
			t.Fatalf("rotation past the bound: %v", err)
		}
		if after, _ := e.rdb.HGetAll(e.ctx, e.sessionKey(uid, s.ID)).Result(); !reflect.DeepEqual(before, after) {
			t.Fatal("a refused rotation changed the session")
		}
		if r, err := rot(0); err != nil || r.Steps != session.MaxRotations {
			t.Fatalf("the oldest remembered token: %+v %v", r, err)
		}
		e.clock.Advance(time.Minute)
		if _, err := rot(session.MaxRotations); err != nil {
			t.Fatalf("rotation once the window moved on: %v", err)
		}
	})
}

func TestRotateGraceDisabled(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start(func(c *session.Config) { c.RefreshGrace = 0 })
		uid := auth.NewID()
		s := e.login(t, uid)
		r := session.Rotation{UserID: uid, SessionID: s.ID, PresentedHash: "h0", SuccessorHash: "h1",
			RequestID: "a", AccessExpiresAt: e.clock.Now().Add(time.Minute)}
		if _, err := e.store.Rotate(e.ctx, r); err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.Rotate(e.ctx, r); err != nil {
			t.Fatalf("a retried script must stay idempotent without grace: %v", err)
		}
		r.RequestID = "b"
		if _, err := e.store.Rotate(e.ctx, r); !errors.Is(err, session.ErrRefreshReused) {
			t.Fatalf("err = %v, want ErrRefreshReused", err)
		}
	})
}

func TestRevocationMarkerOutlivesAccessToken(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start(func(c *session.Config) { c.RevocationPad = 10 * time.Second })
		uid := auth.NewID()
		s := e.login(t, uid) // access token valid 5 minutes
		if err := e.store.Revoke(e.ctx, uid, s.ID, s.ID, session.ReasonLogout); err != nil {
			t.Fatal(err)
		}
		ttl, _ := e.rdb.PTTL(e.ctx, e.revokedKey(uid, s.ID)).Result()
		if ttl < 5*time.Minute || ttl > 5*time.Minute+10*time.Second {
			t.Fatalf("marker TTL = %v, want 5m..5m10s", ttl)
		}
		if _, err := e.store.Get(e.ctx, uid, s.ID); !errors.Is(err, session.ErrRevoked) {
			t.Fatalf("get after logout: %v, want ErrRevoked", err)
		}
		if err := e.store.Revoke(e.ctx, uid, s.ID, s.ID, session.ReasonLogout); err != nil {
			t.Fatalf("logout is idempotent: %v", err)
		}
		if reason, _ := e.rdb.Get(e.ctx, e.revokedKey(uid, s.ID)).Result(); reason != session.ReasonLogout {
			t.Fatalf("marker after repeated logout = %q", reason)
		}
		if e.exists(t, e.sessionKey(uid, s.ID)) || e.inIndex(t, uid, s.ID) {
			t.Fatal("revoked session still stored or indexed")
		}
	})
}

// TestSessionHashOmitsUserID: the session hash does not repeat the user id its key names (30
// bytes of every session), and a session written before, with it, reads the same.
func TestSessionHashOmitsUserID(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start()
		uid := auth.NewID()
		s := e.login(t, uid)
		if ok, err := e.rdb.HExists(e.ctx, e.sessionKey(uid, s.ID), "uid").Result(); err != nil || ok {
			t.Fatalf("the session hash holds uid: %v, %v", ok, err)
		}
		if err := e.rdb.HSet(e.ctx, e.sessionKey(uid, s.ID), "uid", uid).Err(); err != nil { // as before
			t.Fatal(err)
		}
		got, err := e.store.Get(e.ctx, uid, s.ID)
		if err != nil || got.UserID != uid || got.ID != s.ID {
			t.Fatalf("get = %+v, %v", got, err)
		}
		list, _, err := e.store.List(e.ctx, uid, s.ID, session.Page{})
		if err != nil || len(list) != 1 || list[0].UserID != uid {
			t.Fatalf("list = %+v, %v", list, err)
		}
	})
}
