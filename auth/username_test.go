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

func TestUsernameSkeletonLookAlikesCollide(t *testing.T) {
	groups := [][]string{
		{"scope", "ѕсоре"}, // Cyrillic dze, es, o, er, ie
		{"admin", "ɑdmin", "admın", "ᴀdmin", "adrnin", "ᴀᴅᴍɪɴ"}, // U+0251, U+0131, U+1D00, rn for m
		{"paypal", "раураl", "paypa1", "paypaI"},
		{"bob", "b0b", "вов"}, // digit zero; Cyrillic ve (prototype small capital B) and o
		{"apple", "аррlе"},
		{"google", "gооgle", "g00gle"},
		{"m", "rn"},
		{"clean", "cIean", "c1ean"},
	}
	for _, g := range groups {
		want := auth.UsernameSkeleton(g[0])
		for _, in := range g[1:] {
			if got := auth.UsernameSkeleton(in); got != want {
				t.Errorf("UsernameSkeleton(%q) = %+q, want %+q (that of %q)", in, got, want, g[0])
			}
		}
	}
	// The examples are canonical usernames, so they reach the skeleton as typed.
	for _, in := range []string{"ѕсоре", "ɑdmin", "admın", "ᴀdmin"} {
		if c, err := auth.CanonicalUsername(in); err != nil || c != in {
			t.Errorf("CanonicalUsername(%q) = %q, %v; want it unchanged", in, c, err)
		}
	}
}

func TestUsernameSkeletonDistinct(t *testing.T) {
	pairs := [][2]string{
		{"alice", "alicia"},
		{"alice", "alice2"},
		{"scope", "scape"},
		{"a.b", "a_b"},
		{"a.b", "a-b"},
		{"a_b", "a-b"},
		{"ab", "ba"},
		{"admin", "admins"},
		{"bob", "bobby"},
		{"ivan", "иван"},
		{"alice", "алиса"},
		{"たなか", "タナカ"},
		{"user1", "user2"},
		{"user10", "user11"},
	}
	for _, p := range pairs {
		if a, b := auth.UsernameSkeleton(p[0]), auth.UsernameSkeleton(p[1]); a == b {
			t.Errorf("UsernameSkeleton(%q) = UsernameSkeleton(%q) = %+q; want them distinct", p[0], p[1], a)
		}
	}
}

// Every Latin small capital has the skeleton of the lower-case letter it is a capital of.
func TestUsernameSkeletonSmallCapitals(t *testing.T) {
	caps := "ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘꞯʀꜱᴛᴜᴠᴡʏᴢ"
	letters := "abcdefghijklmnopqrstuvwyz" // Unicode has no small capital X
	if utf8.RuneCountInString(caps) != len(letters) {
		t.Fatal("table mismatch")
	}
	i := 0
	for _, r := range caps {
		if got, want := auth.UsernameSkeleton(string(r)), auth.UsernameSkeleton(letters[i:i+1]); got != want {
			t.Errorf("UsernameSkeleton(%q %U) = %+q, want %+q (that of %q)", r, r, got, want, letters[i:i+1])
		}
		i++
	}
}

func TestUsernameSkeletonProperties(t *testing.T) {
	for _, in := range []string{"", "alice", "admin", "ѕсоре", "ᴀdmin", "вов", "ǉubljana", "σοφια", "たなか", "田中", "x.y_z-1", "ꭺꭺꭺ", "ffi"} {
		s := auth.UsernameSkeleton(in)
		if again := auth.UsernameSkeleton(s); again != s {
			t.Errorf("not idempotent: %q -> %+q -> %+q", in, s, again)
		}
		if !utf8.ValidString(s) {
			t.Errorf("UsernameSkeleton(%q) = %+q: invalid UTF-8", in, s)
		}
		if s != strings.ToLower(s) {
			t.Errorf("UsernameSkeleton(%q) = %+q: not lower case", in, s)
		}
	}
}

func TestUsernamesInvisibleRefused(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"hangul filler U+3164", "\u3164\u3164\u3164", auth.ErrUsernameInvisible},
		{"halfwidth hangul filler U+FFA0", "\uFFA0\uFFA0\uFFA0", auth.ErrUsernameInvisible},
		{"choseong filler U+115F", "\u115F\u115F\u115F", auth.ErrUsernameInvisible},
		{"jungseong filler U+1160", "\u1160\u1160\u1160", auth.ErrUsernameInvisible},
		{"filler inside hangul", "김\u3164철수", auth.ErrUsernameInvisible},
		{"filler at the end of hangul", "김철수\u3164", auth.ErrUsernameInvisible},
		{"filler inside latin", "ali\u3164ce", auth.ErrUsernameInvisible},
		{"braille blank U+2800", "\u2800\u2800\u2800", auth.ErrUsernameChars},
		{"braille blank inside", "ali\u2800ce", auth.ErrUsernameChars},
		{"ideographic spaces only", "\u3000\u3000\u3000", auth.ErrUsernameLength},
		{"khmer inherent vowel", "ab\u17B4c", auth.ErrUsernameChars},
		{"combining grapheme joiner", "ab\u034Fc", auth.ErrUsernameChars},
		{"mongolian vowel separator", "ab\u180Ec", auth.ErrUsernameChars},
		{"word joiner", "ab\u2060c", auth.ErrUsernameChars},
		{"musical null notehead", "ab\U0001D159c", auth.ErrUsernameChars},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := auth.CanonicalUsername(tt.in); !errors.Is(err, tt.want) || got != "" {
				t.Fatalf("CanonicalUsername(%q) = %q, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
	// Hangul itself stays welcome.
	if got, err := auth.CanonicalUsername("김철수"); err != nil || got != "김철수" {
		t.Fatalf("CanonicalUsername(hangul) = %q, %v", got, err)
	}
}

func TestCleanDisplayNameInvisibleRefused(t *testing.T) {
	for _, in := range []string{
		"\u3164", "\u3164\u3164\u3164", "\uFFA0", "\u115F", "\u1160", "\u2800\u2800", "\U0001D159",
		" ", "   ", "\u3000", "\u3000\u3000", "\t", "\u00A0", "\u0301", "\u0301\u0302", "\uFE0F",
		"\u034F", "\u17B4", "\u3164 \u3164", " \u2800 ",
		"Alice\u3164", "\u3164Alice", "Al\u2800ice", "Alice \uFFA0 Smith", "Al\u115Fice", "Alice\u034F",
		"\U00016FE4x",
	} {
		got, err := auth.CleanDisplayName(in)
		if !errors.Is(err, auth.ErrDisplayNameInvisible) && !errors.Is(err, auth.ErrDisplayName) || got != "" {
			t.Errorf("CleanDisplayName(%+q) = %q, %v; want an error", in, got, err)
		}
	}
	for _, in := range []string{"\u3164", "   ", "\u2800", "Alice\u3164"} {
		if _, err := auth.CleanDisplayName(in); !errors.Is(err, auth.ErrDisplayNameInvisible) {
			t.Errorf("CleanDisplayName(%+q) error = %v, want ErrDisplayNameInvisible", in, err)
		}
	}
	for _, in := range []string{"", "A", "-", "…", "🎟", "Alice 🎟\uFE0F", "田中 太郎", "김철수", "e\u0301"} {
		if _, err := auth.CleanDisplayName(in); err != nil {
			t.Errorf("CleanDisplayName(%+q) = %v, want nil", in, err)
		}
	}
}

func TestCleanUserAgent(t *testing.T) {
	long := strings.Repeat("a", 300)
	tests := []struct{ name, in, want string }{
		{"empty", "", ""},
		{"typical", "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0", "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"},
		{"right-to-left override", "Mozilla\u202Egnp.exe", "Mozillagnp.exe"},
		{"every bidi control", "a\u202A\u202B\u202C\u202D\u202Eb\u2066\u2067\u2068\u2069c\u200E\u200F\u061Cd", "abcd"},
		{"zero-width characters", "a\u200Bb\u200Cc\u200Dd\u2060e\uFEFFf", "abcdef"},
		{"fillers", "a\u3164b\uFFA0c\u115Fd\u1160e\u2800f", "abcdef"},
		{"tag characters", "a\U000E0041\U000E007Fb", "ab"},
		{"controls", "a\x00b\x07c\x1bd\x7fe\u0085f", "abcd" + "e f"},
		{"whitespace runs collapse", "a \t\n\r  b\u00A0\u3000c\u2028d", "a b c d"},
		{"surrounding space", "  \t a b \n ", "a b"},
		{"space around a dropped character", "a \u202E b", "a b"},
		{"only invisible", "\u202E\u200B\u3164\t ", ""},
		{"invalid utf-8 dropped", "a\xffb\xc3c\xed\xa0\x80d", "abcd"},
		{"replacement character dropped", "a\uFFFDb", "ab"},
		{"keeps non-ascii text", "Браузер/1.0 (日本語)", "Браузер/1.0 (日本語)"},
		{"256 bytes kept", long[:256], long[:256]},
		{"cut to 256 bytes", long, long[:256]},
		{"cut never splits a rune", strings.Repeat("a", 255) + "é", strings.Repeat("a", 255)},
		{"cut counts cleaned bytes", strings.Repeat("\u202E", 100) + long, long[:256]},
		{"cut drops a pending space", strings.Repeat("a", 255) + " b", strings.Repeat("a", 255)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := auth.CleanUserAgent(tt.in)
			if got != tt.want {
				t.Fatalf("CleanUserAgent(%+q) = %+q, want %+q", tt.in, got, tt.want)
			}
			if again := auth.CleanUserAgent(got); again != got {
				t.Fatalf("not idempotent: %+q -> %+q", got, again)
			}
		})
	}
}

// BenchmarkUsernameSkeleton measures the skeleton of a typical name (paid once per registration
// and login, next to an argon2id hash).
func BenchmarkUsernameSkeleton(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		auth.UsernameSkeleton("administrator1")
	}
}
