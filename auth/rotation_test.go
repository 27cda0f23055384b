package auth_test

import (
	"errors"
	"testing"

	"boxoffice/auth"
)

// TestKeyRotation follows the documented three-step rotation: a new key is first added as a
// previous (verification-only) key, then promoted to signing key with the old one kept as
// previous, then the old one is removed.
func TestKeyRotation(t *testing.T) {
	oldKey := []byte("old-secret-old-secret-old-secret-0123")
	newKey := []byte("new-secret-new-secret-new-secret-4567")
	mk := func(key []byte, prev ...[]byte) *auth.Tokens {
		tk, err := auth.NewTokens(auth.TokenConfig{Keys: mustRing(t, key, prev...)})
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	uid, sid := auth.NewID(), auth.NewID()
	oldTok, _, _ := mk(oldKey).Issue(uid, sid)
	step1 := mk(oldKey, newKey) // new key known, old still signs
	step2 := mk(newKey, oldKey) // new key signs, old still accepted
	step3 := mk(newKey)         // old key gone
	newTok, _, _ := step2.Issue(uid, sid)
	for _, c := range []struct {
		name string
		tk   *auth.Tokens
		tok  string
		ok   bool
	}{
		{"step1 old", step1, oldTok, true}, {"step1 new", step1, newTok, true},
		{"step2 old", step2, oldTok, true}, {"step2 new", step2, newTok, true},
		{"step3 old", step3, oldTok, false}, {"step3 new", step3, newTok, true},
	} {
		_, err := c.tk.Verify(c.tok)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, auth.ErrTokenInvalid)) {
			t.Errorf("%s: Verify = %v, want ok=%v", c.name, err, c.ok)
		}
	}

	// Refresh tokens: a token tagged with the old key is accepted while the old key is in the
	// ring, and every instance with that ring derives the same successor.
	rOld := auth.NewRefreshTokens(mustRing(t, oldKey))
	r2a := auth.NewRefreshTokens(mustRing(t, newKey, oldKey))
	r2b := auth.NewRefreshTokens(mustRing(t, newKey, oldKey))
	rNew := auth.NewRefreshTokens(mustRing(t, newKey))
	tok, _ := rOld.New(uid, sid)
	s := rOld.Encode(tok)
	pa, err := r2a.Parse(s)
	if err != nil {
		t.Fatalf("old-tagged refresh token during rotation: %v", err)
	}
	pb, _ := r2b.Parse(s)
	if r2a.Next(pa).Hash() != r2b.Next(pb).Hash() || r2a.Next(pa).Hash() != rOld.Next(tok).Hash() {
		t.Fatal("instances derived different successors")
	}
	succ := r2a.Encode(r2a.Next(pa))
	if _, err := rNew.Parse(succ); err != nil {
		t.Fatalf("successor is not tagged with the new key: %v", err)
	}
	if _, err := rNew.Parse(s); !errors.Is(err, auth.ErrRefreshInvalid) {
		t.Fatalf("old-tagged token after the old key was removed: %v", err)
	}
}
