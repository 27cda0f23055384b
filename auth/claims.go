package auth

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// maxNumericDate is the largest exp, iat or nbf accepted: 9999-12-31T23:59:59Z. Larger values
// are no real instant and would overflow time arithmetic.
const maxNumericDate = 253402300799

// errClaims reports a payload that is not a claims set of an access token; jwt/v5 wraps it in
// ErrTokenMalformed and Verify turns that into ErrTokenInvalid.
var errClaims = errors.New("auth: malformed access-token claims")

// Claim bits, for finding missing and duplicate claims.
const (
	claimIss = 1 << iota
	claimSub
	claimAud
	claimExp
	claimNbf
	claimIat
	claimJti
	claimSid

	requiredClaims = claimIss | claimSub | claimAud | claimExp | claimIat | claimJti | claimSid
)

// accessClaims is the JWT payload of an access token. Issue marshals it with the struct tags;
// Verify decodes it with UnmarshalJSON, which is strict, so that after a successful decode every
// claim below except NotBefore is set.
type accessClaims struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  jwt.ClaimStrings `json:"aud"`
	ExpiresAt *jwt.NumericDate `json:"exp"`
	NotBefore *jwt.NumericDate `json:"nbf,omitempty"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	ID        string           `json:"jti"`
	SessionID string           `json:"sid"`
}

// UnmarshalJSON decodes a claims set strictly. It returns errClaims unless b is one JSON object
// in which:
//
//   - iss, sub, sid and jti are present and JSON strings;
//   - aud is present and a JSON string or a non-empty array of JSON strings;
//   - exp and iat are present, and nbf is absent or present, as JSON numbers written as whole,
//     non-negative seconds without fraction or exponent ("1893553745", not "1893553745.0",
//     "1.893553745e9", "-1" or the string "1893553745"), at most 253402300799 (year 9999).
//     RFC 7519 also allows fractional NumericDates, but Issue writes whole seconds and one
//     spelling per instant leaves no float rounding to reason about;
//   - none of those claims occurs twice (RFC 7519 section 4 lets a parser reject duplicates),
//     and names match exactly, case and escapes included: "IAT" or "Iat" is an unknown claim,
//     where encoding/json would match it case-insensitively.
//
// Other members are ignored, whatever their type, as RFC 7519 section 4 asks of claims an
// implementation does not understand: an instance of an older release keeps accepting the
// tokens of a newer one during a rolling deploy.
//
// It costs one pass over b after json.Valid, and allocates only the strings it keeps.
func (c *accessClaims) UnmarshalJSON(b []byte) error {
	if !json.Valid(b) {
		return errClaims
	}
	*c = accessClaims{}
	s := claimScanner{b: b}
	if !s.next('{') {
		return errClaims
	}
	var seen int
	if !s.next('}') {
		for {
			key, ok := s.str()
			if !ok || !s.next(':') {
				return errClaims
			}
			bit := claimBit(key)
			if seen&bit != 0 {
				return errClaims
			}
			seen |= bit
			switch bit {
			case claimIss:
				c.Issuer, ok = s.text()
			case claimSub:
				c.Subject, ok = s.text()
			case claimSid:
				c.SessionID, ok = s.text()
			case claimJti:
				c.ID, ok = s.text()
			case claimAud:
				c.Audience, ok = s.audience()
			case claimExp:
				c.ExpiresAt, ok = s.numericDate()
			case claimIat:
				c.IssuedAt, ok = s.numericDate()
			case claimNbf:
				c.NotBefore, ok = s.numericDate()
			default:
				ok = s.skip()
			}
			if !ok {
				return errClaims
			}
			if s.next('}') {
				break
			}
			if !s.next(',') {
				return errClaims
			}
		}
	}
	s.space()
	if s.i != len(b) || seen&requiredClaims != requiredClaims {
		return errClaims
	}
	return nil
}

// claimBit returns the bit of a claim Verify reads, or 0 for any other name.
func claimBit(name []byte) int {
	switch string(name) {
	case "iss":
		return claimIss
	case "sub":
		return claimSub
	case "aud":
		return claimAud
	case "exp":
		return claimExp
	case "nbf":
		return claimNbf
	case "iat":
		return claimIat
	case "jti":
		return claimJti
	case "sid":
		return claimSid
	}
	return 0
}

// GetExpirationTime implements jwt.Claims.
func (c *accessClaims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt, nil }

// GetIssuedAt implements jwt.Claims.
func (c *accessClaims) GetIssuedAt() (*jwt.NumericDate, error) { return c.IssuedAt, nil }

// GetNotBefore implements jwt.Claims.
func (c *accessClaims) GetNotBefore() (*jwt.NumericDate, error) { return c.NotBefore, nil }

// GetIssuer implements jwt.Claims.
func (c *accessClaims) GetIssuer() (string, error) { return c.Issuer, nil }

// GetSubject implements jwt.Claims.
func (c *accessClaims) GetSubject() (string, error) { return c.Subject, nil }

// GetAudience implements jwt.Claims.
func (c *accessClaims) GetAudience() (jwt.ClaimStrings, error) { return c.Audience, nil }

// claimScanner reads a JSON text that json.Valid accepted. Every method still checks bounds
// and reports failure rather than trusting that, so no input can make it panic.
type claimScanner struct {
	b []byte
	i int
}

// space skips JSON whitespace.
func (s *claimScanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// next skips whitespace and consumes c if it comes next.
func (s *claimScanner) next(c byte) bool {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// str consumes a JSON string and returns its contents, unescaped. Plain ASCII strings, the
// only kind Issue writes, are returned as a slice of the input without allocating; the others
// are decoded by encoding/json (escapes, and invalid UTF-8 replaced by U+FFFD).
func (s *claimScanner) str() ([]byte, bool) {
	s.space()
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false
	}
	start, plain := s.i, true
	for s.i++; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '\\':
			plain = false
			s.i++
		case c == '"':
			s.i++
			if plain {
				return s.b[start+1 : s.i-1], true
			}
			var out string
			if json.Unmarshal(s.b[start:s.i], &out) != nil {
				return nil, false
			}
			return []byte(out), true
		case c >= 0x80:
			plain = false
		}
	}
	return nil, false
}

// text consumes a JSON string value; null or any other type fails.
func (s *claimScanner) text() (string, bool) {
	b, ok := s.str()
	return string(b), ok
}

// audience consumes aud: a JSON string or a non-empty array of JSON strings.
func (s *claimScanner) audience() (jwt.ClaimStrings, bool) {
	if !s.next('[') {
		a, ok := s.text()
		return jwt.ClaimStrings{a}, ok
	}
	var aud jwt.ClaimStrings
	for {
		a, ok := s.text()
		if !ok {
			return nil, false
		}
		aud = append(aud, a)
		if s.next(']') {
			return aud, true
		}
		if !s.next(',') {
			return nil, false
		}
	}
}

// numericDate consumes a NumericDate written as whole non-negative seconds: "0" or a digit
// 1–9 followed by at most 11 digits, with no fraction or exponent, at most maxNumericDate.
func (s *claimScanner) numericDate() (*jwt.NumericDate, bool) {
	s.space()
	start := s.i
	var n int64
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' && s.i-start < 12 {
		n = n*10 + int64(s.b[s.i]-'0')
		s.i++
	}
	digits := s.b[start:s.i]
	if len(digits) == 0 || len(digits) > 1 && digits[0] == '0' || n > maxNumericDate {
		return nil, false
	}
	if s.i < len(s.b) {
		switch s.b[s.i] {
		case ',', '}', ' ', '\t', '\n', '\r':
		default: // '.', 'e', 'E', a 13th digit
			return nil, false
		}
	}
	return &jwt.NumericDate{Time: time.Unix(n, 0)}, true
}

// skip consumes one JSON value of any type. It relies on json.Valid for the value's grammar and
// tracks only strings and nesting, without recursion.
func (s *claimScanner) skip() bool {
	s.space()
	depth := 0
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '"':
			if _, ok := s.str(); !ok {
				return false
			}
			if depth == 0 {
				return true
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return true // the end of the enclosing object: a scalar ended just before it
			}
			depth--
			if depth == 0 {
				s.i++
				return true
			}
		case ',':
			if depth == 0 {
				return true
			}
		}
		s.i++
	}
	return depth == 0
}
