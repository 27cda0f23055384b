package session_test

import (
	"context"
	"errors"
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
	primary, replica := sessiontest.StartReplicated(t)
	ctx := context.Background()
	rc := replica.Client(t)
	// Generous waits: a loaded machine may take a while to acknowledge, and a refused WAIT
	// must come from the missing replica, not from the clock. The read timeout exceeds the
	// longest WAIT, so that a late acknowledgement is WAIT's reply, not a client timeout.
	rdb, err := session.NewClient(session.ClientConfig{URL: primary.URL(), ReadTimeout: 2 * guard})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	cfg := session.DefaultConfig()
	cfg.RevocationReplicas = 1
	cfg.RevocationWait = guard
	st, err := session.New(rdb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Once the replica is gone no acknowledgement comes, however long the wait: gone waits
	// briefly, so that its refusal does not take guard.
	cfg.RevocationWait = 300 * time.Millisecond
	gone, err := session.New(rdb, cfg)
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
	err = gone.Revoke(ctx, s2.UserID, s2.ID, s2.ID, session.ReasonLogout)
	if !errors.Is(err, session.ErrUnavailable) {
		t.Fatalf("revocation without a replica: %v, want ErrUnavailable", err)
	}
	if _, err := st.Get(ctx, s2.UserID, s2.ID); !errors.Is(err, session.ErrRevoked) {
		t.Fatalf("the primary must still have revoked it: %v", err)
	}
}
