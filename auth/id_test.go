package auth_test

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"

	"boxoffice/auth"
)

var idPattern = regexp.MustCompile(`^[a-z2-7]{26}$`)

func TestNewIDFormat(t *testing.T) {
	for range 1000 {
		id := auth.NewID()
		if len(id) != auth.IDLen {
			t.Fatalf("NewID() = %q: length %d, want %d", id, len(id), auth.IDLen)
		}
		if !idPattern.MatchString(id) {
			t.Fatalf("NewID() = %q: not lowercase base32 [a-z2-7]", id)
		}
		// 128 bits in 26 characters: the last one carries 3 data bits and 2 zero bits, so only
		// every fourth alphabet letter can appear there.
		if !strings.ContainsRune("aeimquy4", rune(id[len(id)-1])) {
			t.Fatalf("NewID() = %q: non-canonical last character", id)
		}
		if !auth.ValidID(id) {
			t.Fatalf("ValidID(NewID()=%q) = false", id)
		}
		if _, err := auth.ParseID(id); err != nil {
			t.Fatalf("ParseID(NewID()=%q) = %v", id, err)
		}
	}
}

func TestNewIDUnique(t *testing.T) {
	const n = 20000
	seen := make(map[string]bool, n)
	for range n {
		id := auth.NewID()
		if seen[id] {
			t.Fatalf("NewID() returned %q twice", id)
		}
		seen[id] = true
	}
}

func TestParseIDKnownValues(t *testing.T) {
	tests := []struct {
		name string
		id   string
		want [16]byte
	}{
		{"all zero", "aaaaaaaaaaaaaaaaaaaaaaaaaa", [16]byte{}},
		{"all ones", "77777777777777777777777774", [16]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{"first bit", "qaaaaaaaaaaaaaaaaaaaaaaaaa", [16]byte{0x80}},
		{"last bit", "aaaaaaaaaaaaaaaaaaaaaaaaae", [16]byte{15: 0x01}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := auth.ParseID(tt.id)
			if err != nil {
				t.Fatalf("ParseID(%q) error = %v", tt.id, err)
			}
			if got != tt.want {
				t.Fatalf("ParseID(%q) = %x, want %x", tt.id, got, tt.want)
			}
		})
	}
}

func TestParseIDRoundTrip(t *testing.T) {
	// Distinct ids decode to distinct byte strings, and decoding is stable.
	a, b := auth.NewID(), auth.NewID()
	ra, err := auth.ParseID(a)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := auth.ParseID(b)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(ra[:], rb[:]) {
		t.Fatalf("two fresh ids %q and %q decode to the same bytes", a, b)
	}
	ra2, _ := auth.ParseID(a)
	if ra != ra2 {
		t.Fatalf("ParseID(%q) not stable: %x vs %x", a, ra, ra2)
	}
}

func TestParseIDRejects(t *testing.T) {
	valid := "abcdefghijklmnopqrstuvwxya" // 26 chars, canonical last char
	if !auth.ValidID(valid) {
		t.Fatalf("test precondition: %q should be valid", valid)
	}
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"one char", "a"},
		{"too short 25", valid[:25]},
		{"too long 27", valid + "a"},
		{"too long 32", valid + "aaaaaa"},
		{"uppercase all", strings.ToUpper(valid)},
		{"uppercase one", "Abcdefghijklmnopqrstuvwxya"},
		{"std padding", valid[:24] + "=="},
		{"padded to 32", valid + "======"},
		{"single pad at end", valid[:25] + "="},
		{"non-canonical last char b", valid[:25] + "b"},
		{"non-canonical last char d", valid[:25] + "d"},
		{"non-canonical last char 7", valid[:25] + "7"},
		{"non-canonical last char 5", valid[:25] + "5"},
		{"digit 0", "0" + valid[1:]},
		{"digit 1", "1" + valid[1:]},
		{"digit 8", valid[:10] + "8" + valid[11:]},
		{"digit 9", valid[:10] + "9" + valid[11:]},
		{"dash", valid[:10] + "-" + valid[11:]},
		{"underscore", valid[:10] + "_" + valid[11:]},
		{"brace", valid[:10] + "{" + valid[11:]},
		{"space", valid[:10] + " " + valid[11:]},
		{"leading space", " " + valid[:25]},
		{"trailing newline", valid[:25] + "\n"},
		{"newline inside", valid[:10] + "\n" + valid[11:]},
		{"carriage return inside", valid[:10] + "\r" + valid[11:]},
		{"NUL", valid[:10] + "\x00" + valid[11:]},
		{"multibyte same byte length", "é" + valid[2:]},
		{"invalid utf-8", "\xff" + valid[1:]},
		{"hex uuid-like", "0123456789abcdef0123456789"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The returned bytes are unspecified on error (they may hold a partial decoding).
			if _, err := auth.ParseID(tt.in); !errors.Is(err, auth.ErrInvalidID) {
				t.Fatalf("ParseID(%q) error = %v, want ErrInvalidID", tt.in, err)
			}
			if auth.ValidID(tt.in) {
				t.Fatalf("ValidID(%q) = true", tt.in)
			}
		})
	}
}

func TestParseIDAllLastChars(t *testing.T) {
	// Exactly the 8 canonical last characters are accepted.
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	prefix := strings.Repeat("a", auth.IDLen-1)
	for i, c := range alphabet {
		want := i%4 == 0
		if got := auth.ValidID(prefix + string(c)); got != want {
			t.Errorf("ValidID(...%c) = %v, want %v", c, got, want)
		}
	}
}
