package auth_test

import (
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"

	"boxoffice/auth"
)

var refreshSecret = []byte("deployment secret for refresh tokens, 32+ bytes")

func mustNewRefresh(t testing.TB, rt *auth.RefreshTokens) auth.RefreshToken {
	t.Helper()
	tok, err := rt.New(auth.NewID(), auth.NewID())
	if err != nil {
		t.Fatalf("RefreshTokens.New: %v", err)
	}
	return tok
}

var (
	refreshPattern = regexp.MustCompile(`^bxr_[A-Za-z0-9_-]+$`)
	hexHash        = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

func TestRefreshTokenLen(t *testing.T) {
	// 16 + 16 + 32 + 16 = 80 bytes -> 107 base64url characters, plus "bxr_".
	if auth.RefreshTokenLen != 111 {
		t.Fatalf("RefreshTokenLen = %d, want 111", auth.RefreshTokenLen)
	}
	if auth.RefreshPrefix != "bxr_" {
		t.Fatalf("RefreshPrefix = %q", auth.RefreshPrefix)
	}
}

func TestRefreshNewEncodeParseRoundTrip(t *testing.T) {
	rt := auth.NewRefreshTokens(mustRing(t, refreshSecret))
	for range 200 {
		uid, sid := auth.NewID(), auth.NewID()
		tok, err := rt.New(uid, sid)
		if err != nil {
			t.Fatal(err)
		}
		if tok.UserID != uid || tok.SessionID != sid {
			t.Fatalf("New: ids %q/%q, want %q/%q", tok.UserID, tok.SessionID, uid, sid)
		}
		s := rt.Encode(tok)
		if len(s) != auth.RefreshTokenLen {
			t.Fatalf("Encode length %d, want %d: %q", len(s), auth.RefreshTokenLen, s)
		}
		if !refreshPattern.MatchString(s) {
			t.Fatalf("Encode = %q: not bxr_ + unpadded base64url", s)
		}
		if rt.Encode(tok) != s {
			t.Fatalf("Encode not deterministic")
		}
		got, err := rt.Parse(s)
		if err != nil {
			t.Fatalf("Parse(Encode(t)) = %v", err)
		}
		if got.UserID != uid || got.SessionID != sid || got.Hash() != tok.Hash() {
			t.Fatalf("Parse(Encode(t)) = %+v, want ids %q/%q and same hash", got, uid, sid)
		}
		if rt.Encode(got) != s {
			t.Fatalf("Encode(Parse(s)) != s")
		}
	}
}

func TestRefreshNewRejectsInvalidIDs(t *testing.T) {
	rt := auth.NewRefreshTokens(mustRing(t, refreshSecret))
	good := auth.NewID()
	for _, tc := range []struct{ uid, sid string }{
		{"", good}, {good, ""}, {"alice", good}, {good, strings.ToUpper(good)}, {good, good[:25] + "b"}, {good + "a", good},
	} {
		if _, err := rt.New(tc.uid, tc.sid); !errors.Is(err, auth.ErrInvalidID) {
			t.Errorf("New(%q, %q) = %v, want ErrInvalidID", tc.uid, tc.sid, err)
		}
	}
}

func TestRefreshHash(t *testing.T) {
	rt := auth.NewRefreshTokens(mustRing(t, refreshSecret))
	a, b := mustNewRefresh(t, rt), mustNewRefresh(t, rt)
	ha := a.Hash()
	if !hexHash.MatchString(ha) {
		t.Fatalf("Hash = %q, want 64 lowercase hex chars", ha)
	}
	if a.Hash() != ha {
		t.Fatal("Hash not stable")
	}
	if p, _ := rt.Parse(rt.Encode(a)); p.Hash() != ha {
		t.Fatal("Hash differs after Encode/Parse")
	}
	if b.Hash() == ha {
		t.Fatal("two fresh tokens share a hash")
	}
	if rt.Next(a).Hash() == ha {
		t.Fatal("successor shares its predecessor's hash")
	}
	// The hash depends only on the secret: it does not reveal or embed the ids or the token.
	s := rt.Encode(a)
	if strings.Contains(ha, a.UserID) || strings.Contains(s, ha) {
		t.Fatal("hash leaks token contents")
	}
}

func TestRefreshNext(t *testing.T) {
	rt := auth.NewRefreshTokens(mustRing(t, refreshSecret))
	same := auth.NewRefreshTokens(mustRing(t, refreshSecret)) // another process with the same deployment secret
	other := auth.NewRefreshTokens(mustRing(t, otherKey))
	tok := mustNewRefresh(t, rt)

	n1 := rt.Next(tok)
	if n1.UserID != tok.UserID || n1.SessionID != tok.SessionID {
		t.Fatalf("Next changed ids: %+v -> %+v", tok, n1)
	}
	if n1.Hash() == tok.Hash() || rt.Encode(n1) == rt.Encode(tok) {
		t.Fatal("Next(t) equals t")
	}
	if again := rt.Next(tok); again.Hash() != n1.Hash() || rt.Encode(again) != rt.Encode(n1) {
		t.Fatal("Next not deterministic")
	}
	if s := same.Next(tok); s.Hash() != n1.Hash() {
		t.Fatal("Next differs between instances with the same secret")
	}
	parsed, err := rt.Parse(rt.Encode(tok))
	if err != nil {
		t.Fatal(err)
	}
	if rt.Next(parsed).Hash() != n1.Hash() {
		t.Fatal("Next differs for a token that went through Encode/Parse (a retried rotation)")
	}
	if o := other.Next(tok); o.Hash() == n1.Hash() {
		t.Fatal("Next does not depend on the deployment secret")
	}
	// The successor encodes, parses and is authentic.
	p1, err := rt.Parse(rt.Encode(n1))
	if err != nil || p1.Hash() != n1.Hash() {
		t.Fatalf("Parse(Encode(Next(t))) = %v", err)
	}
	if _, err := other.Parse(rt.Encode(n1)); !errors.Is(err, auth.ErrRefreshInvalid) {
		t.Fatalf("other deployment parses our successor: %v", err)
	}

	// Chains never cycle back within a reasonable length and every link is distinct.
	seen := map[string]bool{tok.Hash(): true}
	cur := tok
	for i := range 100 {
		cur = rt.Next(cur)
		if seen[cur.Hash()] {
			t.Fatalf("chain repeats at step %d", i+1)
		}
		seen[cur.Hash()] = true
	}

	// Successors of different tokens of the same session differ.
	tok2, _ := rt.New(tok.UserID, tok.SessionID)
	if rt.Next(tok2).Hash() == n1.Hash() {
		t.Fatal("two tokens of a session share a successor")
	}
}

func TestRefreshParseRejects(t *testing.T) {
	rt := auth.NewRefreshTokens(mustRing(t, refreshSecret))
	tok := mustNewRefresh(t, rt)
	s := rt.Encode(tok)
	body := s[len(auth.RefreshPrefix):]
	raw, err := base64.RawURLEncoding.Strict().DecodeString(body)
	if err != nil || len(raw) != 80 {
		t.Fatalf("decode own token: %d bytes, %v", len(raw), err)
	}
	enc := func(b []byte) string { return auth.RefreshPrefix + base64.RawURLEncoding.EncodeToString(b) }
	replaceAt := func(i int, c string) string { return s[:i] + c + s[i+1:] }
	swapped := append(append(append([]byte{}, raw[16:32]...), raw[:16]...), raw[32:]...)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	lastIdx := strings.IndexByte(alphabet, s[len(s)-1])

	other, err := auth.NewRefreshTokens(mustRing(t, otherKey)).New(tok.UserID, tok.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	access := mustIssue(t, newTokens(t, newClock(t0)), tok.UserID, tok.SessionID)

	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"prefix only", auth.RefreshPrefix},
		{"no prefix", body},
		{"no prefix same length", "AAAA" + body},
		{"wrong prefix", "bxa_" + body},
		{"uppercase prefix", "BXR_" + body},
		{"prefix without underscore", "bxr-" + body},
		{"too short by one", s[:len(s)-1]},
		{"too long by one", s + "A"},
		{"too long by four", s + "AAAA"},
		{"padding appended", s + "="},
		{"padding replaces last char", replaceAt(len(s)-1, "=")},
		{"padding replaces two chars", s[:len(s)-2] + "=="},
		{"std alphabet plus", replaceAt(20, "+")},
		{"std alphabet slash", replaceAt(20, "/")},
		{"dot", replaceAt(20, ".")},
		{"space", replaceAt(20, " ")},
		{"newline replaces char", replaceAt(20, "\n")},
		{"carriage return replaces char", replaceAt(20, "\r")},
		{"NUL", replaceAt(20, "\x00")},
		{"non-ascii byte", replaceAt(20, "\xc3")},
		{"trailing bits set in last char", replaceAt(len(s)-1, string(alphabet[lastIdx|1]))},
		{"trailing bits set (2)", replaceAt(len(s)-1, string(alphabet[lastIdx|2]))},
		{"user and session swapped", enc(swapped)},
		{"zero tag", enc(append(append([]byte{}, raw[:64]...), make([]byte, 16)...))},
		{"all zero body", enc(make([]byte, 80))},
		{"minted by a different secret", auth.NewRefreshTokens(mustRing(t, otherKey)).Encode(other)},
		{"different secret, same ids", auth.NewRefreshTokens(mustRing(t, []byte("yet another deployment secret, 32+ bytes"))).Encode(other)},
		{"access token", access},
		{"an id", auth.NewID()},
		{"encoded zero token", rt.Encode(auth.RefreshToken{})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := rt.Parse(tt.in)
			if !errors.Is(err, auth.ErrRefreshInvalid) {
				t.Fatalf("Parse(%q) = %+v, %v; want ErrRefreshInvalid", tt.in, got, err)
			}
			if got.UserID != "" || got.SessionID != "" {
				t.Fatalf("Parse(%q) returned ids %+v along with an error", tt.in, got)
			}
		})
	}
}

func TestRefreshParseRejectsEveryBitFlip(t *testing.T) {
	rt := auth.NewRefreshTokens(mustRing(t, refreshSecret))
	s := rt.Encode(mustNewRefresh(t, rt))
	raw, err := base64.RawURLEncoding.Strict().DecodeString(s[len(auth.RefreshPrefix):])
	if err != nil {
		t.Fatal(err)
	}
	// Every bit of user id, session id, secret and tag is authenticated.
	for i := range len(raw) * 8 {
		b := append([]byte{}, raw...)
		b[i/8] ^= 1 << (7 - i%8)
		flipped := auth.RefreshPrefix + base64.RawURLEncoding.EncodeToString(b)
		if _, err := rt.Parse(flipped); !errors.Is(err, auth.ErrRefreshInvalid) {
			t.Fatalf("bit %d (byte %d) flipped: Parse = %v, want ErrRefreshInvalid", i, i/8, err)
		}
	}
	// And every character position, replaced by any other alphabet character.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := len(auth.RefreshPrefix); i < len(s); i++ {
		for _, c := range []byte(alphabet) {
			if c == s[i] {
				continue
			}
			mod := s[:i] + string(c) + s[i+1:]
			if _, err := rt.Parse(mod); !errors.Is(err, auth.ErrRefreshInvalid) {
				t.Fatalf("char %d replaced by %q: Parse = %v, want ErrRefreshInvalid", i, c, err)
			}
		}
	}
}

func TestRefreshTokenIsNotAnAccessToken(t *testing.T) {
	rt := auth.NewRefreshTokens(mustRing(t, testKey)) // even with the same key material
	tk := newTokens(t, newClock(t0))
	r := mustNewRefresh(t, rt)
	assertInvalid(t, tk, rt.Encode(r))
	assertInvalid(t, tk, rt.Encode(rt.Next(r)))
	if _, err := rt.Parse(mustIssue(t, tk, r.UserID, r.SessionID)); !errors.Is(err, auth.ErrRefreshInvalid) {
		t.Fatalf("access token parsed as refresh token: %v", err)
	}
}

func TestRefreshConcurrentUse(t *testing.T) {
	rt := auth.NewRefreshTokens(mustRing(t, refreshSecret))
	base := mustNewRefresh(t, rt)
	want := rt.Next(base).Hash()
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				p, err := rt.Parse(rt.Encode(base))
				if err != nil {
					errs <- err
					return
				}
				if rt.Next(p).Hash() != want {
					errs <- errors.New("successor differs under concurrency")
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
