package session_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"boxoffice/auth"
	"boxoffice/session"
)

// newUser stores an account whose password hash is "hash-0".
func (e *env) newUser(t *testing.T) auth.User {
	t.Helper()
	u := auth.User{ID: auth.NewID(), Username: "u" + strings.ToLower(auth.NewID()[:12]), PasswordHash: "hash-0",
		CreatedAt: e.clock.Now()}
	if err := e.store.Users().CreateUser(e.ctx, u); err != nil {
		t.Fatal(err)
	}
	return u
}

func (e *env) userState(t *testing.T, uid string) map[string]string {
	t.Helper()
	m, err := e.rdb.HGetAll(e.ctx, "bx:{u:"+uid+"}:user").Result()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestChangePasswordIsAtomic: the new hash, the caller's move to a new id and the revocation of
// every other session happen together; a retried script changes nothing more; a refused change
// changes nothing at all.
func TestChangePasswordIsAtomic(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start()
		u := e.newUser(t)
		cur, a, b := e.login(t, u.ID), e.login(t, u.ID), e.login(t, u.ID)
		if _, err := e.store.PatchData(e.ctx, u.ID, cur.ID, map[string]json.RawMessage{"cart": json.RawMessage(`[1]`)}, nil); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Hour)
		change := session.PasswordChange{UserID: u.ID, SessionID: cur.ID, OldHash: "hash-0", NewHash: "hash-1",
			NewSessionID: auth.NewID(), RefreshHash: "n0", AccessExpiresAt: e.clock.Now().Add(5 * time.Minute)}

		// Refused: the stored hash is not the one verified.
		wrong := change
		wrong.OldHash = "hash-x"
		before := e.allState(t, u.ID)
		if _, _, err := e.store.ChangePassword(e.ctx, wrong); !errors.Is(err, session.ErrCredentialChanged) {
			t.Fatalf("stale expected hash: %v, want ErrCredentialChanged", err)
		}
		if after := e.allState(t, u.ID); !reflect.DeepEqual(before, after) {
			t.Fatalf("a refused change changed state:\n%v\n%v", before, after)
		}

		ns, n, err := e.store.ChangePassword(e.ctx, change)
		if err != nil || n != 3 {
			t.Fatalf("change: revoked %d, %v", n, err)
		}
		if ns.ID != change.NewSessionID || string(ns.Data["cart"]) != "[1]" || !ns.AbsoluteExpiresAt.Equal(cur.AbsoluteExpiresAt) ||
			!ns.CreatedAt.Equal(cur.CreatedAt) || !ns.LastSeenAt.Equal(e.clock.Now()) {
			t.Fatalf("moved session = %+v (was %+v)", ns, cur)
		}
		if us := e.userState(t, u.ID); us["pw"] != "hash-1" || us["ce"] != "1" {
			t.Fatalf("user after change: pw=%q ce=%q", us["pw"], us["ce"])
		}
		for _, s := range []session.Session{cur, a, b} {
			if _, err := e.store.Get(e.ctx, u.ID, s.ID); !errors.Is(err, session.ErrRevoked) {
				t.Fatalf("session %s after the change: %v, want ErrRevoked", s.ID, err)
			}
		}
		if r, _ := e.rdb.Get(e.ctx, e.revokedKey(u.ID, a.ID)).Result(); r != session.ReasonPassword {
			t.Fatalf("other session's marker = %q", r)
		}
		// Running the script again (a go-redis retry) answers the same and changes nothing.
		state := e.allState(t, u.ID)
		if again, _, err := e.store.ChangePassword(e.ctx, change); err != nil || again.ID != ns.ID {
			t.Fatalf("retried script: %+v %v", again, err)
		}
		if after := e.allState(t, u.ID); !reflect.DeepEqual(state, after) {
			t.Fatal("a retried script changed state")
		}
		// The old id says where it went, and the new session can be handed out again until used.
		if next, err := e.store.Resumable(e.ctx, u.ID, cur.ID); err != nil || next != ns.ID {
			t.Fatalf("Resumable(old) = %q, %v", next, err)
		}
		if next, err := e.store.Resumable(e.ctx, u.ID, a.ID); err != nil || next != "" {
			t.Fatalf("Resumable(other) = %q, %v", next, err)
		}
		if _, err := e.store.Resume(e.ctx, u.ID, ns.ID, "other-hash", e.clock.Now()); !errors.Is(err, session.ErrRevoked) {
			t.Fatalf("resume with another refresh hash: %v", err)
		}
		if got, err := e.store.Resume(e.ctx, u.ID, ns.ID, "n0", e.clock.Now().Add(5*time.Minute)); err != nil || got.ID != ns.ID {
			t.Fatalf("resume: %+v %v", got, err)
		}
		if _, err := e.store.Rotate(e.ctx, session.Rotation{UserID: u.ID, SessionID: ns.ID, PresentedHash: "n0",
			SuccessorHash: "n1", RequestID: "r", AccessExpiresAt: e.clock.Now()}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.Resume(e.ctx, u.ID, ns.ID, "n0", e.clock.Now()); !errors.Is(err, session.ErrRevoked) {
			t.Fatalf("resume after the session was used: %v, want ErrRevoked", err)
		}

		// A caller whose session was revoked meanwhile changes nothing: not the password either.
		other := e.login(t, u.ID)
		if err := e.store.Revoke(e.ctx, u.ID, other.ID, other.ID, session.ReasonLogout); err != nil {
			t.Fatal(err)
		}
		survivor := e.login(t, u.ID)
		revoked := session.PasswordChange{UserID: u.ID, SessionID: other.ID, OldHash: "hash-1", NewHash: "hash-2",
			NewSessionID: auth.NewID(), RefreshHash: "m0", AccessExpiresAt: e.clock.Now()}
		before = e.allState(t, u.ID)
		if _, _, err := e.store.ChangePassword(e.ctx, revoked); !errors.Is(err, session.ErrRevoked) {
			t.Fatalf("change by a revoked session: %v", err)
		}
		if after := e.allState(t, u.ID); !reflect.DeepEqual(before, after) {
			t.Fatal("a change by a revoked session changed state")
		}
		if _, err := e.store.Get(e.ctx, u.ID, survivor.ID); err != nil {
			t.Fatal(err)
		}
	})
}

// TestCreateRefusesStaleCredential: a login that verified the password under an older credential
// epoch creates nothing.
func TestCreateRefusesStaleCredential(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start()
		u := e.newUser(t)
		cur := e.login(t, u.ID)
		if _, _, err := e.store.ChangePassword(e.ctx, session.PasswordChange{UserID: u.ID, SessionID: cur.ID,
			OldHash: "hash-0", NewHash: "hash-1", NewSessionID: auth.NewID(), RefreshHash: "n0"}); err != nil {
			t.Fatal(err)
		}
		sid := auth.NewID()
		_, err := e.store.Create(e.ctx, session.NewSession{ID: sid, UserID: u.ID, RefreshHash: "h0",
			AccessExpiresAt: e.clock.Now().Add(time.Minute), CredentialEpoch: 0})
		if !errors.Is(err, session.ErrStaleCredential) {
			t.Fatalf("create under the old epoch: %v, want ErrStaleCredential", err)
		}
		if e.exists(t, e.sessionKey(u.ID, sid)) || e.inIndex(t, u.ID, sid) {
			t.Fatal("a stale login left a session")
		}
		if got, err := e.store.Users().UserByID(e.ctx, u.ID); err != nil || got.CredentialEpoch != 1 {
			t.Fatalf("user epoch = %d, %v", got.CredentialEpoch, err)
		}
		if _, err := e.store.Create(e.ctx, session.NewSession{ID: sid, UserID: u.ID, RefreshHash: "h0",
			AccessExpiresAt: e.clock.Now().Add(time.Minute), CredentialEpoch: 1}); err != nil {
			t.Fatalf("create under the current epoch: %v", err)
		}
	})
}

// TestSessionCap: a user has at most MaxSessions live sessions; a new one revokes the least
// recently used.
func TestSessionCap(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start(func(c *session.Config) { c.MaxSessions = 3; c.TouchInterval = time.Minute })
		uid := auth.NewID()
		var s [5]session.Session
		for i := 0; i < 3; i++ {
			s[i] = e.login(t, uid)
			e.clock.Advance(2 * time.Minute)
		}
		if _, err := e.store.Get(e.ctx, uid, s[0].ID); err != nil { // s[0] is used again: s[1] is now the LRU
			t.Fatal(err)
		}
		e.store.Wait() // the read's background touch
		s[3] = e.login(t, uid)
		if _, err := e.store.Get(e.ctx, uid, s[1].ID); !errors.Is(err, session.ErrRevoked) {
			t.Fatalf("least recently used session: %v, want ErrRevoked", err)
		}
		if r, _ := e.rdb.Get(e.ctx, e.revokedKey(uid, s[1].ID)).Result(); r != session.ReasonLimit {
			t.Fatalf("marker = %q, want %q", r, session.ReasonLimit)
		}
		for _, i := range []int{0, 2, 3} {
			if _, err := e.store.Get(e.ctx, uid, s[i].ID); err != nil {
				t.Fatalf("session %d: %v", i, err)
			}
		}
		if n, _ := e.rdb.ZCard(e.ctx, e.indexKey(uid)).Result(); n != 3 {
			t.Fatalf("index holds %d sessions, want 3", n)
		}
		// Lowering the cap (or an index from before it) is caught up at the next login.
		e.store = e.newStore(t, func(c *session.Config) { c.MaxSessions = 1 })
		s[4] = e.login(t, uid)
		if n, _ := e.rdb.ZCard(e.ctx, e.indexKey(uid)).Result(); n != 1 {
			t.Fatalf("index holds %d sessions after lowering the cap, want 1", n)
		}
	})
}

// TestUserDataBound: the data of all of a user's sessions together is bounded; a patch that
// would grow it past the bound is refused and changes nothing, one that shrinks it applies.
func TestUserDataBound(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start(func(c *session.Config) { c.MaxDataBytes = 1000; c.MaxUserDataBytes = 2500 })
		uid := auth.NewID()
		big := json.RawMessage(`"` + strings.Repeat("x", 900) + `"`)
		var ss []session.Session
		for i := 0; i < 3; i++ {
			ss = append(ss, e.login(t, uid))
		}
		for _, s := range ss[:2] {
			if _, err := e.store.PatchData(e.ctx, uid, s.ID, map[string]json.RawMessage{"k": big}, nil); err != nil {
				t.Fatal(err)
			}
		}
		var dle *session.DataLimitError
		_, err := e.store.PatchData(e.ctx, uid, ss[2].ID, map[string]json.RawMessage{"k": big}, nil)
		if !errors.As(err, &dle) || dle.UserBytes != 3*(1+len(big)) || dle.MaxUserBytes != 2500 {
			t.Fatalf("third session's data: %v (%+v)", err, dle)
		}
		if got, _ := e.store.Get(e.ctx, uid, ss[2].ID); len(got.Data) != 0 {
			t.Fatal("a refused patch stored data")
		}
		if _, err := e.store.PatchData(e.ctx, uid, ss[2].ID, map[string]json.RawMessage{"k": json.RawMessage(`1`)}, nil); err != nil {
			t.Fatalf("a small patch: %v", err)
		}
		if _, err := e.store.PatchData(e.ctx, uid, ss[0].ID, map[string]json.RawMessage{"k": json.RawMessage("null")}, nil); err != nil {
			t.Fatalf("shrinking: %v", err)
		}
		if _, err := e.store.PatchData(e.ctx, uid, ss[2].ID, map[string]json.RawMessage{"k": big}, nil); err != nil {
			t.Fatalf("after another session shrank: %v", err)
		}
	})
}

// TestKnownNetwork: a session created from a network makes it known to that user only.
func TestKnownNetwork(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start()
		uid, other := auth.NewID(), auth.NewID()
		if _, err := e.store.Create(e.ctx, session.NewSession{ID: auth.NewID(), UserID: uid, RefreshHash: "h0",
			AccessExpiresAt: e.clock.Now().Add(time.Minute), Network: "198.51.100.7"}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			uid, network string
			want         bool
		}{{uid, "198.51.100.7", true}, {uid, "198.51.100.8", false}, {other, "198.51.100.7", false}} {
			if got, err := e.store.KnownNetwork(e.ctx, c.uid, c.network); err != nil || got != c.want {
				t.Fatalf("KnownNetwork(%s) = %v, %v; want %v", c.network, got, err, c.want)
			}
		}
		if keys, _ := e.rdb.Keys(e.ctx, "*198.51.100*").Result(); len(keys) != 0 {
			t.Fatalf("a network is stored in clear: %v", keys)
		}
	})
}

// allState returns every key of the user's hash tag with its content, to prove that a refused
// operation changed nothing.
func (e *env) allState(t *testing.T, uid string) map[string]string {
	t.Helper()
	keys, err := e.rdb.Keys(e.ctx, "bx:{u:"+uid+"}:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, k := range keys {
		var v any
		switch typ, _ := e.rdb.Type(e.ctx, k).Result(); typ {
		case "hash":
			v, err = e.rdb.HGetAll(e.ctx, k).Result()
		case "zset":
			v, err = e.rdb.ZRangeWithScores(e.ctx, k, 0, -1).Result()
		default:
			v, err = e.rdb.Get(e.ctx, k).Result()
		}
		if err != nil {
			t.Fatal(err)
		}
		out[k] = fmt.Sprint(v)
	}
	return out
}
