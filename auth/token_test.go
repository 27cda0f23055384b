package auth_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"boxoffice/auth"
)

var (
	testKey  = []byte("test-key-0123456789abcdef-0123456789") // 36 bytes
	otherKey = []byte("other-key-0123456789abcdef-012345678")
	// t0 has a sub-second part so that Issue's truncation to seconds is exercised.
	t0 = time.Date(2030, 1, 2, 3, 4, 5, 600_000_000, time.UTC)
)

// clock is an injectable, settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock(t time.Time) *clock { return &clock{now: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func newTokens(t testing.TB, clk *clock, mods ...func(*auth.TokenConfig)) *auth.Tokens {
	t.Helper()
	cfg := auth.TokenConfig{Keys: mustRing(t, testKey), Now: clk.Now}
	for _, m := range mods {
		m(&cfg)
	}
	tk, err := auth.NewTokens(cfg)
	if err != nil {
		t.Fatalf("NewTokens: %v", err)
	}
	return tk
}

func mustIssue(t testing.TB, tk *auth.Tokens, uid, sid string) string {
	t.Helper()
	s, _, err := tk.Issue(uid, sid)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return s
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func decodeSegment(t testing.TB, seg string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.Strict().DecodeString(seg)
	if err != nil {
		t.Fatalf("decode segment %q: %v", seg, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("unmarshal segment %s: %v", b, err)
	}
	return m
}

// kidOf returns the kid header of an issued token (the key id is not exported).
func kidOf(t testing.TB, tok string) string {
	t.Helper()
	kid, _ := decodeSegment(t, strings.Split(tok, ".")[0])["kid"].(string)
	if kid == "" {
		t.Fatalf("token %q has no kid", tok)
	}
	return kid
}

// mintRaw signs header.payload (given as raw JSON) with method and key.
func mintRaw(t testing.TB, header, payload []byte, method jwt.SigningMethod, key any) string {
	t.Helper()
	si := b64(header) + "." + b64(payload)
	sig, err := method.Sign(si, key)
	if err != nil {
		t.Fatalf("sign with %s: %v", method.Alg(), err)
	}
	return si + "." + b64(sig)
}

func mint(t testing.TB, header, claims map[string]any, method jwt.SigningMethod, key any) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return mintRaw(t, h, c, method, key)
}

// forgeEnv holds what a forged token is built from: the header and claims our issuer would
// produce at now, which each test case then alters.
type forgeEnv struct {
	kid      string
	uid, sid string
	now      time.Time
}

func (e forgeEnv) header() map[string]any {
	return map[string]any{"alg": "HS256", "typ": auth.AccessTokenType, "kid": e.kid}
}

func (e forgeEnv) claims() map[string]any {
	return map[string]any{
		"iss": "boxoffice",
		"aud": []string{"boxoffice"},
		"sub": e.uid,
		"sid": e.sid,
		"jti": auth.NewID(),
		"iat": e.now.Unix(),
		"exp": e.now.Add(5 * time.Minute).Unix(),
	}
}

func assertInvalid(t *testing.T, tk *auth.Tokens, tok string) {
	t.Helper()
	c, err := tk.Verify(tok)
	if !errors.Is(err, auth.ErrTokenInvalid) || errors.Is(err, auth.ErrTokenExpired) {
		t.Fatalf("Verify(%q) error = %v, want exactly ErrTokenInvalid", trunc(tok), err)
	}
	if c != (auth.Claims{}) {
		t.Fatalf("Verify(%q) returned claims %+v along with an error", trunc(tok), c)
	}
}

func TestTokenDefaults(t *testing.T) {
	clk := newClock(t0)
	tk := newTokens(t, clk)
	if tk.TTL() != 5*time.Minute {
		t.Errorf("default TTL = %v, want 5m", tk.TTL())
	}
	if tk.Leeway() != 5*time.Second {
		t.Errorf("default Leeway = %v, want 5s", tk.Leeway())
	}
	neg := newTokens(t, clk, func(c *auth.TokenConfig) { c.TTL = -time.Minute })
	if neg.TTL() != 5*time.Minute {
		t.Errorf("TTL for negative config = %v, want 5m", neg.TTL())
	}
	custom := newTokens(t, clk, func(c *auth.TokenConfig) { c.TTL = time.Minute; c.Leeway = time.Second })
	if custom.TTL() != time.Minute || custom.Leeway() != time.Second {
		t.Errorf("custom TTL/Leeway = %v/%v, want 1m/1s", custom.TTL(), custom.Leeway())
	}
	// Defaults for issuer and audience are "boxoffice".
	tok := mustIssue(t, tk, auth.NewID(), auth.NewID())
	c := decodeSegment(t, strings.Split(tok, ".")[1])
	if c["iss"] != "boxoffice" {
		t.Errorf("iss = %v, want boxoffice", c["iss"])
	}
	if aud, _ := c["aud"].([]any); len(aud) != 1 || aud[0] != "boxoffice" {
		t.Errorf("aud = %v, want [boxoffice]", c["aud"])
	}
}

func TestIssueVerifyRoundTrip(t *testing.T) {
	for _, ttl := range []time.Duration{0, time.Minute, time.Hour} {
		t.Run(fmt.Sprint("ttl ", ttl), func(t *testing.T) {
			clk := newClock(t0)
			tk := newTokens(t, clk, func(c *auth.TokenConfig) { c.TTL = ttl })
			uid, sid := auth.NewID(), auth.NewID()
			tok, exp, err := tk.Issue(uid, sid)
			if err != nil {
				t.Fatalf("Issue: %v", err)
			}
			iat := t0.Truncate(time.Second)
			if want := iat.Add(tk.TTL()); !exp.Equal(want) {
				t.Fatalf("Issue exp = %v, want %v", exp, want)
			}
			if len(tok) > auth.MaxTokenBytes {
				t.Fatalf("issued token is %d bytes, over MaxTokenBytes", len(tok))
			}
			c, err := tk.Verify(tok)
			if err != nil {
				t.Fatalf("Verify(issued) = %v", err)
			}
			if c.UserID != uid || c.SessionID != sid {
				t.Fatalf("claims user/session = %q/%q, want %q/%q", c.UserID, c.SessionID, uid, sid)
			}
			if !auth.ValidID(c.TokenID) {
				t.Fatalf("TokenID %q is not a valid id", c.TokenID)
			}
			if !c.IssuedAt.Equal(iat) || !c.ExpiresAt.Equal(exp) {
				t.Fatalf("claims iat/exp = %v/%v, want %v/%v", c.IssuedAt, c.ExpiresAt, iat, exp)
			}
			// Still valid just before exp+leeway, using only the injected clock.
			clk.Set(exp.Add(tk.Leeway() - time.Nanosecond))
			if _, err := tk.Verify(tok); err != nil {
				t.Fatalf("Verify at exp+leeway-1ns = %v, want nil", err)
			}
		})
	}
}

func TestIssuedTokenShape(t *testing.T) {
	clk := newClock(t0)
	tk := newTokens(t, clk)
	tok := mustIssue(t, tk, auth.NewID(), auth.NewID())
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d segments", len(parts))
	}
	for _, p := range parts {
		if strings.Trim(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			t.Fatalf("segment %q is not unpadded base64url", p)
		}
	}
	h := decodeSegment(t, parts[0])
	want := map[string]any{"alg": "HS256", "typ": "at+jwt", "kid": h["kid"]}
	if !maps.Equal(h, want) {
		t.Fatalf("header = %v, want exactly alg/typ/kid %v", h, want)
	}
	c := decodeSegment(t, parts[1])
	for _, k := range []string{"iss", "aud", "sub", "sid", "jti", "iat", "exp"} {
		if _, ok := c[k]; !ok {
			t.Errorf("claim %q missing in %v", k, c)
		}
	}
	if len(c) != 7 {
		t.Errorf("claims = %v, want exactly iss/aud/sub/sid/jti/iat/exp", c)
	}
}

func TestKeyID(t *testing.T) {
	clk := newClock(t0)
	a1 := kidOf(t, mustIssue(t, newTokens(t, clk), auth.NewID(), auth.NewID()))
	a2 := kidOf(t, mustIssue(t, newTokens(t, clk), auth.NewID(), auth.NewID()))
	b := kidOf(t, mustIssue(t, newTokens(t, clk, func(c *auth.TokenConfig) { c.Keys = mustRing(t, otherKey) }), auth.NewID(), auth.NewID()))
	if a1 != a2 {
		t.Errorf("kid not stable for the same key: %q vs %q", a1, a2)
	}
	if a1 == b {
		t.Errorf("two keys share kid %q", a1)
	}
	if strings.Contains(a1, string(testKey[:8])) {
		t.Errorf("kid %q reveals key material", a1)
	}
}

func TestIssueUniqueTokenIDs(t *testing.T) {
	tk := newTokens(t, newClock(t0))
	uid, sid := auth.NewID(), auth.NewID()
	seen := map[string]bool{}
	for range 200 {
		tok := mustIssue(t, tk, uid, sid)
		c, err := tk.Verify(tok)
		if err != nil {
			t.Fatal(err)
		}
		if seen[c.TokenID] || seen[tok] {
			t.Fatalf("TokenID %q or token repeated", c.TokenID)
		}
		seen[c.TokenID], seen[tok] = true, true
	}
}

func TestVerifyExpiry(t *testing.T) {
	clk := newClock(t0)
	tk := newTokens(t, clk)
	tok, exp, err := tk.Issue(auth.NewID(), auth.NewID())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		at   time.Time
		want error
	}{
		{"at issue", t0, nil},
		{"just before exp", exp.Add(-time.Second), nil},
		{"at exp, inside leeway", exp, nil},
		{"exp+leeway-1ns", exp.Add(tk.Leeway() - time.Nanosecond), nil},
		{"exp+leeway", exp.Add(tk.Leeway()), auth.ErrTokenExpired},
		{"an hour later", exp.Add(time.Hour), auth.ErrTokenExpired},
		{"a year later", exp.AddDate(1, 0, 0), auth.ErrTokenExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.Set(tt.at)
			c, err := tk.Verify(tok)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify at %v = %v, want nil", tt.at, err)
				}
				return
			}
			if !errors.Is(err, auth.ErrTokenExpired) || errors.Is(err, auth.ErrTokenInvalid) {
				t.Fatalf("Verify at %v = %v, want exactly ErrTokenExpired", tt.at, err)
			}
			if c != (auth.Claims{}) {
				t.Fatalf("claims returned with error: %+v", c)
			}
		})
	}
}

func TestVerifyIssuedAtLeeway(t *testing.T) {
	clk := newClock(t0)
	tk := newTokens(t, clk)
	env := forgeEnv{kid: kidOf(t, mustIssue(t, tk, auth.NewID(), auth.NewID())), uid: auth.NewID(), sid: auth.NewID(), now: t0}
	for _, tt := range []struct {
		name string
		skew time.Duration
		ok   bool
	}{
		{"iat now", 0, true},
		{"iat 4s ahead, inside leeway", 4 * time.Second, true},
		{"iat 6s ahead, beyond leeway", 6 * time.Second, false},
		{"iat a day ahead", 24 * time.Hour, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := env.claims()
			c["iat"] = t0.Add(tt.skew).Unix()
			c["exp"] = t0.Add(tt.skew + 5*time.Minute).Unix()
			tok := mint(t, env.header(), c, jwt.SigningMethodHS256, testKey)
			if tt.ok {
				if _, err := tk.Verify(tok); err != nil {
					t.Fatalf("Verify = %v, want nil", err)
				}
				return
			}
			assertInvalid(t, tk, tok)
		})
	}
}

func TestVerifyRejectsForgedTokens(t *testing.T) {
	clk := newClock(t0)
	tk := newTokens(t, clk)
	env := forgeEnv{kid: kidOf(t, mustIssue(t, tk, auth.NewID(), auth.NewID())), uid: auth.NewID(), sid: auth.NewID(), now: t0}

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherTokens := newTokens(t, clk, func(c *auth.TokenConfig) { c.Keys = mustRing(t, otherKey) })

	hs256 := jwt.SigningMethodHS256
	type mod struct {
		header func(h map[string]any)
		claims func(c map[string]any)
		method jwt.SigningMethod
		key    any
	}
	set := func(k string, v any) func(map[string]any) { return func(m map[string]any) { m[k] = v } }
	del := func(k string) func(map[string]any) { return func(m map[string]any) { delete(m, k) } }

	tests := []struct {
		name string
		mod  mod
	}{
		{"alg none", mod{header: set("alg", "none"), method: jwt.SigningMethodNone, key: jwt.UnsafeAllowNoneSignatureType}},
		{"alg None", mod{header: set("alg", "None"), method: jwt.SigningMethodNone, key: jwt.UnsafeAllowNoneSignatureType}},
		{"alg none with HS256 signature", mod{header: set("alg", "none")}},
		{"alg missing", mod{header: del("alg")}},
		{"alg empty", mod{header: set("alg", "")}},
		{"alg lowercase hs256", mod{header: set("alg", "hs256")}},
		{"alg not a string", mod{header: set("alg", 256)}},
		{"alg HS512 same key", mod{header: set("alg", "HS512"), method: jwt.SigningMethodHS512}},
		{"alg HS384 same key", mod{header: set("alg", "HS384"), method: jwt.SigningMethodHS384}},
		{"alg RS256 real RSA signature", mod{header: set("alg", "RS256"), method: jwt.SigningMethodRS256, key: rsaKey}},
		{"alg RS256 with HMAC signature (alg confusion)", mod{header: set("alg", "RS256")}},
		{"alg ES256 real ECDSA signature", mod{header: set("alg", "ES256"), method: jwt.SigningMethodES256, key: ecKey}},
		{"alg PS256 real signature", mod{header: set("alg", "PS256"), method: jwt.SigningMethodPS256, key: rsaKey}},
		{"alg EdDSA with HMAC signature", mod{header: set("alg", "EdDSA")}},
		{"signed by another key, our kid", mod{key: otherKey}},
		{"signed by the first 32 bytes of our key", mod{key: testKey[:32]}},
		{"signed by empty key", mod{key: []byte{}}},
		{"wrong kid", mod{header: set("kid", "AAAAAAAAAAAA")}},
		{"kid of another key", mod{header: set("kid", kidOf(t, mustIssue(t, otherTokens, env.uid, env.sid)))}},
		{"missing kid", mod{header: del("kid")}},
		{"empty kid", mod{header: set("kid", "")}},
		{"kid not a string", mod{header: set("kid", 1)}},
		{"kid null", mod{header: set("kid", nil)}},
		{"kid array", mod{header: set("kid", []string{env.kid})}},
		{"typ JWT", mod{header: set("typ", "JWT")}},
		{"typ jwt", mod{header: set("typ", "jwt")}},
		{"typ AT+JWT", mod{header: set("typ", "AT+JWT")}},
		{"typ application/at+jwt", mod{header: set("typ", "application/at+jwt")}},
		{"typ missing", mod{header: del("typ")}},
		{"typ empty", mod{header: set("typ", "")}},
		{"typ not a string", mod{header: set("typ", true)}},
		{"crit header", mod{header: set("crit", []string{"exp"})}},
		{"crit empty", mod{header: set("crit", []string{})}},
		{"crit null", mod{header: set("crit", nil)}},
		{"jku header", mod{header: set("jku", "https://evil.example/jwks.json")}},
		{"jwk header", mod{header: set("jwk", map[string]any{"kty": "oct", "k": b64(testKey)})}},
		{"x5u header", mod{header: set("x5u", "https://evil.example/cert.pem")}},
		{"x5c header", mod{header: set("x5c", []string{"MIIB"})}},
		{"cty header", mod{header: set("cty", "JWT")}},
		{"b64 false header", mod{header: set("b64", false)}},
		{"zip header", mod{header: set("zip", "DEF")}},
		{"unknown header", mod{header: set("foo", "bar")}},
		{"wrong iss", mod{claims: set("iss", "evil")}},
		{"iss case variant", mod{claims: set("iss", "Boxoffice")}},
		{"missing iss", mod{claims: del("iss")}},
		{"empty iss", mod{claims: set("iss", "")}},
		{"iss not a string", mod{claims: set("iss", 1)}},
		{"wrong aud", mod{claims: set("aud", []string{"evil"})}},
		{"wrong aud as string", mod{claims: set("aud", "evil")}},
		{"missing aud", mod{claims: del("aud")}},
		{"empty aud list", mod{claims: set("aud", []string{})}},
		{"empty aud string", mod{claims: set("aud", "")}},
		{"aud not a string", mod{claims: set("aud", 7)}},
		{"missing exp", mod{claims: del("exp")}},
		{"exp null", mod{claims: set("exp", nil)}},
		// jwt.NumericDate would read a numeric string via json.Number; Verify's decoder does not
		// (see TestVerifyClaimTypes).
		{"exp as numeric string", mod{claims: set("exp", fmt.Sprint(t0.Add(5*time.Minute).Unix()))}},
		{"exp as non-numeric string", mod{claims: set("exp", "tomorrow")}},
		{"exp as bool", mod{claims: set("exp", true)}},
		{"iat in the future beyond leeway", mod{claims: set("iat", t0.Add(time.Minute).Unix())}},
		{"iat as non-numeric string", mod{claims: set("iat", "now")}},
		{"nbf in the future", mod{claims: set("nbf", t0.Add(time.Minute).Unix())}},
		{"nbf as non-numeric string", mod{claims: set("nbf", "zero")}},
		{"sub not an id", mod{claims: set("sub", "alice")}},
		{"sub uppercase id", mod{claims: set("sub", strings.ToUpper(env.uid))}},
		{"sub non-canonical id", mod{claims: set("sub", env.uid[:25]+"b")}},
		{"sub empty", mod{claims: set("sub", "")}},
		{"sub missing", mod{claims: del("sub")}},
		{"sub number", mod{claims: set("sub", 12345)}},
		{"sid not an id", mod{claims: set("sid", "session")}},
		{"sid empty", mod{claims: set("sid", "")}},
		{"sid missing", mod{claims: del("sid")}},
		{"sid number", mod{claims: set("sid", 1)}},
		{"sid with hash tag braces", mod{claims: set("sid", "{"+env.sid[:24]+"}")}},
		{"jti missing", mod{claims: del("jti")}},
		{"jti not an id", mod{claims: set("jti", "1")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, c := env.header(), env.claims()
			if tt.mod.header != nil {
				tt.mod.header(h)
			}
			if tt.mod.claims != nil {
				tt.mod.claims(c)
			}
			method, key := tt.mod.method, tt.mod.key
			if method == nil {
				method = hs256
			}
			if key == nil {
				key = testKey
			}
			assertInvalid(t, tk, mint(t, h, c, method, key))
		})
	}

	// Control: the unmodified forgery environment produces a token that verifies, so every
	// case above fails only because of its modification.
	if _, err := tk.Verify(mint(t, env.header(), env.claims(), hs256, testKey)); err != nil {
		t.Fatalf("control token does not verify: %v", err)
	}
}

func TestVerifyRejectsMalformedPayloads(t *testing.T) {
	// Correctly signed with our key, but the payload is not a claims object.
	clk := newClock(t0)
	tk := newTokens(t, clk)
	env := forgeEnv{kid: kidOf(t, mustIssue(t, tk, auth.NewID(), auth.NewID())), now: t0}
	h, _ := json.Marshal(env.header())
	for _, payload := range []string{``, `null`, `[]`, `"x"`, `1`, `{`, `{}`, `{"exp":1e400}`, `{"aud":["boxoffice"]}x`} {
		t.Run(payload, func(t *testing.T) {
			assertInvalid(t, tk, mintRaw(t, h, []byte(payload), jwt.SigningMethodHS256, testKey))
		})
	}
	for _, header := range []string{``, `null`, `[]`, `{`, `"HS256"`} {
		t.Run("header "+header, func(t *testing.T) {
			c, _ := json.Marshal(forgeEnv{uid: auth.NewID(), sid: auth.NewID(), now: t0}.claims())
			assertInvalid(t, tk, mintRaw(t, []byte(header), c, jwt.SigningMethodHS256, testKey))
		})
	}
}

func TestVerifyRejectsMalformedTokens(t *testing.T) {
	clk := newClock(t0)
	tk := newTokens(t, clk)
	// Find a token whose signature contains '-' or '_' so that the standard-alphabet case
	// really differs (each issue has a fresh jti, so this terminates quickly).
	var tok string
	for range 1000 {
		tok = mustIssue(t, tk, auth.NewID(), auth.NewID())
		if strings.ContainsAny(tok[strings.LastIndexByte(tok, '.')+1:], "-_") {
			break
		}
	}
	if _, err := tk.Verify(tok); err != nil {
		t.Fatalf("control: %v", err)
	}
	parts := strings.Split(tok, ".")
	hdr, pay, sig := parts[0], parts[1], parts[2]
	sigBytes, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil {
		t.Fatal(err)
	}

	// An HS256 signature is 32 bytes = 43 characters; the last one carries 2 unused bits.
	// Setting them leaves the decoded bytes unchanged for a non-strict decoder.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, sig[len(sig)-1])
	if last%4 != 0 {
		t.Fatalf("issued signature %q has non-zero trailing bits", sig)
	}
	var trailing []string
	for bits := 1; bits < 4; bits++ {
		trailing = append(trailing, sig[:len(sig)-1]+string(alphabet[last|bits]))
	}
	if got, err := base64.RawURLEncoding.DecodeString(trailing[0]); err != nil || string(got) != string(sigBytes) {
		t.Fatalf("test precondition: lax decoding of %q = %x, %v", trailing[0], got, err)
	}

	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}

	// Builds a correctly signed token of exactly n bytes by padding an ignored claim.
	env := forgeEnv{kid: kidOf(t, tok), uid: auth.NewID(), sid: auth.NewID(), now: t0}
	sized := func(n int) string {
		h, _ := json.Marshal(env.header())
		for spaces := range 4 {
			hs := append([]byte("{"+strings.Repeat(" ", spaces)), h[1:]...)
			for pad := 0; pad < n; pad++ {
				c := env.claims()
				c["pad"] = strings.Repeat("p", pad)
				cj, _ := json.Marshal(c)
				s := mintRaw(t, hs, cj, jwt.SigningMethodHS256, testKey)
				if len(s) == n {
					return s
				}
				if len(s) > n {
					break
				}
			}
		}
		t.Fatalf("could not build a token of %d bytes", n)
		return ""
	}
	maxTok := sized(auth.MaxTokenBytes)
	if _, err := tk.Verify(maxTok); err != nil {
		t.Fatalf("a correctly signed token of exactly MaxTokenBytes must verify: %v", err)
	}

	tests := []struct {
		name string
		tok  string
	}{
		{"empty", ""},
		{"one dot", "."},
		{"two dots", ".."},
		{"three dots", "..."},
		{"three dots letters", "a.b.c.d"},
		{"valid plus trailing dot", tok + "."},
		{"valid plus fourth segment", tok + "." + sig},
		{"leading dot", "." + tok},
		{"two segments", hdr + "." + pay},
		{"empty signature", hdr + "." + pay + "."},
		{"empty payload", hdr + ".." + sig},
		{"empty header", "." + pay + "." + sig},
		{"segments swapped", pay + "." + hdr + "." + sig},
		{"signature from another token", hdr + "." + pay + "." + strings.Split(mustIssue(t, tk, auth.NewID(), auth.NewID()), ".")[2]},
		{"signature truncated by one char", tok[:len(tok)-1]},
		{"signature truncated to 32 chars", hdr + "." + pay + "." + sig[:32]},
		{"signature doubled", tok + sig},
		{"signature flipped first char", hdr + "." + pay + "." + flip(sig, 0)},
		{"signature flipped middle char", hdr + "." + pay + "." + flip(sig, 20)},
		{"payload flipped char", hdr + "." + flip(pay, 10) + "." + sig},
		{"header flipped char", flip(hdr, 5) + "." + pay + "." + sig},
		{"signature trailing bits 01", hdr + "." + pay + "." + trailing[0]},
		{"signature trailing bits 10", hdr + "." + pay + "." + trailing[1]},
		{"signature trailing bits 11", hdr + "." + pay + "." + trailing[2]},
		{"signature padded", tok + "="},
		{"signature std base64 alphabet", hdr + "." + pay + "." + base64.RawStdEncoding.EncodeToString(sigBytes)},
		{"signature std base64 padded", hdr + "." + pay + "." + base64.StdEncoding.EncodeToString(sigBytes)},
		{"header padded", hdr + "==." + pay + "." + sig},
		{"leading space", " " + tok},
		{"trailing space", tok + " "},
		{"space inside signature", hdr + "." + pay + "." + sig[:10] + " " + sig[10:]},
		{"tab inside signature", hdr + "." + pay + "." + sig[:10] + "\t" + sig[10:]},
		{"space after dot", hdr + ". " + pay + "." + sig},
		{"newline inside payload", hdr + "." + pay[:10] + "\n" + pay[10:] + "." + sig},
		{"NUL appended", tok + "\x00"},
		{"Bearer prefix", "Bearer " + tok},
		{"non-ascii", tok[:len(tok)-2] + "é"},
		{"invalid utf-8", tok + "\xff"},
		{"one byte over MaxTokenBytes, correctly signed", sized(auth.MaxTokenBytes + 1)},
		{"far over MaxTokenBytes, correctly signed", sized(4 * auth.MaxTokenBytes)},
		{"1 MiB of dots", strings.Repeat(".", 1<<20)},
		{"1 MiB of A", strings.Repeat("A", 1<<20)},
		{"refresh token", auth.NewRefreshTokens(mustRing(t, testKey)).Encode(mustNewRefresh(t, auth.NewRefreshTokens(mustRing(t, testKey))))},
		{"an id", auth.NewID()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { assertInvalid(t, tk, tt.tok) })
	}
}

// jwt/v5's WithStrictDecoding uses encoding/base64's Strict(), which still skips '\r' and '\n'
// anywhere in the input, and the signature segment is not part of the signed text. So Verify
// (token.go:131-136) accepts an issued token with CR/LF inserted into its signature or appended
// to it: one access token gets unboundedly many spellings that all verify, contradicting
// "every forged, malformed ... token yields ErrTokenInvalid" (token.go:23-24) and the pitfall
// "never key anything on the raw token string". Rejecting any byte outside [A-Za-z0-9_.-]
// before parsing fixes it.
func TestVerifyRejectsCRLFInSignature(t *testing.T) {
	tk := newTokens(t, newClock(t0))
	tok := mustIssue(t, tk, auth.NewID(), auth.NewID())
	i := strings.LastIndexByte(tok, '.') + 10
	for _, bad := range []string{
		tok[:i] + "\n" + tok[i:],
		tok[:i] + "\r" + tok[i:],
		tok[:i] + "\r\n\r\n" + tok[i:],
		tok + "\n",
		tok + "\r\n",
	} {
		if c, err := tk.Verify(bad); !errors.Is(err, auth.ErrTokenInvalid) {
			t.Errorf("Verify(%q) = %+v, %v; want ErrTokenInvalid", bad, c, err)
		}
	}
}

func TestVerifyExpiredButOtherwiseInvalid(t *testing.T) {
	// Expiry must never mask another problem: ErrTokenExpired is only for tokens that are
	// valid except for having expired.
	clk := newClock(t0)
	tk := newTokens(t, clk)
	env := forgeEnv{kid: kidOf(t, mustIssue(t, tk, auth.NewID(), auth.NewID())), uid: auth.NewID(), sid: auth.NewID(), now: t0.Add(-time.Hour)}
	set := func(k string, v any) func(map[string]any) { return func(m map[string]any) { m[k] = v } }
	del := func(k string) func(map[string]any) { return func(m map[string]any) { delete(m, k) } }
	tests := []struct {
		name           string
		header, claims func(map[string]any)
		method         jwt.SigningMethod
		key            []byte
	}{
		{name: "wrong aud", claims: set("aud", []string{"evil"})},
		{name: "missing aud", claims: del("aud")},
		{name: "wrong iss", claims: set("iss", "evil")},
		{name: "missing iss", claims: del("iss")},
		{name: "iat in the future", claims: set("iat", t0.Add(time.Hour).Unix())},
		{name: "nbf in the future", claims: set("nbf", t0.Add(time.Hour).Unix())},
		{name: "iat wrong type", claims: set("iat", "x")},
		{name: "other key", key: otherKey},
		{name: "wrong kid", header: set("kid", "nope")},
		{name: "typ JWT", header: set("typ", "JWT")},
		{name: "crit", header: set("crit", []string{"exp"})},
		{name: "jku", header: set("jku", "https://evil.example")},
		{name: "alg HS512", header: set("alg", "HS512"), method: jwt.SigningMethodHS512},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, c := env.header(), env.claims()
			if tt.header != nil {
				tt.header(h)
			}
			if tt.claims != nil {
				tt.claims(c)
			}
			m, key := tt.method, tt.key
			if m == nil {
				m = jwt.SigningMethodHS256
			}
			if key == nil {
				key = testKey
			}
			assertInvalid(t, tk, mint(t, h, c, m, key))
		})
	}
	// Control: unmodified, the same token is merely expired.
	if _, err := tk.Verify(mint(t, env.header(), env.claims(), jwt.SigningMethodHS256, testKey)); !errors.Is(err, auth.ErrTokenExpired) {
		t.Fatalf("control: Verify(expired) = %v, want ErrTokenExpired", err)
	}
	// An expired token with a signature that does not verify is invalid, not expired.
	expired := mint(t, env.header(), env.claims(), jwt.SigningMethodHS256, testKey)
	assertInvalid(t, tk, expired[:len(expired)-3]+"AAA")
}

// Verify returns ErrTokenExpired at token.go:138-139, before the sub/sid/jti check at line 143, so a token
// that is expired AND carries a malformed sub, sid or jti is reported as ErrTokenExpired, though
// the doc (token.go:23-24, 129-130) promises ErrTokenExpired only for tokens "valid except for
// having expired". Only tokens signed with our key reach this (Issue does not validate its
// arguments, so Issue("", "") mints one); the client is then told to refresh rather than that the
// token is invalid.
func TestVerifyExpiredTokenWithInvalidIDsIsInvalid(t *testing.T) {
	clk := newClock(t0)
	tk := newTokens(t, clk)
	env := forgeEnv{kid: kidOf(t, mustIssue(t, tk, auth.NewID(), auth.NewID())), uid: auth.NewID(), sid: auth.NewID(), now: t0.Add(-time.Hour)}
	for _, tc := range []struct{ name, claim, value string }{
		{"sub not an id", "sub", "alice"},
		{"sid not an id", "sid", ""},
		{"jti not an id", "jti", "x"},
	} {
		c := env.claims()
		c[tc.claim] = tc.value
		tok := mint(t, env.header(), c, jwt.SigningMethodHS256, testKey)
		if _, err := tk.Verify(tok); !errors.Is(err, auth.ErrTokenInvalid) {
			t.Errorf("%s, expired: Verify = %v, want ErrTokenInvalid", tc.name, err)
		}
	}
	// Issue refuses ids that Verify would never accept.
	if _, _, err := tk.Issue("not-an-id", ""); !errors.Is(err, auth.ErrInvalidID) {
		t.Fatalf("Issue with malformed ids: %v, want ErrInvalidID", err)
	}
}

func TestVerifyAcrossConfigurations(t *testing.T) {
	clk := newClock(t0)
	base := newTokens(t, clk)
	tests := []struct {
		name  string
		other func(*auth.TokenConfig)
	}{
		{"different key", func(c *auth.TokenConfig) { c.Keys = mustRing(t, otherKey) }},
		{"different issuer, same key", func(c *auth.TokenConfig) { c.Issuer = "other" }},
		{"different audience, same key", func(c *auth.TokenConfig) { c.Audience = "other" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			other := newTokens(t, clk, tt.other)
			uid, sid := auth.NewID(), auth.NewID()
			assertInvalid(t, base, mustIssue(t, other, uid, sid))
			assertInvalid(t, other, mustIssue(t, base, uid, sid))
			if _, err := other.Verify(mustIssue(t, other, uid, sid)); err != nil {
				t.Fatalf("other config does not verify its own token: %v", err)
			}
		})
	}
}

func TestTokensConcurrentUse(t *testing.T) {
	tk := newTokens(t, newClock(t0))
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				uid, sid := auth.NewID(), auth.NewID()
				tok, _, err := tk.Issue(uid, sid)
				if err != nil {
					errs <- err
					return
				}
				c, err := tk.Verify(tok)
				if err != nil || c.UserID != uid || c.SessionID != sid {
					errs <- fmt.Errorf("Verify = %+v, %v", c, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// BenchmarkVerify measures a full verification (header, signature, claims decode), with the
// verified-token cache disabled so that every iteration pays for it.
func BenchmarkVerify(b *testing.B) {
	tk := newTokens(b, newClock(t0))
	tok := mustIssue(b, tk, auth.NewID(), auth.NewID())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tk.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyCached measures the hot path of a client that sends the same token again.
func BenchmarkVerifyCached(b *testing.B) {
	tk := newTokens(b, newClock(t0), func(c *auth.TokenConfig) { c.CacheSize = 1024 })
	tok := mustIssue(b, tk, auth.NewID(), auth.NewID())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tk.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

// TestVerifyClaimTypes: a token signed with our key is accepted only when every claim Verify
// relies on is present with the JSON type RFC 7519 gives it (exp, iat and nbf whole-second
// numbers; sub, sid, jti and iss strings; aud a string or an array of strings), each at most
// once and spelled in lower case. Anything else is ErrTokenInvalid, never a panic: a token
// without iat used to pass jwt/v5's WithIssuedAt and crash Verify on a nil *NumericDate, and
// jwt/v5's NumericDate accepts numeric strings such as "1893553745".
func TestVerifyClaimTypes(t *testing.T) {
	clk := newClock(t0)
	tk := newTokens(t, clk)
	env := forgeEnv{kid: kidOf(t, mustIssue(t, tk, auth.NewID(), auth.NewID())), uid: auth.NewID(), sid: auth.NewID(), now: t0}
	iat, exp := t0.Unix(), t0.Add(5*time.Minute).Unix()
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	set := func(k string, v any) func(map[string]any) { return func(m map[string]any) { m[k] = v } }
	del := func(k string) func(map[string]any) { return func(m map[string]any) { delete(m, k) } }
	// prepend adds a member in front of the marshalled claims, so that json.Marshal's
	// deduplication of map keys cannot hide a duplicate.
	prepend := func(member string) func([]byte) []byte {
		return func(b []byte) []byte { return append([]byte("{"+member+","), b[1:]...) }
	}
	appendMember := func(member string) func([]byte) []byte {
		return func(b []byte) []byte { return append(b[:len(b)-1:len(b)-1], []byte(","+member+"}")...) }
	}
	tests := []struct {
		name   string
		claims func(map[string]any)
		json   func([]byte) []byte
		ok     bool
	}{
		{name: "control", ok: true},
		{name: "aud as one string", claims: set("aud", "boxoffice"), ok: true},
		{name: "aud with several entries", claims: set("aud", []string{"other", "boxoffice"}), ok: true},
		{name: "nbf in the past", claims: set("nbf", iat-60), ok: true},
		{name: "nbf zero", claims: set("nbf", 0), ok: true},
		{name: "unknown claim ignored (RFC 7519 section 4)", claims: set("scope", []any{1, nil, "x"}), ok: true},
		{name: "unknown claim with escapes and nesting", claims: set("x", map[string]any{"a": []any{"\"}]", map[string]any{"b": nil}}}), ok: true},
		{name: "whitespace around members", json: func(b []byte) []byte {
			return []byte(" \n\t{ " + strings.ReplaceAll(string(b[1:len(b)-1]), ",", " ,\r\n ") + " } ")
		}, ok: true},

		{name: "iat missing", claims: del("iat")},
		{name: "iat null", claims: set("iat", nil)},
		{name: "iat numeric string", claims: set("iat", fmt.Sprint(iat))},
		{name: "iat non-numeric string", claims: set("iat", "now")},
		{name: "iat bool", claims: set("iat", true)},
		{name: "iat array", claims: set("iat", []int64{iat})},
		{name: "iat object", claims: set("iat", map[string]int64{"s": iat})},
		{name: "iat fractional", claims: set("iat", raw(fmt.Sprint(iat)+".5"))},
		{name: "iat with .0", claims: set("iat", raw(fmt.Sprint(iat)+".0"))},
		{name: "iat exponent", claims: set("iat", raw("1.8933e9"))},
		{name: "iat negative", claims: set("iat", -1)},
		{name: "iat minus zero", claims: set("iat", raw("-0"))},
		{name: "exp missing", claims: del("exp")},
		{name: "exp null", claims: set("exp", nil)},
		{name: "exp numeric string", claims: set("exp", fmt.Sprint(exp))},
		{name: "exp float", claims: set("exp", raw(fmt.Sprint(exp)+".25"))},
		{name: "exp exponent", claims: set("exp", raw("1e10"))},
		{name: "exp beyond year 9999", claims: set("exp", raw("253402300800"))},
		{name: "exp 20 digits", claims: set("exp", raw("99999999999999999999"))},
		{name: "exp 1e400", claims: set("exp", raw("1e400"))},
		{name: "exp bool", claims: set("exp", false)},
		{name: "nbf null", claims: set("nbf", nil)},
		{name: "nbf numeric string", claims: set("nbf", fmt.Sprint(iat-60))},
		{name: "nbf bool", claims: set("nbf", true)},
		{name: "nbf fractional", claims: set("nbf", raw("1.5"))},
		{name: "sub number", claims: set("sub", 12345)},
		{name: "sub null", claims: set("sub", nil)},
		{name: "sub array", claims: set("sub", []string{env.uid})},
		{name: "sid null", claims: set("sid", nil)},
		{name: "sid array", claims: set("sid", []string{env.sid})},
		{name: "jti number", claims: set("jti", 7)},
		{name: "jti null", claims: set("jti", nil)},
		{name: "iss null", claims: set("iss", nil)},
		{name: "iss number", claims: set("iss", 1)},
		{name: "iss array", claims: set("iss", []string{"boxoffice"})},
		{name: "aud number", claims: set("aud", 1)},
		{name: "aud null", claims: set("aud", nil)},
		{name: "aud bool", claims: set("aud", true)},
		{name: "aud object", claims: set("aud", map[string]string{"boxoffice": "boxoffice"})},
		{name: "aud array with a number", claims: set("aud", []any{"boxoffice", 1})},
		{name: "aud array with null", claims: set("aud", []any{"boxoffice", nil})},
		{name: "aud nested array", claims: set("aud", []any{[]string{"boxoffice"}})},
		{name: "duplicate iat, string first", json: prepend(`"iat":"x"`)},
		{name: "duplicate exp, both numbers", json: prepend(fmt.Sprintf(`"exp":%d`, exp+3600))},
		{name: "duplicate sub", json: prepend(fmt.Sprintf(`"sub":%q`, auth.NewID()))},
		{name: "duplicate aud", json: prepend(`"aud":"boxoffice"`)},
		{name: "escaped duplicate of sid", json: prepend(`"\u0073id":"x"`)},
		{name: "IAT instead of iat", claims: func(m map[string]any) { m["IAT"] = m["iat"]; delete(m, "iat") }},
		{name: "Exp instead of exp", claims: func(m map[string]any) { m["Exp"] = m["exp"]; delete(m, "exp") }},
		// encoding/json matches names case-insensitively, last one wins: "SUB" used to replace sub.
		{name: "SUB after sub is an unknown claim", json: appendMember(fmt.Sprintf(`"SUB":%q`, auth.NewID())), ok: true},
		{name: "Sid after sid is an unknown claim", json: appendMember(fmt.Sprintf(`"Sid":%q`, auth.NewID())), ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := env.claims()
			if tt.claims != nil {
				tt.claims(c)
			}
			payload, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			if tt.json != nil {
				payload = tt.json(payload)
			}
			h, _ := json.Marshal(env.header())
			tok := mintRaw(t, h, payload, jwt.SigningMethodHS256, testKey)
			if !tt.ok {
				assertInvalid(t, tk, tok)
				return
			}
			got, err := tk.Verify(tok)
			if err != nil {
				t.Fatalf("Verify(%s) = %v, want nil", payload, err)
			}
			if got.UserID != env.uid || got.SessionID != env.sid || got.IssuedAt.Unix() != iat || got.ExpiresAt.Unix() != exp {
				t.Fatalf("Verify(%s) = %+v", payload, got)
			}
		})
	}
}
