package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
)

// MinKeyBytes is the minimum length of every secret of a KeyRing: 256 bits, the size of an
// HS256 key.
const MinKeyBytes = 32

// ErrKeyTooShort reports a secret given to NewKeyRing that is shorter than MinKeyBytes.
var ErrKeyTooShort = errors.New("auth: secret shorter than MinKeyBytes")

// KeyRing holds the deployment's secrets: the current one, which keys everything issued, and
// the previous ones, still accepted while a key rotation runs (add the new secret as a previous
// one, then make it current with the old one previous, then drop the old one). Every kind of
// token takes the same ring and keys itself from it for its own purpose only:
//
//   - access tokens (Tokens) sign with the current secret itself and verify with the secret
//     their "kid" names (keyID), as they did before the ring existed (an HS256 signing input,
//     base64url "header.payload", never equals a derivation label);
//   - refresh tokens, device tokens and CSRF tokens use keys derived from each secret with a
//     label of their own (HMAC-SHA256 keyed by the secret, over the label), so no key of one
//     kind of token is a key of another, and none is a secret itself.
//
// Tokens issued with a secret still verify while it is in the ring, whichever of the ring's
// places it holds. A KeyRing is immutable and safe for concurrent use; its zero value holds no
// secret and must not be used (NewKeyRing makes one).
type KeyRing struct {
	secrets [][]byte // the current secret first; copies, never shared with the caller
}

// NewKeyRing returns the ring of the current secret and the previous ones, in that order
// (duplicates are dropped). It copies the secrets. It returns an error wrapping ErrKeyTooShort
// when any secret is shorter than MinKeyBytes; the error names the secret by its place, never
// by its content.
func NewKeyRing(current []byte, previous ...[]byte) (*KeyRing, error) {
	r := &KeyRing{}
	for i, s := range append([][]byte{current}, previous...) {
		if len(s) < MinKeyBytes {
			which := "the current secret"
			if i > 0 {
				which = fmt.Sprintf("previous secret %d", i)
			}
			return nil, fmt.Errorf("%w: %s has %d bytes, need at least %d", ErrKeyTooShort, which, len(s), MinKeyBytes)
		}
		if !r.holds(s) {
			r.secrets = append(r.secrets, bytes.Clone(s))
		}
	}
	return r, nil
}

// String describes the ring without any of its secrets, so a ring printed or logged by
// mistake reveals nothing.
func (r KeyRing) String() string { return fmt.Sprintf("auth.KeyRing(%d secrets)", len(r.secrets)) }

// GoString is String, for %#v.
func (r KeyRing) GoString() string { return r.String() }

func (r *KeyRing) holds(s []byte) bool {
	for _, have := range r.secrets {
		if bytes.Equal(have, s) {
			return true
		}
	}
	return false
}

// all returns the secrets themselves, the current one first: the HS256 keys of access tokens.
func (r *KeyRing) all() [][]byte {
	r.mustHold()
	return r.secrets
}

// derive returns one key per secret for the purpose named by label, the current secret's
// first: HMAC-SHA256(secret, label). Each purpose has a label of its own, versioned so that a
// change of scheme can take a new one.
func (r *KeyRing) derive(label string) [][]byte {
	r.mustHold()
	keys := make([][]byte, 0, len(r.secrets))
	for _, s := range r.secrets {
		m := hmac.New(sha256.New, s)
		m.Write([]byte(label))
		keys = append(keys, m.Sum(nil))
	}
	return keys
}

// mustHold panics for a nil or zero ring: a constructor given one is a wiring bug, and a
// token kind without keys could neither issue nor verify anything.
func (r *KeyRing) mustHold() {
	if r == nil || len(r.secrets) == 0 {
		panic("auth: KeyRing without secrets; build it with NewKeyRing")
	}
}

// The kinds of token print their kind, never their keys (%v, %+v and %#v alike), so that a
// logged configuration or a debugging print cannot leak a secret.

func (t *Tokens) String() string          { return "auth.Tokens(HS256)" }
func (t *Tokens) GoString() string        { return t.String() }
func (t *RefreshTokens) String() string   { return "auth.RefreshTokens" }
func (t *RefreshTokens) GoString() string { return t.String() }
func (t *DeviceTokens) String() string    { return "auth.DeviceTokens" }
func (t *DeviceTokens) GoString() string  { return t.String() }
func (c *CSRF) String() string            { return "auth.CSRF" }
func (c *CSRF) GoString() string          { return c.String() }
