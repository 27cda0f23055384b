package auth_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"boxoffice/auth"
)

// TestVerifiedCache: the cache of verified tokens answers only for the exact strings that
// verified, only until they expire, and stays bounded.
func TestVerifiedCache(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	tk, err := auth.NewTokens(auth.TokenConfig{Keys: mustRing(t, []byte("0123456789abcdef0123456789abcdef")),
		TTL: time.Minute, Leeway: 5 * time.Second, Now: clock, CacheSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	var toks []string
	for i := 0; i < 5; i++ {
		s, _, err := tk.Issue(auth.NewID(), auth.NewID())
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, s)
	}
	first, err := tk.Verify(toks[0])
	if err != nil {
		t.Fatal(err)
	}
	again, err := tk.Verify(toks[0])
	if err != nil || again != first {
		t.Fatalf("cached verify = %+v, %v; want %+v", again, err, first)
	}
	for _, s := range toks[1:] { // overflow the cache: every token still verifies
		if _, err := tk.Verify(s); err != nil {
			t.Fatal(err)
		}
	}
	// A tampered spelling of a cached token is verified in full and refused.
	i := len(toks[4]) - 10 // inside the signature, away from its padding bits
	c := byte('A')
	if toks[4][i] == c {
		c = 'B'
	}
	tampered := toks[4][:i] + string(c) + toks[4][i+1:]
	if _, err := tk.Verify(tampered); !errors.Is(err, auth.ErrTokenInvalid) {
		t.Fatalf("tampered token: %v", err)
	}
	// Past exp+leeway a cached token is expired, not served from the cache.
	mu.Lock()
	now = now.Add(time.Minute + 6*time.Second)
	mu.Unlock()
	for _, s := range toks {
		if _, err := tk.Verify(s); !errors.Is(err, auth.ErrTokenExpired) {
			t.Fatalf("expired cached token: %v, want ErrTokenExpired", err)
		}
	}
}
