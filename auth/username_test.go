package auth_test

import (
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"boxoffice/auth"
)

func TestCanonicalUsernameAccepts(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"lowercase", "alice", "alice"},
		{"capitalised", "Alice", "alice"},
		{"uppercase", "ALICE", "alice"},
		{"surrounding spaces", " alice ", "alice"},
		{"surrounding tabs and newlines", "\talice\n", "alice"},
		{"fullwidth letters", "Ａｌｉｃｅ", "alice"},
		{"fullwidth lowercase", "ａｌｉｃｅ", "alice"},
		{"ideographic spaces around", "\u3000alice\u3000", "alice"},
		{"mathematical bold", "𝐚𝐥𝐢𝐜𝐞", "alice"},
		{"circled letters", "ⓐⓛⓘⓒⓔ", "alice"},
		{"ligature fi", "ﬁona", "fiona"},
		{"kelvin sign", "\u212Aate", "kate"},
		{"long s", "ſam", "sam"},
		{"sharp s folds to ss", "Straße", "strasse"},
		{"STRASSE", "STRASSE", "strasse"},
		{"fullwidth digit", "alice１", "alice1"},
		{"superscript digit", "alice²", "alice2"},
		{"ascii digits", "bob42", "bob42"},
		{"digits only", "123", "123"},
		{"dot underscore dash inside", "a.b_c-d", "a.b_c-d"},
		{"consecutive separators", "a..b", "a..b"},
		{"precomposed accent", "josé", "josé"},
		{"decomposed accent composes", "jose\u0301", "josé"},
		{"uppercase accent", "JOSÉ", "josé"},
		{"cyrillic only", "алиса", "алиса"},
		{"cyrillic uppercase", "АЛИСА", "алиса"},
		{"cyrillic with digits", "иван2000", "иван2000"},
		{"greek final sigma folds", "ΣΙΣΥΦΟΣ", "σισυφοσ"},
		{"greek final sigma lower", "σισυφος", "σισυφοσ"},
		{"hiragana", "たなか", "たなか"},
		{"katakana", "タナカ", "タナカ"},
		{"halfwidth katakana", "ﾀﾅｶ", "タナカ"},
		{"min length", "abc", "abc"},
		{"max length", strings.Repeat("a", 32), strings.Repeat("a", 32)},
		{"max length in runes not bytes", strings.Repeat("ж", 32), strings.Repeat("ж", 32)},
		{"length counted after folding", strings.Repeat("ß", 16), strings.Repeat("ss", 16)},
		{"spaces do not count", "  " + strings.Repeat("a", 32) + "  ", strings.Repeat("a", 32)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := auth.CanonicalUsername(tt.in)
			if err != nil {
				t.Fatalf("CanonicalUsername(%q) error = %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("CanonicalUsername(%q) = %q, want %q", tt.in, got, tt.want)
			}
			again, err := auth.CanonicalUsername(got)
			if err != nil || again != got {
				t.Fatalf("not idempotent: CanonicalUsername(%q) = %q, %v", got, again, err)
			}
		})
	}
}

func TestCanonicalUsernameLookAlikesCollide(t *testing.T) {
	groups := [][]string{
		{"alice", "Alice", "ALICE", " alice ", "Ａｌｉｃｅ", "ＡＬＩＣＥ", "𝐚𝐥𝐢𝐜𝐞", "ⓐⓛⓘⓒⓔ", "\u3000ALICE"},
		{"strasse", "Straße", "STRASSE", "STRAẞE"},
		{"josé", "JOSÉ", "jose\u0301", "JOSE\u0301"},
		{"алиса", "АЛИСА", "Алиса"},
	}
	for _, g := range groups {
		want, err := auth.CanonicalUsername(g[0])
		if err != nil {
			t.Fatalf("CanonicalUsername(%q) error = %v", g[0], err)
		}
		for _, in := range g[1:] {
			got, err := auth.CanonicalUsername(in)
			if err != nil || got != want {
				t.Errorf("CanonicalUsername(%q) = %q, %v; want %q (same as %q)", in, got, err, want, g[0])
			}
		}
	}
}

func TestCanonicalUsernameRejects(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		// scripts
		{"latin with cyrillic a", "\u0430lice", auth.ErrUsernameScripts},
		{"latin with cyrillic o inside", "b\u043Eb", auth.ErrUsernameScripts},
		{"cyrillic with latin a", "\u0430\u043B\u0438\u0441a", auth.ErrUsernameScripts},
		{"latin with greek omicron", "b\u03BFb", auth.ErrUsernameScripts},
		{"fullwidth latin with cyrillic", "Ａｌｉｃ\u0435", auth.ErrUsernameScripts},
		{"hiragana with katakana", "たナか", auth.ErrUsernameScripts},
		{"han with hiragana", "田中たろう", auth.ErrUsernameScripts},
		// digits
		{"arabic-indic digit", "alice\u0663", auth.ErrUsernameChars},
		{"devanagari digit", "alice\u0967", auth.ErrUsernameChars},
		{"bengali digit", "\u09E7\u09E8\u09E9", auth.ErrUsernameChars},
		// edges
		{"leading dot", ".alice", auth.ErrUsernameEdge},
		{"trailing dot", "alice.", auth.ErrUsernameEdge},
		{"leading underscore", "_alice", auth.ErrUsernameEdge},
		{"trailing underscore", "alice_", auth.ErrUsernameEdge},
		{"leading dash", "-alice", auth.ErrUsernameEdge},
		{"trailing dash", "alice-", auth.ErrUsernameEdge},
		{"only separators", "._-", auth.ErrUsernameEdge},
		{"dots only", "...", auth.ErrUsernameEdge},
		// length
		{"empty", "", auth.ErrUsernameLength},
		{"spaces only", "     ", auth.ErrUsernameLength},
		{"one char", "a", auth.ErrUsernameLength},
		{"two chars", "ab", auth.ErrUsernameLength},
		{"two chars padded", "   ab   ", auth.ErrUsernameLength},
		{"33 chars", strings.Repeat("a", 33), auth.ErrUsernameLength},
		{"33 cyrillic", strings.Repeat("ж", 33), auth.ErrUsernameLength},
		{"ligatures expand past 32", strings.Repeat("ﬃ", 11), auth.ErrUsernameLength},
		{"sharp s expands past 32", strings.Repeat("ß", 17), auth.ErrUsernameLength},
		{"huge", strings.Repeat("a", 100000), auth.ErrUsernameLength},
		// characters
		{"invalid utf-8", "ali\xffce", auth.ErrUsernameChars},
		{"truncated utf-8", "alice\xc3", auth.ErrUsernameChars},
		{"surrogate encoding", "ali\xed\xa0\x80ce", auth.ErrUsernameChars},
		{"NUL inside", "ali\x00ce", auth.ErrUsernameChars},
		{"NUL at end", "alice\x00", auth.ErrUsernameChars},
		{"space inside", "ali ce", auth.ErrUsernameChars},
		{"ideographic space inside", "ali\u3000ce", auth.ErrUsernameChars},
		{"tab inside", "ali\tce", auth.ErrUsernameChars},
		{"newline inside", "ali\nce", auth.ErrUsernameChars},
		{"emoji", "alice😀", auth.ErrUsernameChars},
		{"emoji only", "😀😀😀", auth.ErrUsernameChars},
		{"zero width joiner", "ali\u200Dce", auth.ErrUsernameChars},
		{"zero width space", "ali\u200Bce", auth.ErrUsernameChars},
		{"right-to-left override", "ali\u202Ece", auth.ErrUsernameChars},
		{"soft hyphen", "ali\u00ADce", auth.ErrUsernameChars},
		{"combining mark alone", "abc\u0353", auth.ErrUsernameChars},
		{"dotted capital I folds to i + combining dot", "\u0130van", auth.ErrUsernameChars},
		{"at sign", "alice@example", auth.ErrUsernameChars},
		{"slash", "a/b", auth.ErrUsernameChars},
		{"plus", "a+b", auth.ErrUsernameChars},
		{"braces (redis hash tag)", "{alice}", auth.ErrUsernameChars},
		{"colon", "a:b", auth.ErrUsernameChars},
		{"apostrophe", "o'brien", auth.ErrUsernameChars},
		{"fraction one half", "alice½", auth.ErrUsernameChars},
		{"private use", "ali\uE000ce", auth.ErrUsernameChars},
		{"C1 control", "ali\u0085ce", auth.ErrUsernameChars},
		{"DEL", "ali\x7fce", auth.ErrUsernameChars},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := auth.CanonicalUsername(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("CanonicalUsername(%q) = %q, %v; want error %v", tt.in, got, err, tt.want)
			}
			if got != "" {
				t.Fatalf("CanonicalUsername(%q) returned %q along with error", tt.in, got)
			}
		})
	}
}

// Mathematical digits are compatibility forms of ASCII digits, so NFKC maps them to ASCII and
// they are accepted as such (they cannot produce a distinct account).
func TestCanonicalUsernameCompatibilityDigits(t *testing.T) {
	got, err := auth.CanonicalUsername("alice\U0001D7CF") // MATHEMATICAL BOLD DIGIT ONE
	if err != nil || got != "alice1" {
		t.Fatalf("CanonicalUsername(alice𝟏) = %q, %v; want \"alice1\"", got, err)
	}
}

// Cherokee is the one bicameral script whose Unicode case folding maps lowercase to uppercase
// (CaseFolding.txt: U+AB70 -> U+13A0, U+13F8 -> U+13F0). golang.org/x/text/cases.Fold maps
// U+13A0 -> U+AB70 and U+AB70 -> U+13A0 instead (https://github.com/golang/go/issues/46101),
// so CanonicalUsername is not idempotent for Cherokee and the upper- and lowercase spelling of
// the same name canonicalise to two different usernames.
func TestCanonicalUsernameFoldsCherokee(t *testing.T) {
	upper := "\u13A0\u13A1\u13A2" // ᎠᎡᎢ
	lower := "\uAB70\uAB71\uAB72" // ꭰꭱꭲ, the lowercase forms of the same letters
	cu, err := auth.CanonicalUsername(upper)
	if err != nil {
		t.Fatalf("CanonicalUsername(%q) error = %v", upper, err)
	}
	cl, err := auth.CanonicalUsername(lower)
	if err != nil {
		t.Fatalf("CanonicalUsername(%q) error = %v", lower, err)
	}
	if cu != cl {
		t.Errorf("case variants canonicalise differently: %q -> %q, %q -> %q", upper, cu, lower, cl)
	}
	if again, _ := auth.CanonicalUsername(cu); again != cu {
		t.Errorf("not idempotent: %q -> %q -> %q", upper, cu, again)
	}
}

// CanonicalUsername (username.go:36-42) runs NFKC, case folding and NFKC over the whole input
// before it checks the length, with no byte cap first (unlike CheckPassword). Usernames arrive
// unauthenticated (login, registration), and NFKC expands some characters up to 18-fold
// (U+FDFA ARABIC LIGATURE SALLALLAHOU ALAYHE WASALLAM): a 1 MiB username costs about a second of
// CPU and ~66 MB of allocation, a 4 MiB request body (Fiber's default BodyLimit) four times that.
// A cheap byte bound before normalising (any input longer than, say, 4*UsernameMaxLen plus
// room for surrounding space is ErrUsernameLength) removes the amplification.
func TestCanonicalUsernameCapsInputBeforeNormalising(t *testing.T) {
	in := strings.Repeat("\uFDFA", 64<<10) // 192 KiB
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := auth.CanonicalUsername(in)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, auth.ErrUsernameLength) {
		t.Fatalf("CanonicalUsername(192 KiB) error = %v, want ErrUsernameLength", err)
	}
	// Rejecting an overlong name should not allocate more than a small multiple of its size;
	// here it allocates ~12 MB (about 60x the input).
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4*uint64(len(in)) {
		t.Errorf("CanonicalUsername allocated %d bytes to reject a %d-byte name", alloc, len(in))
	}
}

func TestCanonicalUsernameConcurrent(t *testing.T) {
	// The package shares one cases.Caser between goroutines; the race detector checks that
	// this is safe for the folder in use.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				if c, err := auth.CanonicalUsername("ＡＬＩＣＥ" + string(rune('a'+i))); err != nil || c != "alice"+string(rune('a'+i)) {
					t.Errorf("CanonicalUsername = %q, %v", c, err)
					return
				}
				if _, err := auth.CleanDisplayName("Jose\u0301"); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestCanonicalUsernameResultProperties(t *testing.T) {
	inputs := []string{"Alice", "ＢＯＢ", "Straße", "иван", "x.y_z-1", "Ωμεγα", "たなか"}
	for _, in := range inputs {
		c, err := auth.CanonicalUsername(in)
		if err != nil {
			t.Fatalf("CanonicalUsername(%q) error = %v", in, err)
		}
		if !utf8.ValidString(c) {
			t.Errorf("CanonicalUsername(%q) = %q: invalid UTF-8", in, c)
		}
		if n := utf8.RuneCountInString(c); n < auth.UsernameMinLen || n > auth.UsernameMaxLen {
			t.Errorf("CanonicalUsername(%q) = %q: %d runes", in, c, n)
		}
		if strings.ContainsAny(c, "{} \t\n\x00") {
			t.Errorf("CanonicalUsername(%q) = %q contains a forbidden character", in, c)
		}
	}
}

func TestCleanDisplayNameAccepts(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"plain", "Alice Smith", "Alice Smith"},
		{"keeps case", "ALICE", "ALICE"},
		{"trims spaces", "  Alice Smith  ", "Alice Smith"},
		{"trims tabs/newlines at edges", "\tAlice\n", "Alice"},
		{"trims ideographic space", "\u3000Alice\u3000", "Alice"},
		{"NFC composes", "Jose\u0301", "José"},
		{"NFC keeps precomposed", "José", "José"},
		{"NFC does not apply compatibility mapping", "Ａｌｉｃｅ", "Ａｌｉｃｅ"},
		{"punctuation", "Dr. O'Brien-Smith, Jr.", "Dr. O'Brien-Smith, Jr."},
		{"non-latin", "Алиса Иванова", "Алиса Иванова"},
		{"cjk", "田中 太郎", "田中 太郎"},
		{"emoji", "Alice 🎟", "Alice 🎟"},
		{"emoji with variation selector", "Alice 🎟\uFE0F", "Alice 🎟\uFE0F"},
		{"rtl script without controls", "שלום", "שלום"},
		{"empty", "", ""},
		{"64 runes", strings.Repeat("a", 64), strings.Repeat("a", 64)},
		{"64 multibyte runes", strings.Repeat("ж", 64), strings.Repeat("ж", 64)},
		{"64 runes after NFC", strings.Repeat("e\u0301", 64), strings.Repeat("é", 64)},
		{"64 runes after trimming", "  " + strings.Repeat("a", 64) + "  ", strings.Repeat("a", 64)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := auth.CleanDisplayName(tt.in)
			if err != nil {
				t.Fatalf("CleanDisplayName(%q) error = %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("CleanDisplayName(%q) = %q, want %q", tt.in, got, tt.want)
			}
			again, err := auth.CleanDisplayName(got)
			if err != nil || again != got {
				t.Fatalf("not idempotent: CleanDisplayName(%q) = %q, %v", got, again, err)
			}
		})
	}
}

func TestCleanDisplayNameRejects(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"right-to-left override", "Alice\u202Eevil"},
		{"left-to-right override", "\u202DAlice"},
		{"right-to-left isolate", "Alice\u2067x\u2069"},
		{"right-to-left mark", "Alice\u200F"},
		{"pop directional formatting", "Alice\u202C"},
		{"zero width space", "Al\u200Bice"},
		{"zero width joiner", "Al\u200Dice"},
		{"byte order mark", "\uFEFFAlice"},
		{"soft hyphen", "Al\u00ADice"},
		{"tag character", "Alice\U000E0041"},
		{"NUL", "Alice\x00"},
		{"NUL inside", "Al\x00ice"},
		{"tab inside", "Alice\tSmith"},
		{"newline inside", "Alice\nSmith"},
		{"carriage return inside", "Alice\rSmith"},
		{"escape", "Alice\x1b[31m"},
		{"bell", "Alice\a"},
		{"DEL", "Alice\x7f"},
		{"C1 control", "Alice\u0085Smith"},
		{"line separator", "Alice\u2028Smith"},
		{"paragraph separator", "Alice\u2029Smith"},
		{"private use", "Alice\uE000"},
		{"unassigned", "Alice\U000E0080"},
		{"invalid utf-8", "Alice\xff"},
		{"truncated utf-8", "Alice\xe2\x82"},
		{"65 runes", strings.Repeat("a", 65)},
		{"65 multibyte runes", strings.Repeat("ж", 65)},
		{"65 runes after NFC", strings.Repeat("e\u0301", 65)},
		{"huge", strings.Repeat("a", 100000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := auth.CleanDisplayName(tt.in)
			if !errors.Is(err, auth.ErrDisplayName) {
				t.Fatalf("CleanDisplayName(%q) = %q, %v; want ErrDisplayName", tt.in, got, err)
			}
			if got != "" {
				t.Fatalf("CleanDisplayName(%q) returned %q along with error", tt.in, got)
			}
		})
	}
}
