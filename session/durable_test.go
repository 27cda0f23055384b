package session_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"boxoffice/auth"
	"boxoffice/session"
	"boxoffice/session/sessiontest"
)

// TestRevocationWaitsForReplica: with RevocationReplicas set, a logout returns only once the
// replica holds it (so a failover cannot undo it), and reports ErrUnavailable when no replica
// acknowledges — the client retries, and the retry is idempotent.
func TestRevocationWaitsForReplica(t *testing.T) {
	primary := sessiontest.StartServer(t)
	_, port, _ := net.SplitHostPort(primary.Addr)
	replica := sessiontest.StartServer(t, "--replicaof", "127.0.0.1", port)
	ctx := context.Background()
	rc := replica.Client(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, _ := rc.Info(ctx, "replication").Result()
		if strings.Contains(info, "master_link_status:up") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("replica did not sync")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Generous waits: a loaded machine may take a while to acknowledge, and a refused WAIT
	// must come from the missing replica, not from the clock.
	rdb, err := session.NewClient(session.ClientConfig{URL: primary.URL(), ReadTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	cfg := session.DefaultConfig()
	cfg.RevocationReplicas = 1
	cfg.RevocationWait = 5 * time.Second
	st, err := session.New(rdb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	create := func() session.Session {
		s, err := st.Create(ctx, session.NewSession{ID: auth.NewID(), UserID: auth.NewID(), RefreshHash: "h", AccessExpiresAt: time.Now().Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := create()
	if err := st.Revoke(ctx, s.UserID, s.ID, s.ID, session.ReasonLogout); err != nil {
		t.Fatal(err)
	}
	// Acknowledged means on the replica now, not eventually.
	if n, _ := rc.Exists(ctx, "bx:{u:"+s.UserID+"}:r:"+s.ID).Result(); n != 1 {
		t.Fatal("acknowledged revocation is not on the replica")
	}
	if n, _ := rc.Exists(ctx, "bx:{u:"+s.UserID+"}:s:"+s.ID).Result(); n != 0 {
		t.Fatal("revoked session still on the replica")
	}

	s2 := create()
	replica.Kill()
	err = st.Revoke(ctx, s2.UserID, s2.ID, s2.ID, session.ReasonLogout)
	if !errors.Is(err, session.ErrUnavailable) {
		t.Fatalf("revocation without a replica: %v, want ErrUnavailable", err)
	}
	if _, err := st.Get(ctx, s2.UserID, s2.ID); !errors.Is(err, session.ErrRevoked) {
		t.Fatalf("the primary must still have revoked it: %v", err)
	}
}
