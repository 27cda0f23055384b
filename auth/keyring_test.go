package auth_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"boxoffice/auth"
)

// mustRing returns the key ring of current and previous, failing the test on an error.
func mustRing(tb testing.TB, current []byte, previous ...[]byte) *auth.KeyRing {
	tb.Helper()
	r, err := auth.NewKeyRing(current, previous...)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// TestNewKeyRingKeyLength: every secret, current or previous, must have MinKeyBytes; the error
// wraps ErrKeyTooShort and names the secret by its place, not its content.
func TestNewKeyRingKeyLength(t *testing.T) {
	good := []byte("a-good-secret-of-more-than-32-bytes")
	for _, tt := range []struct {
		name     string
		current  []byte
		previous [][]byte
		ok       bool
		names    string // the error names this secret
	}{
		{"nil", nil, nil, false, "the current secret"},
		{"empty", []byte{}, nil, false, "the current secret"},
		{"31 bytes", []byte(strings.Repeat("k", 31)), nil, false, "the current secret"},
		{"32 bytes", make([]byte, 32), nil, true, ""},
		{"64 bytes", make([]byte, 64), nil, true, ""},
		{"short previous", good, [][]byte{good, []byte("short-previous")}, false, "previous secret 2"},
		{"empty previous", good, [][]byte{{}}, false, "previous secret 1"},
		{"previous ok", good, [][]byte{make([]byte, 32)}, true, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := auth.NewKeyRing(tt.current, tt.previous...)
			if tt.ok != (err == nil) || tt.ok != (r != nil) {
				t.Fatalf("NewKeyRing = %v, %v; want ok=%v", r, err, tt.ok)
			}
			if tt.ok {
				return
			}
			if !errors.Is(err, auth.ErrKeyTooShort) || !strings.Contains(err.Error(), tt.names) {
				t.Errorf("error %q: want ErrKeyTooShort naming %s", err, tt.names)
			}
			if strings.Contains(err.Error(), "short-previous") || strings.Contains(err.Error(), "kkkk") {
				t.Errorf("error %q shows a secret", err)
			}
		})
	}
	if tk, err := auth.NewTokens(auth.TokenConfig{}); err == nil || tk != nil {
		t.Errorf("NewTokens without Keys = %v, %v; want an error", tk, err)
	}
	if tk, err := auth.NewTokens(auth.TokenConfig{Keys: &auth.KeyRing{}}); err == nil || tk != nil {
		t.Errorf("NewTokens with an empty KeyRing = %v, %v; want an error", tk, err)
	}
}

// TestTokenKindsPrintNoSecret: no kind of token prints its keys, whatever the verb.
func TestTokenKindsPrintNoSecret(t *testing.T) {
	secret := []byte("the-secret-that-must-never-be-printed")
	ring := mustRing(t, secret)
	tk, err := auth.NewTokens(auth.TokenConfig{Keys: ring})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []any{tk, auth.NewRefreshTokens(ring), auth.NewDeviceTokens(ring), auth.NewCSRF(ring), ring} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			if out := fmt.Sprintf(verb, v); strings.Contains(out, "never-be-printed") || strings.Contains(out, fmt.Sprint(secret[:8])) {
				t.Errorf("%T printed with %s shows the secret: %s", v, verb, out)
			}
		}
	}
}

// TestKeyRingIsolation: the ring keeps its own copies of the secrets, prints none of them, and
// a missing ring is a wiring bug that fails at construction.
func TestKeyRingIsolation(t *testing.T) {
	secret := []byte("a-secret-the-caller-later-overwrites")
	r := mustRing(t, secret)
	sid := auth.NewID()
	csrf := auth.NewCSRF(r)
	tok := csrf.Token(sid)
	for i := range secret {
		secret[i] = 0
	}
	if !csrf.Valid(sid, tok) || auth.NewCSRF(r).Token(sid) != tok {
		t.Error("overwriting the caller's secret changed the ring")
	}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{r, *r} {
			if s := fmt.Sprintf(f, v); strings.Contains(s, "a-secret") || !strings.Contains(s, "1 secrets") {
				t.Errorf("Sprintf(%q, %T) = %q", f, v, s)
			}
		}
	}
	for name, mk := range map[string]func(*auth.KeyRing){
		"NewCSRF":          func(r *auth.KeyRing) { auth.NewCSRF(r) },
		"NewDeviceTokens":  func(r *auth.KeyRing) { auth.NewDeviceTokens(r) },
		"NewRefreshTokens": func(r *auth.KeyRing) { auth.NewRefreshTokens(r) },
	} {
		for _, bad := range []*auth.KeyRing{nil, {}} {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("%s(%#v) did not panic", name, bad)
					}
				}()
				mk(bad)
			}()
		}
	}
}

// Golden values minted by the code before KeyRing existed (auth.NewTokens with
// TokenConfig.Key/PreviousKeys, NewRefreshTokens(secret, previous...), NewDeviceTokens and
// NewCSRF likewise), with these secrets and ids, at goldenNow.
var (
	goldenCurrent  = []byte("golden-current-secret-0123456789abcdef")
	goldenPrevious = []byte("golden-previous-secret-0123456789abcde")
	goldenUser     = "aaaaaaaaaaaaaaaaaaaaaaaaaa"
	goldenSession  = "bbbbbbbbbbbbbbbbbbbbbbbbba"
	goldenMovedTo  = "ccccccccccccccccccccccccca"
	goldenHash     = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"
	goldenNow      = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

	// Access tokens signed with the current secret, and with the previous one (then current).
	goldenAccess         = "eyJhbGciOiJIUzI1NiIsImtpZCI6InpHSFNseHVrZ0RoeSIsInR5cCI6ImF0K2p3dCJ9.eyJpc3MiOiJib3hvZmZpY2UiLCJzdWIiOiJhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYSIsImF1ZCI6WyJib3hvZmZpY2UiXSwiZXhwIjoxODkzNTUzNzQ1LCJpYXQiOjE4OTM1NTM0NDUsImp0aSI6InQ0ZGxuN2x2aDQzYTZ0b2FqbWVzbng3aWxxIiwic2lkIjoiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmEifQ.Gze2Ud-KKgaW6pMXi3hcPxr-WR2Yh3CC8S4QXV2qmsU"
	goldenAccessJTI      = "t4dln7lvh43a6toajmesnx7ilq"
	goldenAccessPrevious = "eyJhbGciOiJIUzI1NiIsImtpZCI6IlZUX2ZkdGF6bGR5dSIsInR5cCI6ImF0K2p3dCJ9.eyJpc3MiOiJib3hvZmZpY2UiLCJzdWIiOiJhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYSIsImF1ZCI6WyJib3hvZmZpY2UiXSwiZXhwIjoxODkzNTUzNzQ1LCJpYXQiOjE4OTM1NTM0NDUsImp0aSI6Inh3Mm5oazRmYzJyMzd2aDNzNnk0ejNkendlIiwic2lkIjoiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmEifQ.4VjJNAeljadxKqVjOKnp9caU_AzCRm5ujTljo5ct_8Q"

	// A refresh token tagged with the current secret's key and its successor; one tagged with
	// the previous secret's key and the successor a ring of both derives from it; the token
	// Reissued(goldenUser, goldenSession, goldenMovedTo, goldenHash) encodes to.
	goldenRefresh             = "bxr_AAAAAAAAAAAAAAAAAAAAAAhCEIQhCEIQhCEIQhCEIQg_fl1FhnixhEYotPjHnCVRID_l-Bb9sPA9LLE4aqZsS0ylvrvT1gtraKKVqBddru4"
	goldenRefreshNext         = "bxr_AAAAAAAAAAAAAAAAAAAAAAhCEIQhCEIQhCEIQhCEIQhapvWh9ADdA1rj5DLuGs1zimzoW8WYQM-GbLrWSgbrWyeIwYHpdJgDyHkvum36Chs"
	goldenRefreshPrevious     = "bxr_AAAAAAAAAAAAAAAAAAAAAAhCEIQhCEIQhCEIQhCEIQgXbr9a9qLnyUqz95aQRytlpQCYFh0emWZBcXurEuJ76ZEQKEiNKLo6NTI3APl_mvg"
	goldenRefreshPreviousNext = "bxr_AAAAAAAAAAAAAAAAAAAAAAhCEIQhCEIQhCEIQhCEIQhd7XRp3azcBchiRGeZU6ZpYxVEcKvXGtVjVKPQL1KW_YPlsYG9lNNf4nUomkWv00w"
	goldenReissued            = "bxr_AAAAAAAAAAAAAAAAAAAAABCEIQhCEIQhCEIQhCEIQhAsj-TAD7E0i6bM5m60vHnkKVwc5ZQFAT25ILKNwWYMbWQiphT03o9fVBzCqSuZQCY"

	goldenDevice         = "bxd_AAAAAAAAAAAAAAAAAAAAAEx6shj7kg7Z0sfaSuKni4SxEZe0b8kXlrQEnwgUGkkO"
	goldenDevicePrevious = "bxd_AAAAAAAAAAAAAAAAAAAAAFeqmfIDAjFeEmjjjjsEmTtKSY6n2ThX87prCXuPEjmO"

	goldenCSRF         = "20EkYbhRRqkKeHH255Z2LbHC0C0QwFWMgu21KmRWGDM" // of goldenSession
	goldenCSRFPrevious = "fMwswyGwOJDp9LmRYh8NysLfRGBAQzp_w7skcoyFW60"
)

// TestTokensIssuedBeforeKeyRing: tokens minted before the key ring existed verify with it, in
// either place of the ring, and what it issues now is keyed exactly as before (same kid, same
// HS256 key, same derived keys), so a rolling deploy mixes old and new instances safely.
func TestTokensIssuedBeforeKeyRing(t *testing.T) {
	ring := mustRing(t, goldenCurrent, goldenPrevious)
	swapped := mustRing(t, goldenPrevious, goldenCurrent)
	other := mustRing(t, []byte("a-secret-neither-golden-token-knows"))
	now := func() time.Time { return goldenNow }

	t.Run("access", func(t *testing.T) {
		for _, r := range []*auth.KeyRing{ring, swapped} {
			tk, err := auth.NewTokens(auth.TokenConfig{Keys: r, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			c, err := tk.Verify(goldenAccess)
			if err != nil || c.UserID != goldenUser || c.SessionID != goldenSession || c.TokenID != goldenAccessJTI {
				t.Errorf("Verify(golden) = %+v, %v", c, err)
			}
			if _, err := tk.Verify(goldenAccessPrevious); err != nil {
				t.Errorf("Verify(golden, previous secret) = %v", err)
			}
		}
		tk, _ := auth.NewTokens(auth.TokenConfig{Keys: other, Now: now})
		if _, err := tk.Verify(goldenAccess); !errors.Is(err, auth.ErrTokenInvalid) {
			t.Errorf("another ring verified the golden token: %v", err)
		}
		// Issued now: the golden header (kid and all), signed with the current secret itself.
		tk, _ = auth.NewTokens(auth.TokenConfig{Keys: ring, Now: now})
		s := mustIssue(t, tk, goldenUser, goldenSession)
		parts := strings.Split(s, ".")
		if want := strings.SplitN(goldenAccess, ".", 2)[0]; parts[0] != want {
			t.Errorf("header %s, want %s", parts[0], want)
		}
		sig, _ := jwt.NewParser().DecodeSegment(parts[2])
		if err := jwt.SigningMethodHS256.Verify(parts[0]+"."+parts[1], sig, goldenCurrent); err != nil {
			t.Errorf("a new token is not signed with the current secret: %v", err)
		}
	})

	t.Run("refresh", func(t *testing.T) {
		rt := auth.NewRefreshTokens(ring)
		tok, err := rt.Parse(goldenRefresh)
		if err != nil || tok.UserID != goldenUser || tok.SessionID != goldenSession {
			t.Fatalf("Parse(golden) = %+v, %v", tok, err)
		}
		if got := rt.Encode(tok); got != goldenRefresh {
			t.Errorf("Encode(Parse(golden)) = %s", got)
		}
		if got := rt.Encode(rt.Next(tok)); got != goldenRefreshNext {
			t.Errorf("successor %s, want %s", got, goldenRefreshNext)
		}
		prev, err := rt.Parse(goldenRefreshPrevious)
		if err != nil {
			t.Fatalf("Parse(golden, previous secret) = %v", err)
		}
		if got := rt.Encode(rt.Next(prev)); got != goldenRefreshPreviousNext {
			t.Errorf("successor of the previous secret's token %s, want %s", got, goldenRefreshPreviousNext)
		}
		re, err := rt.Reissued(goldenUser, goldenSession, goldenMovedTo, goldenHash)
		if err != nil || rt.Encode(re) != goldenReissued {
			t.Errorf("Reissued = %s, %v; want %s", rt.Encode(re), err, goldenReissued)
		}
		if _, err := auth.NewRefreshTokens(mustRing(t, goldenCurrent)).Parse(goldenRefreshPrevious); !errors.Is(err, auth.ErrRefreshInvalid) {
			t.Errorf("a ring without the previous secret parsed its token: %v", err)
		}
		if _, err := auth.NewRefreshTokens(swapped).Parse(goldenRefresh); err != nil {
			t.Errorf("Parse(golden) with the secrets swapped = %v", err)
		}
	})

	t.Run("device", func(t *testing.T) {
		d := auth.NewDeviceTokens(ring)
		for _, tok := range []string{goldenDevice, goldenDevicePrevious} {
			if uid, ok := d.User(tok); !ok || uid != goldenUser {
				t.Errorf("User(%s) = %q, %v", tok, uid, ok)
			}
		}
		if _, ok := auth.NewDeviceTokens(other).User(goldenDevice); ok {
			t.Error("another ring accepted the golden device token")
		}
	})

	t.Run("csrf", func(t *testing.T) {
		c := auth.NewCSRF(ring)
		if got := c.Token(goldenSession); got != goldenCSRF {
			t.Errorf("Token = %s, want %s", got, goldenCSRF)
		}
		if !c.Valid(goldenSession, goldenCSRFPrevious) || !auth.NewCSRF(swapped).Valid(goldenSession, goldenCSRF) {
			t.Error("a golden CSRF token is refused")
		}
		if got := auth.NewCSRF(swapped).Token(goldenSession); got != goldenCSRFPrevious {
			t.Errorf("Token with the previous secret current = %s, want %s", got, goldenCSRFPrevious)
		}
	})
}
