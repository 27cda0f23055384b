// Package auth holds boxoffice's identity rules: users and their passwords, access tokens,
// refresh tokens and the identifiers they carry; it performs no I/O of its own.
package auth

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
)

// IDLen is the length in characters of every identifier boxoffice generates.
const IDLen = 26

// idEncoding is lowercase RFC 4648 base32 without padding: identifiers are case-stable, safe in
// URLs, JSON and Redis key names, and contain no '{' or '}' that could change a Cluster hash slot.
var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// ErrInvalidID reports a string that is not an identifier boxoffice could have generated.
var ErrInvalidID = errors.New("auth: invalid identifier")

// NewID returns a fresh random identifier of 128 bits (26 characters, [a-z2-7]).
func NewID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails since Go 1.24; it crashes the program instead.
	return idEncoding.EncodeToString(b[:])
}

// ParseID checks that s is a well-formed identifier and returns its 16 raw bytes.
// It returns ErrInvalidID otherwise.
func ParseID(s string) ([16]byte, error) {
	var out [16]byte
	if len(s) != IDLen {
		return out, ErrInvalidID
	}
	n, err := idEncoding.Decode(out[:], []byte(s))
	if err != nil || n != 16 {
		return out, ErrInvalidID
	}
	// The last character carries 2 bits of padding; only the canonical form is accepted so
	// that one identifier has exactly one spelling.
	if idEncoding.EncodeToString(out[:]) != s {
		return out, ErrInvalidID
	}
	return out, nil
}

// ValidID reports whether s is a well-formed identifier.
func ValidID(s string) bool {
	_, err := ParseID(s)
	return err == nil
}

func encodeID(b []byte) string { return idEncoding.EncodeToString(b) }
