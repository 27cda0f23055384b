package api

import (
	"strings"
	"testing"
)

// FuzzParseKey: parseKey never panics; an accepted key is printable ASCII; a bare key is
// returned as sent; and every accepted key, quoted as RFC 8941 says, parses back to itself, so
// the quoted and bare forms of one key are always the same key.
func FuzzParseKey(f *testing.F) {
	for _, s := range []string{`abc`, `"abc"`, `"a\"b\\c"`, `"a\b"`, `"abc`, `"abc";x=1`, `"a" , "b"`,
		`8e03978e-40d5-43e8-bc93-6894a57f9324`, `urn:uuid:1`, `a b`, `"é"`, `""`, `"\"`, "\"\x7f\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if v == "" {
			return // idempotencyKey answers an empty header before parsing
		}
		key, ok := parseKey(v)
		if !ok {
			if key != "" {
				t.Fatalf("parseKey(%q) refused but returned %q", v, key)
			}
			return
		}
		for i := 0; i < len(key); i++ {
			if key[i] < 0x20 || key[i] > 0x7e {
				t.Fatalf("parseKey(%q) = %q: not printable ASCII", v, key)
			}
		}
		if v[0] != '"' && key != v {
			t.Fatalf("bare parseKey(%q) = %q: want it unchanged", v, key)
		}
		quoted := `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(key) + `"`
		if again, ok := parseKey(quoted); !ok || again != key {
			t.Fatalf("parseKey(%q) = %q, %v: the quoted form of %q does not parse back", quoted, again, ok, key)
		}
	})
}
