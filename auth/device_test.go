package auth_test

import (
	"strings"
	"testing"

	"boxoffice/auth"
)

func TestDeviceTokens(t *testing.T) {
	key := []byte("device-test-secret-0123456789abcdef")
	old := []byte("device-test-previous-0123456789abcd")
	d := auth.NewDeviceTokens(mustRing(t, key, old))
	uid := auth.NewID()
	tok, err := d.Issue(uid)
	if err != nil || !strings.HasPrefix(tok, auth.DevicePrefix) || len(tok) != len(auth.DevicePrefix)+64 {
		t.Fatalf("Issue = %q, %v", tok, err)
	}
	if got, ok := d.User(tok); !ok || got != uid {
		t.Fatalf("User(issued) = %q, %v", got, ok)
	}
	if again, _ := d.Issue(uid); again == tok {
		t.Fatal("two device tokens of one user are equal")
	}
	if _, err := d.Issue("not-an-id"); err == nil {
		t.Fatal("Issue accepted a malformed user id")
	}
	// Issued with the previous key (before a rotation): still recognised.
	if got, ok := d.User(mustIssueDevice(t, auth.NewDeviceTokens(mustRing(t, old)), uid)); !ok || got != uid {
		t.Fatalf("token of the previous key: %q, %v", got, ok)
	}
	mid := len(auth.DevicePrefix) + 20 // inside the user id
	flip := map[bool]string{true: "B", false: "A"}[tok[mid] == 'A']
	for name, bad := range map[string]string{
		"empty":           "",
		"no prefix":       tok[len(auth.DevicePrefix):],
		"refresh prefix":  "bxr_" + tok[len(auth.DevicePrefix):],
		"another user":    tok[:mid] + flip + tok[mid+1:],
		"truncated":       tok[:len(tok)-1],
		"extended":        tok + "A",
		"padding":         tok[:len(tok)-2] + "==",
		"another key":     mustIssueDevice(t, auth.NewDeviceTokens(mustRing(t, []byte("someone-elses-secret-0123456789abcd"))), uid),
		"refresh token":   "bxr_" + strings.Repeat("A", 107),
		"non-base64 char": tok[:len(tok)-1] + "!",
	} {
		if got, ok := d.User(bad); ok {
			t.Errorf("%s: accepted as a device token of %q", name, got)
		}
	}
}

func mustIssueDevice(t *testing.T, d *auth.DeviceTokens, uid string) string {
	t.Helper()
	tok, err := d.Issue(uid)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestRefreshSuccessorAndReissued: Successor walks the same chain as repeated Next, and the first
// token of a session moved by a password change is derived: the same inputs give the same
// token, any other input another one.
func TestRefreshSuccessorAndReissued(t *testing.T) {
	rt := auth.NewRefreshTokens(mustRing(t, []byte("refresh-test-secret-0123456789abcdef")))
	uid, sid := auth.NewID(), auth.NewID()
	t0, err := rt.New(uid, sid)
	if err != nil {
		t.Fatal(err)
	}
	if rt.Successor(t0, 0).Hash() != t0.Hash() || rt.Successor(t0, 2).Hash() != rt.Next(rt.Next(t0)).Hash() {
		t.Fatal("Successor does not follow Next")
	}
	nsid := auth.NewID()
	a, err := rt.Reissued(uid, sid, nsid, "hash-1")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := rt.Reissued(uid, sid, nsid, "hash-1"); rt.Encode(b) != rt.Encode(a) || b.SessionID != nsid || b.UserID != uid {
		t.Fatal("Reissued is not deterministic")
	}
	for _, other := range [][4]string{{uid, sid, nsid, "hash-2"}, {uid, nsid, sid, "hash-1"}, {uid, sid, auth.NewID(), "hash-1"}} {
		if b, err := rt.Reissued(other[0], other[1], other[2], other[3]); err != nil || b.Hash() == a.Hash() {
			t.Fatalf("Reissued(%v) gave the same secret (%v)", other, err)
		}
	}
	if p, err := rt.Parse(rt.Encode(a)); err != nil || p.Hash() != a.Hash() {
		t.Fatalf("a reissued token does not parse back: %v", err)
	}
	if _, err := rt.Reissued(uid, "bad", nsid, "h"); err == nil {
		t.Fatal("Reissued accepted a malformed id")
	}
}
