package auth

import (
	"strings"

	"github.com/mtibben/confusables"
)

// maxSkeletonRounds bounds the rounds UsernameSkeleton runs to reach its fixed point. Two
// suffice for every input the tests and fuzzers have found (the second only confirms the first);
// the bound only guarantees termination.
const maxSkeletonRounds = 4

// smallCapitals maps the Latin letter small capitals to the letters they are capitals of.
// confusables.txt keeps them as prototypes of their own (ᴀ is the prototype of Cherokee ꭺ, ʙ and
// ʜ those of Cyrillic в and н), because a small capital looks like an upper-case letter at
// x-height, not like the lower-case one. Usernames are case-insensitive, so "ᴀdmin" reads as
// "Admin", which is the account "admin": we fold them to lower case too.
var smallCapitals = map[rune]rune{
	'\u1D00': 'a', '\u0299': 'b', '\u1D04': 'c', '\u1D05': 'd', '\u1D07': 'e', '\uA730': 'f',
	'\u0262': 'g', '\u029C': 'h', '\u026A': 'i', '\u1D0A': 'j', '\u1D0B': 'k', '\u029F': 'l',
	'\u1D0D': 'm', '\u0274': 'n', '\u1D0F': 'o', '\u1D18': 'p', '\uA7AF': 'q', '\u0280': 'r',
	'\uA731': 's', '\u1D1B': 't', '\u1D1C': 'u', '\u1D20': 'v', '\u1D21': 'w', '\u028F': 'y',
	'\u1D22': 'z',
}

// UsernameSkeleton returns the key under which look-alike usernames coincide: two canonical
// usernames (see CanonicalUsername) that a reader could take for one another have the same
// skeleton, and registration refuses a name whose skeleton is taken. The skeleton is a
// comparison key only, never shown or stored as a name: it mixes scripts ("admin" becomes
// "adrnin").
//
// It is the confusable skeleton of Unicode Technical Standard #39, section 4 (NFD, then each
// character replaced by its prototype in confusables.txt, then NFD again; data of Unicode 13
// from github.com/mtibben/confusables), extended by two rules of ours and iterated to a fixed
// point, so that UsernameSkeleton(UsernameSkeleton(x)) == UsernameSkeleton(x):
//
//   - before and after the UTS #39 mapping, the Latin small capitals ᴀ ʙ ᴄ ᴅ ᴇ ꜰ ɢ ʜ ɪ ᴊ ᴋ ʟ ᴍ ɴ
//     ᴏ ᴘ ꞯ ʀ ꜱ ᴛ ᴜ ᴠ ᴡ ʏ ᴢ become the lower-case letters they are capitals of (confusables.txt
//     keeps most of them as prototypes), so "ᴀdmin" collides with "admin", and so do Cyrillic
//     letters whose prototype is a small capital ("вов" with "bob");
//   - the result is lower-cased, since prototypes may be capitals ("0" maps to "O").
//
// So "ѕсоре" (Cyrillic) collides with "scope", "ɑdmin" (U+0251), "admın" (U+0131) and "ᴀdmin"
// with "admin", "rn" with "m", "0" with "o", "1" and "I" with "l". It does not make "a.b",
// "a_b" and "a-b" one name, nor "alice" and "alicia". Invisible characters are refused by
// CanonicalUsername and do not reach it.
func UsernameSkeleton(canonical string) string {
	s := canonical
	for range maxSkeletonRounds {
		next := strings.ToLower(foldSmallCapitals(confusables.Skeleton(foldSmallCapitals(s))))
		if next == s {
			break
		}
		s = next
	}
	return s
}

// foldSmallCapitals replaces the Latin small capitals by their lower-case letters.
func foldSmallCapitals(s string) string {
	return strings.Map(func(r rune) rune {
		if l, ok := smallCapitals[r]; ok {
			return l
		}
		return r
	}, s)
}
