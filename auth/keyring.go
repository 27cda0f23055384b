package auth

import (
	"crypto/hmac"
	"crypto/sha256"
)

// deriveKeys derives one HMAC key per deployment secret (the current one first, then the
// previous ones still accepted during a key rotation) for one purpose named by label, so that
// no two kinds of token are ever keyed alike.
func deriveKeys(label string, secret []byte, previous ...[]byte) [][]byte {
	var keys [][]byte
	for _, s := range append([][]byte{secret}, previous...) {
		m := hmac.New(sha256.New, s)
		m.Write([]byte(label))
		keys = append(keys, m.Sum(nil))
	}
	return keys
}
