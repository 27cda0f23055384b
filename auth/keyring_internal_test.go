package auth

import (
	"bytes"
	"testing"
)

// TestKeyRingPurposesDiffer: from one ring, access tokens (the secrets themselves), refresh
// tokens, device tokens and CSRF tokens all get keys of their own, for every secret.
func TestKeyRingPurposesDiffer(t *testing.T) {
	ring, err := NewKeyRing(bytes.Repeat([]byte("c"), MinKeyBytes), bytes.Repeat([]byte("p"), MinKeyBytes))
	if err != nil {
		t.Fatal(err)
	}
	tk, err := NewTokens(TokenConfig{Keys: ring})
	if err != nil {
		t.Fatal(err)
	}
	var access [][]byte
	for _, k := range tk.ring {
		access = append(access, k)
	}
	purposes := map[string][][]byte{
		"access":  access,
		"refresh": NewRefreshTokens(ring).keys,
		"device":  NewDeviceTokens(ring).keys,
		"csrf":    NewCSRF(ring).keys,
	}
	seen := map[string]string{}
	for name, keys := range purposes {
		if len(keys) != 2 {
			t.Errorf("%s has %d keys, want one per secret", name, len(keys))
		}
		for _, k := range keys {
			if other, dup := seen[string(k)]; dup {
				t.Errorf("%s and %s share a key", other, name)
			}
			seen[string(k)] = name
		}
	}
	if !bytes.Equal(tk.key, ring.secrets[0]) || !bytes.Equal(NewCSRF(ring).keys[0], ring.derive("boxoffice csrf key v1")[0]) {
		t.Error("the current secret does not key what is issued")
	}
}
