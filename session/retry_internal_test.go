package session

import (
	"context"
	"errors"
	"testing"
	"time"

	"boxoffice/auth"
	"boxoffice/session/sessiontest"
)

// TestScriptsSurviveRunningTwice replays state-changing scripts with identical arguments, as
// go-redis does when a reply times out after Redis executed the command: the second run must
// report the same outcome and change nothing more.
func TestScriptsSurviveRunningTwice(t *testing.T) {
	for _, r := range []*sessiontest.Redis{sessiontest.StartMini(t), sessiontest.Start(t)} {
		rdb, err := NewClient(ClientConfig{URL: r.URL()})
		if err != nil {
			t.Fatal(err)
		}
		defer rdb.Close()
		s, err := New(rdb, DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		uid, sid := auth.NewID(), auth.NewID()
		n := NewSession{ID: sid, UserID: uid, RefreshHash: "h0", AccessExpiresAt: time.Now().Add(time.Minute)}
		for i := 0; i < 2; i++ {
			if _, err := s.Create(ctx, n); err != nil {
				t.Fatalf("%s: create run %d: %v", r.Kind, i, err)
			}
		}
		keys := []string{s.keys.session(uid, sid), s.keys.revoked(uid, sid), s.keys.index(uid)}
		args := []any{s.nowMS(), s.cfg.IdleTTL.Milliseconds(), s.cfg.TouchInterval.Milliseconds(), sid,
			"0", 64, 16384, "req-1", s.keys.tag(uid), 1 << 20, "s", "seat", `"A1"`, ""}
		for i := 0; i < 2; i++ {
			rep, err := s.run(ctx, "patch", s.sc.patch, keys, args...)
			if err != nil || rep.status != "ok" {
				t.Fatalf("%s: If-Match patch run %d: %v %v", r.Kind, i, rep.status, err)
			}
			sess, _ := rep.sessionAt(0, uid, sid)
			if sess.Version != 1 {
				t.Fatalf("%s: run %d left version %d, want 1", r.Kind, i, sess.Version)
			}
		}
		// A retry after another patch landed in between is still recognised and not re-applied.
		other := []any{s.nowMS(), s.cfg.IdleTTL.Milliseconds(), s.cfg.TouchInterval.Milliseconds(), sid,
			"", 64, 16384, "req-2", s.keys.tag(uid), 1 << 20, "s", "seat", `"B7"`, ""}
		if rep, err := s.run(ctx, "patch", s.sc.patch, keys, other...); err != nil || rep.status != "ok" {
			t.Fatalf("%s: second patch: %v %v", r.Kind, rep.status, err)
		}
		rep, err := s.run(ctx, "patch", s.sc.patch, keys, args...)
		if err != nil || rep.status != "ok" {
			t.Fatalf("%s: late retry: %v %v", r.Kind, rep.status, err)
		}
		if sess, _ := rep.sessionAt(0, uid, sid); string(sess.Data["seat"]) != `"B7"` || sess.Version != 2 {
			t.Fatalf("%s: late retry re-applied: seat=%s v=%d", r.Kind, sess.Data["seat"], sess.Version)
		}
		for i := 0; i < 2; i++ {
			if err := s.Revoke(ctx, uid, sid, sid, ReasonLogout); err != nil {
				t.Fatalf("%s: revoke: %v", r.Kind, err)
			}
		}
		if n, _ := rdb.Exists(ctx, s.keys.session(uid, sid)).Result(); n != 0 {
			t.Fatalf("%s: session survived", r.Kind)
		}
		// A create retried after the session was revoked (logout-all in between) must not
		// bring it back.
		if _, err := s.Create(ctx, n); !errors.Is(err, ErrRevoked) {
			t.Fatalf("%s: create after revocation: %v, want ErrRevoked", r.Kind, err)
		}
		if n, _ := rdb.Exists(ctx, s.keys.session(uid, sid)).Result(); n != 0 {
			t.Fatalf("%s: a retried create resurrected a revoked session", r.Kind)
		}
	}
}
