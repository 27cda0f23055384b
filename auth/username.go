package auth

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Username and display name limits, in characters after canonicalisation.
const (
	UsernameMinLen    = 3
	UsernameMaxLen    = 32
	DisplayNameMaxLen = 64
)

// Validation errors for usernames and display names; their text is safe to show to clients.
var (
	ErrUsernameLength  = errors.New("must be 3 to 32 characters")
	ErrUsernameChars   = errors.New("may contain only letters, digits, '.', '_' and '-'")
	ErrUsernameScripts = errors.New("must not mix letters from different scripts")
	ErrUsernameEdge    = errors.New("must start and end with a letter or digit")
	// ErrUsernameInvisible reports a letter that draws nothing, such as the Hangul fillers
	// U+115F, U+1160, U+3164 and U+FFA0 (category Lo, so otherwise a letter).
	ErrUsernameInvisible = errors.New("must not contain invisible characters")
	ErrDisplayName       = errors.New("must be at most 64 printable characters")
	// ErrDisplayNameInvisible reports a display or device name that is not empty but shows
	// nothing (only spaces, marks, fillers or blank patterns), or that contains an invisible
	// filler anywhere.
	ErrDisplayNameInvisible = errors.New("must contain a visible character and no invisible ones")
)

// maxUsernameInput bounds the bytes of a username accepted for canonicalisation: 32 characters
// of 4 bytes, plus surrounding space.
const maxUsernameInput = 256

var folder = cases.Fold()

// foldCherokee completes x/text's case folding for Cherokee, which maps small letters to capital
// ones (CaseFolding.txt) where cases.Fold swaps the two cases (golang/go#46101): without it
// "ᎠᎡᎢ" and "ꭰꭱꭲ" would canonicalise to different names.
func foldCherokee(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 0xAB70 && r <= 0xABBF:
			return 0x13A0 + (r - 0xAB70)
		case r >= 0x13F8 && r <= 0x13FD:
			return 0x13F0 + (r - 0x13F8)
		}
		return r
	}, s)
}

// CanonicalUsername returns the form under which a username is stored and compared: Unicode
// NFKC, case-folded, NFKC again (folding can denormalise), with surrounding space trimmed. The
// result must be 3–32 characters of letters, digits and ". _ -", begin and end with a letter or
// digit, use letters of a single script and no invisible letter, so that look-alikes
// ("Ａｌｉｃｅ", "ALICE", "alice" with a Cyrillic "а") cannot register as different accounts.
// Whole-name look-alikes in one script ("ѕсоре" in Cyrillic for "scope") pass here; the user
// store keys names by UsernameSkeleton to refuse them. It returns ErrUsernameLength,
// ErrUsernameChars, ErrUsernameScripts, ErrUsernameEdge or ErrUsernameInvisible (Hangul
// fillers and other default-ignorable letters).
func CanonicalUsername(s string) (string, error) {
	if len(s) > maxUsernameInput {
		return "", ErrUsernameLength // before normalising: NFKC can expand a rune 18-fold
	}
	if !utf8.ValidString(s) {
		return "", ErrUsernameChars
	}
	c := norm.NFKC.String(foldCherokee(folder.String(norm.NFKC.String(s))))
	c = strings.TrimSpace(c)
	n := utf8.RuneCountInString(c)
	if n < UsernameMinLen || n > UsernameMaxLen {
		return "", ErrUsernameLength
	}
	var script *unicode.RangeTable
	for _, r := range c {
		switch {
		case r == '.' || r == '_' || r == '-':
		case unicode.IsDigit(r):
			if r > unicode.MaxASCII {
				return "", ErrUsernameChars // non-ASCII digits look like ASCII ones
			}
		case unicode.IsLetter(r):
			if invisible(r) {
				return "", ErrUsernameInvisible
			}
			s := scriptOf(r)
			if s == nil {
				return "", ErrUsernameChars
			}
			if script != nil && s != script {
				return "", ErrUsernameScripts
			}
			script = s
		default:
			return "", ErrUsernameChars
		}
	}
	first, _ := utf8.DecodeRuneInString(c)
	last, _ := utf8.DecodeLastRuneInString(c)
	if !isAlnum(first) || !isAlnum(last) {
		return "", ErrUsernameEdge
	}
	return c, nil
}

// CleanDisplayName normalises a display name (or a session's device name) to NFC with
// surrounding space trimmed. It returns ErrDisplayName for invalid UTF-8, names over 64
// characters and control, format (including bidi overrides), non-printable and non-ASCII space
// characters; and ErrDisplayNameInvisible for a non-empty input without a visible character
// (only whitespace, marks, fillers, blank patterns...) and for invisible fillers anywhere
// (Hangul fillers U+115F U+1160 U+3164 U+FFA0, U+2800 BRAILLE PATTERN BLANK, other
// default-ignorable code points). The empty string is returned as is.
func CleanDisplayName(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", ErrDisplayName
	}
	c := strings.TrimSpace(norm.NFC.String(s))
	if utf8.RuneCountInString(c) > DisplayNameMaxLen {
		return "", ErrDisplayName
	}
	seen := false
	for _, r := range c {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || !unicode.IsPrint(r) && r != ' ' {
			return "", ErrDisplayName
		}
		if invisible(r) {
			return "", ErrDisplayNameInvisible
		}
		seen = seen || visible(r)
	}
	if s != "" && !seen {
		return "", ErrDisplayNameInvisible
	}
	return c, nil
}

func isAlnum(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// scriptOf returns the Unicode script table holding r, or nil for Common/Inherited/unknown.
func scriptOf(r rune) *unicode.RangeTable {
	if r < 0x80 {
		return unicode.Latin
	}
	for name, t := range unicode.Scripts {
		if name == "Common" || name == "Inherited" {
			continue
		}
		if unicode.Is(t, r) {
			return t
		}
	}
	return nil
}
