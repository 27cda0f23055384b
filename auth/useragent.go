package auth

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxUserAgentBytes bounds the User-Agent text kept with a session.
const MaxUserAgentBytes = 256

// CleanUserAgent returns the text of a User-Agent header fit to be stored and shown in a
// session list: invalid UTF-8 bytes, control characters (Cc), format characters (Cf: bidi
// overrides and isolates U+202A–U+202E and U+2066–U+2069, zero-width characters, U+FEFF, tags)
// and other invisible characters (Hangul fillers, U+2800 BRAILLE PATTERN BLANK, ...) are
// dropped; every run of whitespace (Unicode White_Space, including tabs and newlines) becomes
// one ASCII space; surrounding space is trimmed; and the result is cut to at most
// MaxUserAgentBytes (256) bytes at a character boundary. It never fails (the result may be
// empty) and never shares memory with s, so it may be kept after s's buffer is reused.
func CleanUserAgent(s string) string {
	var b strings.Builder
	b.Grow(min(len(s), MaxUserAgentBytes))
	space := false // a space is pending: written only before the next kept character
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			// invalid UTF-8 (or U+FFFD itself, which only ever stands for damage): dropped
		case unicode.IsSpace(r):
			space = b.Len() > 0
		case invisible(r):
		default:
			n := utf8.RuneLen(r)
			if space {
				n++
			}
			if b.Len()+n > MaxUserAgentBytes {
				return b.String()
			}
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}
