package session_test

import (
	"context"
	"errors"
	"net"
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
	primary := sessiontest.StartServer(t)
	_, port, _ := net.SplitHostPort(primary.Addr)
	replica := sessiontest.StartServer(t, "--replicaof", "127.0.0.1", port)
	ctx := context.Background()
	rc := replica.Client(t)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if info, _ := rc.Info(ctx, "replication").Result(); strings.Contains(info, "master_link_status:up") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("replica did not sync")
		}
	}
	rdb, err := session.NewClient(session.ClientConfig{URL: primary.URL(), ReadTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	rec := &revocations{}
	cfg := session.DefaultConfig()
	cfg.RevocationReplicas, cfg.RevocationWait, cfg.Audit = 1, 300*time.Millisecond, rec // no replica answers
	st, err := session.New(rdb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	uid := auth.NewID()
	var ids []string
	for range 3 {
		s, err := st.Create(ctx, session.NewSession{ID: auth.NewID(), UserID: uid, RefreshHash: "h", AccessExpiresAt: time.Now().Add(time.Minute)})
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
}
