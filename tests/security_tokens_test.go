package tests

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// TestSecurityTokens attacks access and refresh tokens. Every forged token gets the one generic
// 401 invalid_token (or token_expired when only its expiry is wrong) and changes nothing.
func TestSecurityTokens(t *testing.T) {
	c := fleet.inst(0)
	rdb := redisClient(t, shared)
	victim := signIn(t, c)
	uid, sid := victim.tk.Session.UserID, victim.tk.SessionID
	kid := kidOf(t, victim.tk.AccessToken)
	key := []byte(testSecret)
	hdr := func(extra map[string]any) map[string]any {
		h := map[string]any{"kid": kid, "typ": "at+jwt"}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	with := func(mut func(jwt.MapClaims)) jwt.MapClaims {
		cl := validClaims(uid, sid)
		mut(cl)
		return cl
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	none := forge(t, hdr(nil), validClaims(uid, sid), jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType)

	cases := []struct {
		name, token, code string
	}{
		{"alg none", none, "invalid_token"},
		{"signed with another key", forge(t, hdr(nil), validClaims(uid, sid), jwt.SigningMethodHS256, []byte("another-key-another-key-another-key!")), "invalid_token"},
		{"HS512 with our key", forge(t, hdr(nil), validClaims(uid, sid), jwt.SigningMethodHS512, key), "invalid_token"},
		{"RS256 (algorithm confusion)", forge(t, hdr(nil), validClaims(uid, sid), jwt.SigningMethodRS256, rsaKey), "invalid_token"},
		{"unknown kid", forge(t, hdr(map[string]any{"kid": "not-our-key"}), validClaims(uid, sid), jwt.SigningMethodHS256, key), "invalid_token"},
		{"typ JWT instead of at+jwt", forge(t, hdr(map[string]any{"typ": "JWT"}), validClaims(uid, sid), jwt.SigningMethodHS256, key), "invalid_token"},
		{"crit header", forge(t, hdr(map[string]any{"crit": []string{"exp"}}), validClaims(uid, sid), jwt.SigningMethodHS256, key), "invalid_token"},
		{"jku header", forge(t, hdr(map[string]any{"jku": "https://evil.example/jwks"}), validClaims(uid, sid), jwt.SigningMethodHS256, key), "invalid_token"},
		{"wrong audience", forge(t, hdr(nil), with(func(c jwt.MapClaims) { c["aud"] = "other-service" }), jwt.SigningMethodHS256, key), "invalid_token"},
		{"wrong issuer", forge(t, hdr(nil), with(func(c jwt.MapClaims) { c["iss"] = "evil" }), jwt.SigningMethodHS256, key), "invalid_token"},
		{"no exp", forge(t, hdr(nil), with(func(c jwt.MapClaims) { delete(c, "exp") }), jwt.SigningMethodHS256, key), "invalid_token"},
		{"issued in the future", forge(t, hdr(nil), with(func(c jwt.MapClaims) { c["iat"] = c["exp"].(int64) + 600 }), jwt.SigningMethodHS256, key), "invalid_token"},
		{"expired", forge(t, hdr(nil), with(func(c jwt.MapClaims) { c["exp"] = c["iat"].(int64) - 600; c["iat"] = c["iat"].(int64) - 900 }), jwt.SigningMethodHS256, key), "token_expired"},
		// Correctly signed with our key, so only the claim checks stand between them and the
		// session: a missing iat once crashed Verify (500), and jwt/v5 reads "exp":"<digits>".
		{"no iat", forge(t, hdr(nil), with(func(c jwt.MapClaims) { delete(c, "iat") }), jwt.SigningMethodHS256, key), "invalid_token"},
		{"iat null", forge(t, hdr(nil), with(func(c jwt.MapClaims) { c["iat"] = nil }), jwt.SigningMethodHS256, key), "invalid_token"},
		{"exp as a string", forge(t, hdr(nil), with(func(c jwt.MapClaims) { c["exp"] = fmt.Sprint(c["exp"]) }), jwt.SigningMethodHS256, key), "invalid_token"},
		{"iat as a string", forge(t, hdr(nil), with(func(c jwt.MapClaims) { c["iat"] = fmt.Sprint(c["iat"]) }), jwt.SigningMethodHS256, key), "invalid_token"},
		{"sub as a number", forge(t, hdr(nil), with(func(c jwt.MapClaims) { c["sub"] = 7 }), jwt.SigningMethodHS256, key), "invalid_token"},
		{"refresh token as access token", victim.tk.RefreshToken, "invalid_token"},
		{"tampered payload", strings.Replace(victim.tk.AccessToken, ".", ".x", 1), "invalid_token"},
		{"oversized", strings.Repeat("A", 8000), "invalid_token"},
		{"space inside", victim.tk.AccessToken[:20] + " " + victim.tk.AccessToken[20:], "invalid_token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, rdb, uid)
			expect(t, c.do(t, "PATCH", "/v1/session/data", tc.token, `{"stolen":true}`), 401, tc.code)
			unchanged(t, rdb, uid, before)
		})
	}

	t.Run("validly signed token mixing one user with another's session", func(t *testing.T) {
		attacker := signIn(t, c)
		mixed := forge(t, hdr(nil), validClaims(attacker.tk.Session.UserID, sid), jwt.SigningMethodHS256, key)
		before := snapshot(t, rdb, uid)
		expect(t, c.do(t, "PATCH", "/v1/session/data", mixed, `{"stolen":true}`), 401, "session_expired")
		unchanged(t, rdb, uid, before)
	})
	t.Run("access token as refresh token", func(t *testing.T) {
		before := snapshot(t, rdb, uid)
		expect(t, c.do(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": victim.tk.AccessToken}), 401, "invalid_refresh_token")
		unchanged(t, rdb, uid, before)
	})
	t.Run("forged refresh token for a known session", func(t *testing.T) {
		// A well-formed token naming the victim's user and session but with a secret and tag
		// the server never issued must not trigger reuse detection (which would revoke).
		forged := victim.tk.RefreshToken[:len(victim.tk.RefreshToken)-30] + strings.Repeat("A", 30)
		before := snapshot(t, rdb, uid)
		expect(t, c.do(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": forged}), 401, "invalid_refresh_token")
		unchanged(t, rdb, uid, before)
		expect(t, c.do(t, "GET", "/v1/session", victim.tk.AccessToken, nil), 200, "")
	})
	t.Run("same refresh token 20 times in parallel across instances", func(t *testing.T) {
		s := signIn(t, c)
		var wg sync.WaitGroup
		var mu sync.Mutex
		successors := map[string]bool{}
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := fleet.inst(i).do(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": s.tk.RefreshToken})
				if r.status != 200 {
					t.Errorf("refresh %d: %d %s", i, r.status, r.body)
					return
				}
				var tk tokens
				r.decode(t, &tk)
				mu.Lock()
				successors[tk.RefreshToken] = true
				mu.Unlock()
			}()
		}
		wg.Wait()
		if len(successors) != 1 {
			t.Fatalf("%d live successors, want 1", len(successors))
		}
		rh, _ := rdb.HGet(t.Context(), sessionKey(s.tk.Session.UserID, s.tk.SessionID), "rh").Result()
		if rh == "" {
			t.Fatal("session lost its refresh state")
		}
	})
}
