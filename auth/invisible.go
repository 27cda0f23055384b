package auth

import "unicode"

// invisibleFillers are characters that draw nothing and are not marked as such by their
// category: letters and symbols used to make names that look blank. The Hangul fillers U+115F,
// U+1160, U+3164 and U+FFA0 (category Lo) are covered by Unicode's
// Other_Default_Ignorable_Code_Point property instead, see invisible.
var invisibleFillers = map[rune]bool{
	'\u2800':     true, // BRAILLE PATTERN BLANK (So)
	'\U0001D159': true, // MUSICAL SYMBOL NULL NOTEHEAD (So)
	'\U00016FE4': true, // KHITAN SMALL SCRIPT FILLER (Mn)
}

// invisible reports whether r is a character that renders as nothing where text is shown: a
// format character (Cf: zero-width characters, bidi controls and isolates U+202A–U+202E and
// U+2066–U+2069, U+FEFF, tags), a control character (Cc), a default-ignorable code point
// (Other_Default_Ignorable_Code_Point: the Hangul fillers U+115F, U+1160, U+3164, U+FFA0, the
// combining grapheme joiner U+034F, Khmer U+17B4–U+17B5, reserved U+FFF0–U+FFF8, ...) or one of
// invisibleFillers. Whitespace is not invisible: it shows as space.
func invisible(r rune) bool {
	return unicode.Is(unicode.Cf, r) || unicode.IsControl(r) ||
		unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) || invisibleFillers[r]
}

// visible reports whether r draws something of its own: a letter, number, punctuation or
// symbol that is not invisible. Spaces and marks, which only modify a neighbour, are not.
func visible(r rune) bool {
	return (unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsPunct(r) || unicode.IsSymbol(r)) && !invisible(r)
}
