package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
)

// RefreshPrefix starts every refresh token, so that scanners and people recognise one.
const RefreshPrefix = "bxr_"

const (
	refreshSecretLen = 32
	refreshTagLen    = 16
	refreshRawLen    = 16 + 16 + refreshSecretLen + refreshTagLen
	// RefreshTokenLen is the exact length of every refresh token.
	RefreshTokenLen = len(RefreshPrefix) + (refreshRawLen*8+5)/6
)

// ErrRefreshInvalid reports a string that is not a refresh token this deployment issued.
var ErrRefreshInvalid = errors.New("auth: invalid refresh token")

// RefreshToken is a parsed refresh token. Its secret never leaves memory except as the token
// string given to the client; the server stores only Hash().
type RefreshToken struct {
	UserID    string
	SessionID string
	secret    [refreshSecretLen]byte
	key       int // index in the key ring of the key that verified it (0: the current key)
}

// Hash returns the value stored server-side for this token: hex SHA-256 of its secret. The
// secret is 256 random bits, so a fast hash suffices.
func (r RefreshToken) Hash() string {
	sum := sha256.Sum256(r.secret[:])
	return hex.EncodeToString(sum[:])
}

// RefreshTokens mints, authenticates and derives successors of refresh tokens.
//
// A token is "bxr_" + base64url(user id ‖ session id ‖ secret ‖ tag) where tag is a truncated
// HMAC over the rest: the server finds the session's keys from the token alone, rejects a forged
// or garbled token without touching Redis, and knows that any token passing the tag check was
// issued by it, so presenting an old one is reuse, not noise.
//
// Successors are derived, not random: next = HMAC(key, "next" ‖ ids ‖ secret). A rotation that
// runs twice (a retry, two tabs racing) computes the same successor, so Redis only ever holds
// hashes and the grace window can hand out "the same successor" without storing it.
//
// Key rotation: tokens are tagged with the key derived from the current secret and accepted
// when any key of the ring verifies them. A successor is derived with the key that verified its
// predecessor, so every instance holding that key computes the same successor.
type RefreshTokens struct{ keys [][]byte }

// NewRefreshTokens derives the refresh-token keys from the deployment's key ring (see Key
// rotation above). keys must come from NewKeyRing (it panics on a nil ring).
func NewRefreshTokens(keys *KeyRing) *RefreshTokens {
	return &RefreshTokens{keys: keys.derive("boxoffice refresh-token key v1")}
}

// New returns a fresh random refresh token for the session.
func (rt *RefreshTokens) New(userID, sessionID string) (RefreshToken, error) {
	if !ValidID(userID) || !ValidID(sessionID) {
		return RefreshToken{}, ErrInvalidID
	}
	t := RefreshToken{UserID: userID, SessionID: sessionID}
	rand.Read(t.secret[:])
	return t, nil
}

// Next returns the deterministic successor of t.
func (rt *RefreshTokens) Next(t RefreshToken) RefreshToken {
	n := RefreshToken{UserID: t.UserID, SessionID: t.SessionID}
	copy(n.secret[:], rt.mac(t.key, "next", t))
	return n
}

// Successor returns t's n-th successor (n = 0 gives t).
func (rt *RefreshTokens) Successor(t RefreshToken, n int) RefreshToken {
	for ; n > 0; n-- {
		t = rt.Next(t)
	}
	return t
}

// Reissued returns the first refresh token of session newSID, which a password change moved
// session oldSID of the user to, after which the user's password hash is passwordHash. It is
// derived, not random, so that a client that lost the password change's answer can be given
// the same token again (it proves itself with the new password); it is as unpredictable as the
// deployment's key and the hash's salt. It returns ErrInvalidID for malformed ids.
func (rt *RefreshTokens) Reissued(userID, oldSID, newSID, passwordHash string) (RefreshToken, error) {
	if !ValidID(userID) || !ValidID(oldSID) || !ValidID(newSID) {
		return RefreshToken{}, ErrInvalidID
	}
	m := hmac.New(sha256.New, rt.keys[0])
	m.Write([]byte("reissue\x00"))
	m.Write([]byte(userID))
	m.Write([]byte(oldSID))
	m.Write([]byte(newSID))
	m.Write([]byte(passwordHash))
	t := RefreshToken{UserID: userID, SessionID: newSID}
	copy(t.secret[:], m.Sum(nil))
	return t, nil
}

// Encode returns the token string handed to the client.
func (rt *RefreshTokens) Encode(t RefreshToken) string {
	raw := make([]byte, 0, refreshRawLen)
	uid, _ := ParseID(t.UserID)
	sid, _ := ParseID(t.SessionID)
	raw = append(raw, uid[:]...)
	raw = append(raw, sid[:]...)
	raw = append(raw, t.secret[:]...)
	raw = append(raw, rt.mac(0, "tag", t)[:refreshTagLen]...)
	return RefreshPrefix + base64.RawURLEncoding.EncodeToString(raw)
}

// Parse decodes and authenticates s. It returns ErrRefreshInvalid for anything that is not a
// well-formed token carrying a valid tag for this deployment's key.
func (rt *RefreshTokens) Parse(s string) (RefreshToken, error) {
	if len(s) != RefreshTokenLen || !strings.HasPrefix(s, RefreshPrefix) {
		return RefreshToken{}, ErrRefreshInvalid
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(s[len(RefreshPrefix):])
	if err != nil || len(raw) != refreshRawLen {
		return RefreshToken{}, ErrRefreshInvalid
	}
	t := RefreshToken{UserID: encodeID(raw[:16]), SessionID: encodeID(raw[16:32])}
	copy(t.secret[:], raw[32:32+refreshSecretLen])
	for i := range rt.keys {
		if hmac.Equal(raw[32+refreshSecretLen:], rt.mac(i, "tag", t)[:refreshTagLen]) {
			t.key = i
			return t, nil
		}
	}
	return RefreshToken{}, ErrRefreshInvalid
}

func (rt *RefreshTokens) mac(key int, label string, t RefreshToken) []byte {
	m := hmac.New(sha256.New, rt.keys[key])
	m.Write([]byte(label))
	m.Write([]byte{0})
	m.Write([]byte(t.UserID))
	m.Write([]byte(t.SessionID))
	m.Write(t.secret[:])
	return m.Sum(nil)
}
