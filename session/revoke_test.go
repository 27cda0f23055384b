package session_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"boxoffice/auth"
	"boxoffice/session"
)

func TestRevokeOneAndList(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start()
		uid, other := auth.NewID(), auth.NewID()
		a := e.login(t, uid)
		e.clock.Advance(time.Second)
		b := e.login(t, uid)
		e.clock.Advance(time.Second)
		c := e.login(t, uid)
		x := e.login(t, other)

		list, err := e.store.List(e.ctx, uid, a.ID)
		if err != nil || len(list) != 3 || list[0].ID != c.ID || list[2].ID != a.ID {
			t.Fatalf("list = %v, %v (want newest first)", ids(list), err)
		}
		// Another user's session id is not found from this user's keyspace and is untouched.
		if err := e.store.Revoke(e.ctx, uid, a.ID, x.ID, session.ReasonRevoked); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("revoke other user's session: %v, want ErrNotFound", err)
		}
		if _, err := e.store.Get(e.ctx, other, x.ID); err != nil {
			t.Fatalf("other user's session harmed: %v", err)
		}
		if err := e.store.Revoke(e.ctx, uid, a.ID, b.ID, session.ReasonRevoked); err != nil {
			t.Fatal(err)
		}
		if err := e.store.Revoke(e.ctx, uid, a.ID, b.ID, session.ReasonRevoked); err != nil {
			t.Fatalf("revoking twice must succeed: %v", err)
		}
		if _, err := e.store.Get(e.ctx, uid, b.ID); !errors.Is(err, session.ErrRevoked) {
			t.Fatalf("revoked session: %v", err)
		}
		list, _ = e.store.List(e.ctx, uid, a.ID)
		if len(list) != 2 {
			t.Fatalf("list after revoke = %v", ids(list))
		}
		// A revoked caller cannot act.
		if err := e.store.Revoke(e.ctx, uid, b.ID, c.ID, session.ReasonRevoked); !errors.Is(err, session.ErrRevoked) {
			t.Fatalf("revoked caller: %v", err)
		}
		if _, err := e.store.List(e.ctx, uid, b.ID); !errors.Is(err, session.ErrRevoked) {
			t.Fatalf("revoked caller list: %v", err)
		}
		// Administrators revoke without a caller session of that user.
		if err := e.store.Revoke(e.ctx, uid, "", c.ID, session.ReasonAdmin); err != nil {
			t.Fatal(err)
		}
		if r, _ := e.rdb.Get(e.ctx, e.revokedKey(uid, c.ID)).Result(); r != session.ReasonAdmin {
			t.Fatalf("admin marker = %q", r)
		}
		if err := e.store.Revoke(e.ctx, uid, a.ID, auth.NewID(), session.ReasonRevoked); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("unknown id: %v", err)
		}
	})
}

func TestRevokeAll(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start()
		uid, other := auth.NewID(), auth.NewID()
		var all []session.Session
		for i := 0; i < 130; i++ { // more than one batch
			all = append(all, e.login(t, uid))
		}
		x := e.login(t, other)
		n, err := e.store.RevokeAll(e.ctx, uid, all[0].ID, session.ReasonLogoutAll)
		if err != nil || n != 130 {
			t.Fatalf("revoked %d, %v", n, err)
		}
		for _, s := range all {
			if e.exists(t, e.sessionKey(uid, s.ID)) || !e.exists(t, e.revokedKey(uid, s.ID)) {
				t.Fatalf("session %s not revoked", s.ID)
			}
		}
		if e.exists(t, e.indexKey(uid)) {
			t.Fatal("index not emptied")
		}
		if _, err := e.store.Get(e.ctx, other, x.ID); err != nil {
			t.Fatalf("other user's session harmed: %v", err)
		}
		if _, err := e.store.RevokeAll(e.ctx, uid, all[0].ID, session.ReasonLogoutAll); !errors.Is(err, session.ErrRevoked) {
			t.Fatalf("second logout-all by a revoked session: %v", err)
		}
	})
}

func TestListPrunesExpired(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start(func(c *session.Config) { c.IdleTTL = time.Hour; c.TouchInterval = 0 })
		uid := auth.NewID()
		old := e.login(t, uid)
		e.clock.Advance(50 * time.Minute)
		cur := e.login(t, uid)
		e.clock.Advance(20 * time.Minute) // old is idle-expired, cur is not
		list, err := e.store.List(e.ctx, uid, cur.ID)
		if err != nil || len(list) != 1 || list[0].ID != cur.ID {
			t.Fatalf("list = %v, %v", ids(list), err)
		}
		if e.inIndex(t, uid, old.ID) {
			t.Fatal("index kept an expired session")
		}
	})
}

func ids(l []session.Session) []string {
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = s.ID
	}
	return out
}

func TestReissueMovesSessionAndRevokesOthers(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start()
		uid := auth.NewID()
		cur := e.login(t, uid)
		other := e.login(t, uid)
		if _, err := e.store.PatchData(e.ctx, uid, cur.ID, map[string]json.RawMessage{"cart": json.RawMessage(`[1]`)}, nil); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Hour)
		nsid := auth.NewID()
		r := session.Reissue{UserID: uid, OldSessionID: cur.ID, NewSessionID: nsid, RefreshHash: "n0",
			AccessExpiresAt: e.clock.Now().Add(5 * time.Minute), Reason: session.ReasonPassword}
		ns, err := e.store.Reissue(e.ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if ns.ID != nsid || string(ns.Data["cart"]) != "[1]" || ns.Version != 1 || !ns.AbsoluteExpiresAt.Equal(cur.AbsoluteExpiresAt) ||
			!ns.CreatedAt.Equal(cur.CreatedAt) || !ns.LastSeenAt.Equal(e.clock.Now()) {
			t.Fatalf("reissued session = %+v (was %+v)", ns, cur)
		}
		if _, err := e.store.Reissue(e.ctx, r); err != nil {
			t.Fatalf("a retried reissue must succeed: %v", err)
		}
		if _, err := e.store.Get(e.ctx, uid, cur.ID); !errors.Is(err, session.ErrRevoked) {
			t.Fatalf("old id: %v, want ErrRevoked", err)
		}
		if reason, _ := e.rdb.Get(e.ctx, e.revokedKey(uid, cur.ID)).Result(); reason != session.ReasonPassword {
			t.Fatalf("old id's marker = %q", reason)
		}
		if n, err := e.store.RevokeAll(e.ctx, uid, nsid, session.ReasonPassword, nsid); err != nil || n != 1 {
			t.Fatalf("revoke others = %d, %v", n, err)
		}
		if _, err := e.store.Get(e.ctx, uid, other.ID); !errors.Is(err, session.ErrRevoked) {
			t.Fatalf("other session: %v", err)
		}
		if _, err := e.store.Get(e.ctx, uid, nsid); err != nil {
			t.Fatalf("new session: %v", err)
		}
		// Reissuing a revoked session creates nothing.
		if _, err := e.store.Reissue(e.ctx, session.Reissue{UserID: uid, OldSessionID: other.ID, NewSessionID: auth.NewID(), RefreshHash: "x"}); !errors.Is(err, session.ErrRevoked) {
			t.Fatalf("reissue of a revoked session: %v", err)
		}
	})
}
