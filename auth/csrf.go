package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
)

// CSRF mints and checks the anti-CSRF tokens of cookie-authenticated sessions: a token is an
// HMAC of the session id, so it is bound to one session, needs no storage, and cannot be forged
// for a victim's session by someone who holds only their own.
type CSRF struct{ keys [][]byte }

// NewCSRF derives the CSRF keys from the deployment's key ring: tokens are minted with the
// current secret's key and accepted under any secret's. keys must come from NewKeyRing (it
// panics on a nil ring).
func NewCSRF(keys *KeyRing) *CSRF {
	return &CSRF{keys: keys.derive("boxoffice csrf key v1")}
}

// Token returns the CSRF token of session sid (43 characters of base64url).
func (c *CSRF) Token(sid string) string { return c.token(0, sid) }

// Valid reports whether tok is the CSRF token of session sid under any key of the ring.
func (c *CSRF) Valid(sid, tok string) bool {
	for i := range c.keys {
		if hmac.Equal([]byte(tok), []byte(c.token(i, sid))) {
			return true
		}
	}
	return false
}

func (c *CSRF) token(i int, sid string) string {
	m := hmac.New(sha256.New, c.keys[i])
	m.Write([]byte("csrf\x00"))
	m.Write([]byte(sid))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
