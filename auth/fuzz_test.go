package auth_test

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"boxoffice/auth"
)

// The fuzz targets use a fixed key and a fixed clock so that the committed seed corpora
// (testdata/fuzz/<FuzzName>/) keep their meaning: the valid seeds were minted with fuzzKey and
// are valid at fuzzNow.
var (
	fuzzKey    = []byte("boxoffice fuzz access-token key, 32+ bytes")
	fuzzSecret = []byte("boxoffice fuzz refresh-token secret")
	fuzzNow    = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
)

func fuzzTokens(tb testing.TB, now time.Time) *auth.Tokens {
	tk, err := auth.NewTokens(auth.TokenConfig{Key: fuzzKey, Now: func() time.Time { return now }})
	if err != nil {
		tb.Fatal(err)
	}
	return tk
}

// canonicalJWS reports whether raw is exactly three non-empty unpadded base64url segments, each
// in its unique canonical spelling.
func canonicalJWS(raw string) bool {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		b, err := base64.RawURLEncoding.Strict().DecodeString(p)
		if err != nil || p == "" || base64.RawURLEncoding.EncodeToString(b) != p {
			return false
		}
	}
	return true
}

// FuzzVerifyAccessToken: Verify never panics, fails only with ErrTokenInvalid or ErrTokenExpired
// (and then returns no claims), and accepts nothing but canonical, correctly signed tokens:
// random input never verifies, and no mutation of a valid token other than the identity does.
func FuzzVerifyAccessToken(f *testing.F) {
	tk := fuzzTokens(f, fuzzNow)
	valid, _, err := tk.Issue(auth.NewID(), auth.NewID())
	if err != nil {
		f.Fatal(err)
	}
	expired, _, _ := fuzzTokens(f, fuzzNow.Add(-time.Hour)).Issue(auth.NewID(), auth.NewID())
	f.Add(valid)
	f.Add(expired)
	f.Add("")
	f.Add("..")
	f.Add(valid + "." + valid)
	f.Add(auth.NewRefreshTokens(fuzzSecret).Encode(mustNewRefresh(f, auth.NewRefreshTokens(fuzzSecret))))

	f.Fuzz(func(t *testing.T, raw string) {
		c, err := tk.Verify(raw)
		if err != nil {
			if err != auth.ErrTokenInvalid && err != auth.ErrTokenExpired {
				t.Fatalf("Verify(%q) error = %#v, want ErrTokenInvalid or ErrTokenExpired", raw, err)
			}
			if c != (auth.Claims{}) {
				t.Fatalf("Verify(%q) returned claims with an error: %+v", raw, c)
			}
			return
		}
		if len(raw) > auth.MaxTokenBytes {
			t.Fatalf("Verify accepted a %d-byte token", len(raw))
		}
		if !canonicalJWS(raw) {
			t.Fatalf("Verify accepted a non-canonical spelling of a token: %q", raw)
		}
		if !auth.ValidID(c.UserID) || !auth.ValidID(c.SessionID) || !auth.ValidID(c.TokenID) {
			t.Fatalf("Verify(%q) returned invalid ids: %+v", raw, c)
		}
		if !c.ExpiresAt.Add(tk.Leeway()).After(fuzzNow) || c.IssuedAt.After(fuzzNow.Add(tk.Leeway())) {
			t.Fatalf("Verify(%q) accepted a token outside its validity window: %+v", raw, c)
		}
	})
}

// FuzzParseRefreshToken: Parse never panics, fails only with ErrRefreshInvalid, and accepts only
// the unique canonical encoding of an authentic token.
func FuzzParseRefreshToken(f *testing.F) {
	rt := auth.NewRefreshTokens(fuzzSecret)
	tok := mustNewRefresh(f, rt)
	f.Add(rt.Encode(tok))
	f.Add(rt.Encode(rt.Next(tok)))
	f.Add(auth.RefreshPrefix)
	f.Add(auth.RefreshPrefix + strings.Repeat("A", auth.RefreshTokenLen-len(auth.RefreshPrefix)))

	f.Fuzz(func(t *testing.T, s string) {
		got, err := rt.Parse(s)
		if err != nil {
			if err != auth.ErrRefreshInvalid {
				t.Fatalf("Parse(%q) error = %#v, want ErrRefreshInvalid", s, err)
			}
			if got.UserID != "" || got.SessionID != "" {
				t.Fatalf("Parse(%q) returned ids with an error: %+v", s, got)
			}
			return
		}
		if len(s) != auth.RefreshTokenLen || !strings.HasPrefix(s, auth.RefreshPrefix) {
			t.Fatalf("Parse accepted %q of length %d", s, len(s))
		}
		if enc := rt.Encode(got); enc != s {
			t.Fatalf("Parse accepted a non-canonical spelling %q of %q", s, enc)
		}
		if !auth.ValidID(got.UserID) || !auth.ValidID(got.SessionID) {
			t.Fatalf("Parse(%q) returned invalid ids %+v", s, got)
		}
		if h := got.Hash(); len(h) != 64 {
			t.Fatalf("Hash = %q", h)
		}
		next := rt.Next(got)
		if p, err := rt.Parse(rt.Encode(next)); err != nil || p.Hash() != next.Hash() || next.Hash() == got.Hash() {
			t.Fatalf("successor of %q does not round-trip or equals it: %v", s, err)
		}
	})
}

var usernameErrors = []error{auth.ErrUsernameLength, auth.ErrUsernameChars, auth.ErrUsernameScripts, auth.ErrUsernameEdge}

// FuzzCanonicalUsername: CanonicalUsername never panics, fails only with its documented errors,
// and its results are well-formed fixed points (canonicalising a canonical name returns it).
func FuzzCanonicalUsername(f *testing.F) {
	for _, s := range []string{"alice", "Ａｌｉｃｅ", "\u0430lice", "Straße"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := auth.CanonicalUsername(s)
		if err != nil {
			known := false
			for _, e := range usernameErrors {
				known = known || err == e
			}
			if !known || c != "" {
				t.Fatalf("CanonicalUsername(%q) = %q, %#v", s, c, err)
			}
			return
		}
		if !utf8.ValidString(c) {
			t.Fatalf("CanonicalUsername(%q) = %q: invalid UTF-8", s, c)
		}
		if n := utf8.RuneCountInString(c); n < auth.UsernameMinLen || n > auth.UsernameMaxLen {
			t.Fatalf("CanonicalUsername(%q) = %q: %d runes", s, c, n)
		}
		for _, r := range c {
			if unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '{' || r == '}' {
				t.Fatalf("CanonicalUsername(%q) = %q contains %U", s, c, r)
			}
		}
		again, err := auth.CanonicalUsername(c)
		if err != nil || again != c {
			t.Fatalf("not idempotent: CanonicalUsername(%q) = %q; CanonicalUsername(%q) = %q, %v", s, c, c, again, err)
		}
		if padded, err := auth.CanonicalUsername(" " + c + "\t"); err != nil || padded != c {
			t.Fatalf("surrounding space changes %q to %q, %v", c, padded, err)
		}
	})
}

// FuzzCleanDisplayName: CleanDisplayName never panics, fails only with ErrDisplayName, and its
// results are printable, at most 64 runes, NFC and fixed points.
func FuzzCleanDisplayName(f *testing.F) {
	for _, s := range []string{"Alice Smith", "Alice\u202Eevil", "Jose\u0301", " x "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := auth.CleanDisplayName(s)
		if err != nil {
			if !errors.Is(err, auth.ErrDisplayName) || c != "" {
				t.Fatalf("CleanDisplayName(%q) = %q, %v", s, c, err)
			}
			return
		}
		if !utf8.ValidString(c) || utf8.RuneCountInString(c) > auth.DisplayNameMaxLen {
			t.Fatalf("CleanDisplayName(%q) = %q: invalid or too long", s, c)
		}
		if c != strings.TrimSpace(c) {
			t.Fatalf("CleanDisplayName(%q) = %q: not trimmed", s, c)
		}
		for _, r := range c {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || (!unicode.IsPrint(r) && r != ' ') {
				t.Fatalf("CleanDisplayName(%q) = %q contains %U", s, c, r)
			}
		}
		if again, err := auth.CleanDisplayName(c); err != nil || again != c {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", s, c, again, err)
		}
	})
}

// readSeed reads a one-string seed file written in the "go test fuzz v1" format.
func readSeed(t *testing.T, fuzzName, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "fuzz", fuzzName, file))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || lines[0] != "go test fuzz v1" || !strings.HasPrefix(lines[1], "string(") {
		t.Fatalf("%s/%s: unexpected seed format %q", fuzzName, file, b)
	}
	s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "string("), ")"))
	if err != nil {
		t.Fatalf("%s/%s: %v", fuzzName, file, err)
	}
	return s
}

// The committed seeds keep their meaning: the valid ones still verify under the fuzz targets'
// fixed key and clock and the others fail for the reason their name gives.
func TestFuzzSeedCorpora(t *testing.T) {
	tk := fuzzTokens(t, fuzzNow)
	for file, want := range map[string]error{
		"valid": nil, "expired": auth.ErrTokenExpired, "alg_none": auth.ErrTokenInvalid,
		"alg_hs512_same_key": auth.ErrTokenInvalid, "typ_jwt": auth.ErrTokenInvalid,
		"crit_header": auth.ErrTokenInvalid, "jku_header": auth.ErrTokenInvalid,
		"sub_not_an_id": auth.ErrTokenInvalid, "wrong_aud": auth.ErrTokenInvalid,
		"null_payload": auth.ErrTokenInvalid, "sig_trailing_bits": auth.ErrTokenInvalid,
		"leading_space": auth.ErrTokenInvalid, "refresh_token": auth.ErrTokenInvalid,
	} {
		if _, err := tk.Verify(readSeed(t, "FuzzVerifyAccessToken", file)); err != want {
			t.Errorf("FuzzVerifyAccessToken/%s: Verify = %v, want %v", file, err, want)
		}
	}
	rt := auth.NewRefreshTokens(fuzzSecret)
	for file, want := range map[string]error{
		"valid": nil, "successor": nil, "other_secret": auth.ErrRefreshInvalid,
		"flipped_char": auth.ErrRefreshInvalid, "trailing_bits": auth.ErrRefreshInvalid,
		"access_token": auth.ErrRefreshInvalid, "padding": auth.ErrRefreshInvalid,
	} {
		if _, err := rt.Parse(readSeed(t, "FuzzParseRefreshToken", file)); err != want {
			t.Errorf("FuzzParseRefreshToken/%s: Parse = %v, want %v", file, err, want)
		}
	}
}
