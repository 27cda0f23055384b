package session_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"boxoffice/audit"
	"boxoffice/auth"
	"boxoffice/session"
	"boxoffice/session/sessiontest"
)

// revocations records the sessions of session_revoked events, with their reasons.
type revocations struct {
	mu   sync.Mutex
	list []string
}

func (r *revocations) Record(_ context.Context, e audit.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, string(e.Type)+"/"+e.Reason+"/"+e.SessionID)
}

func (r *revocations) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.list
	r.list = nil
	return out
}

// TestRevocationRecordedWhenReplicaLags: a revocation the replica does not acknowledge is
// answered ErrUnavailable but stands on the primary: it is recorded then, and the client's
// retry, which revokes nothing more, records nothing.
func TestRevocationRecordedWhenReplicaLags(t *testing.T) {
	primary, replica := sessiontest.StartReplicated(t)
	ctx := context.Background()
	// The read timeout exceeds every WAIT below, so that a late acknowledgement is WAIT's
	// reply, not a client timeout.
	rdb, err := session.NewClient(session.ClientConfig{URL: primary.URL(), ReadTimeout: 2 * guard})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	rec := &revocations{}
	cfg := session.DefaultConfig()
	cfg.RevocationReplicas, cfg.Audit = 1, rec
	cfg.RefreshGrace = 0 // a spent token presented again is a reuse
	// The sessions are created while the replica is alive, through a store that waits for it
	// as long as a loaded machine may need: creating them is not under test, and a slow
	// acknowledgement must not fail it.
	cfg.RevocationWait = guard
	setup, err := session.New(rdb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Every call of st comes once the replica is gone: its short wait then always runs out.
	cfg.RevocationWait = 300 * time.Millisecond
	st, err := session.New(rdb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	uid := auth.NewID()
	var ids []string
	for range 3 {
		s, err := setup.Create(ctx, session.NewSession{ID: auth.NewID(), UserID: uid, RefreshHash: "h", AccessExpiresAt: time.Now().Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s.ID)
	}
	replica.Kill()
	for range 2 {
		if err := st.Revoke(ctx, uid, ids[0], ids[1], session.ReasonRevoked); !errors.Is(err, session.ErrUnavailable) {
			t.Fatalf("revocation without a replica: %v", err)
		}
		if _, err := st.RevokeAll(ctx, uid, ids[0], session.ReasonLogoutAll); !errors.Is(err, session.ErrUnavailable) {
			t.Fatalf("logout-all without a replica: %v", err)
		}
	}
	got := strings.Join(rec.take(), " ")
	want := "session_revoked/revoked_by_user/" + ids[1] + " session_revoked/logout_all/" + ids[0] +
		" session_revoked/logout_all/" + ids[2]
	if got != want {
		t.Fatalf("recorded:\n %s\nwant\n %s", got, want)
	}

	// A refresh token's reuse: the rotation, then the spent token again. Both are refused for
	// want of a replica, but the reuse revoked the session on the primary: it is recorded
	// (authn_token_reuse, which the reuse-spike alert counts, and the revocation), once.
	sid4 := auth.NewID()
	if _, err := st.Create(ctx, session.NewSession{ID: sid4, UserID: uid, RefreshHash: "r0", AccessExpiresAt: time.Now().Add(time.Minute)}); !errors.Is(err, session.ErrUnavailable) {
		t.Fatalf("sign-in without a replica: %v", err)
	}
	rot := func(presented, successor, req string) error {
		_, err := st.Rotate(ctx, session.Rotation{UserID: uid, SessionID: sid4, PresentedHash: presented,
			SuccessorHash: successor, RequestID: req, AccessExpiresAt: time.Now().Add(time.Minute)})
		return err
	}
	if err := rot("r0", "r1", "q1"); !errors.Is(err, session.ErrUnavailable) {
		t.Fatalf("rotation without a replica: %v", err)
	}
	rec.take()
	for range 2 { // the reuse, then the client's retry of it
		if err := rot("r0", "r2", "q2"); !errors.Is(err, session.ErrUnavailable) {
			t.Fatalf("reuse without a replica: %v", err)
		}
	}
	got = strings.Join(rec.take(), " ")
	if want := "authn_token_reuse//" + sid4 + " session_revoked/token_reuse/" + sid4; got != want {
		t.Fatalf("recorded for a reuse:\n %s\nwant\n %s", got, want)
	}
}
