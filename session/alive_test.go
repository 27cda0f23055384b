package session_test

import (
	"errors"
	"slices"
	"testing"

	"boxoffice/auth"
	"boxoffice/session"
)

// TestAlive: a live session is alive; a revoked one, a signed-out one, one of another user
// and an unknown one are not; the answers come in the order asked.
func TestAlive(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start()
		uid, other := auth.NewID(), auth.NewID()
		a, b, c := e.login(t, uid), e.login(t, uid), e.login(t, other)
		if err := e.store.Revoke(e.ctx, uid, a.ID, b.ID, session.ReasonRevoked); err != nil {
			t.Fatal(err)
		}
		refs := []session.Ref{
			{UserID: uid, SessionID: a.ID},         // live
			{UserID: uid, SessionID: b.ID},         // revoked
			{UserID: other, SessionID: c.ID},       // live, another user
			{UserID: uid, SessionID: c.ID},         // another user's session under this user
			{UserID: uid, SessionID: auth.NewID()}, // unknown
		}
		got, err := e.store.Alive(e.ctx, refs)
		if want := []bool{true, false, true, false, false}; err != nil || !slices.Equal(got, want) {
			t.Fatalf("Alive = %v, %v; want %v", got, err, want)
		}
		if got, err := e.store.Alive(e.ctx, nil); err != nil || len(got) != 0 {
			t.Fatalf("Alive(none) = %v, %v", got, err)
		}
		// Redis gone: an error, never a guess (a wrong "not alive" would end someone's holds).
		e.redis.Close()
		if _, err := e.store.Alive(e.ctx, refs[:1]); !errors.Is(err, session.ErrUnavailable) {
			t.Fatalf("Alive with Redis gone = %v, want ErrUnavailable", err)
		}
	})
}
