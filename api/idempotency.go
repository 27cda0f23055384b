package api

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"boxoffice/tickets"
)

// Idempotent requests (draft-ietf-httpapi-idempotency-key-header): the client names each
// request it may retry with a key; the domain stores the first answer with the key
// (tickets.Reply) and replays it, byte for byte, to a retry with the same key and request.

const (
	headerIdempotencyKey = "Idempotency-Key"
	// headerReplayed marks an answer that is the stored answer of an earlier request.
	headerReplayed = "Idempotent-Replayed"
)

// Errors of idempotencyKey (problemTable: 400 idempotency_key_missing, invalid_idempotency_key).
var (
	errMissingKey = errors.New("missing Idempotency-Key")
	errBadKey     = errors.New("malformed Idempotency-Key")
)

// idempotencyKey reads the Idempotency-Key header. The draft makes it an RFC 8941 String
// ("abc": printable ASCII in double quotes, with \" and \\ as the only escapes); many clients
// send the key bare (abc, a UUID), so a bare key of token characters (RFC 9110 tchar, ":" and
// "/") is accepted too, and both forms of one key are the same key. It returns errMissingKey
// when the header is absent or empty, and errBadKey when it is given twice, is neither form,
// has parameters or is longer than tickets.MaxKeyLen characters unquoted.
func idempotencyKey(c *fiber.Ctx) (string, error) {
	vals := c.Request().Header.PeekAll(headerIdempotencyKey)
	if len(vals) > 1 {
		return "", errBadKey
	}
	v := ""
	if len(vals) == 1 {
		v = strings.Trim(string(vals[0]), " \t") // a copy: it outlives Fiber's buffers
	}
	if v == "" {
		return "", errMissingKey
	}
	key, ok := parseKey(v)
	if !ok || key == "" || len(key) > tickets.MaxKeyLen {
		return "", errBadKey
	}
	return key, nil
}

// parseKey reads v as an RFC 8941 sf-string or a bare key; ok is false for anything else.
func parseKey(v string) (key string, ok bool) {
	if v[0] != '"' {
		for i := 0; i < len(v); i++ {
			if !keyChar(v[i]) {
				return "", false
			}
		}
		return v, true
	}
	var b strings.Builder
	for i := 1; i < len(v); i++ {
		switch ch := v[i]; {
		case ch == '\\':
			if i++; i == len(v) || (v[i] != '"' && v[i] != '\\') {
				return "", false
			}
			b.WriteByte(v[i])
		case ch == '"':
			if i != len(v)-1 { // nothing may follow: no parameters, no list
				return "", false
			}
			return b.String(), true
		case ch < 0x20 || ch > 0x7e:
			return "", false
		default:
			b.WriteByte(ch)
		}
	}
	return "", false // no closing quote
}

// keyChar reports whether ch may appear in a bare key: RFC 9110 tchar, ":" or "/" (the
// characters of an RFC 8941 token, which may also start with them here).
func keyChar(ch byte) bool {
	switch {
	case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~:/", ch) >= 0
}

// sendReply sends a stored answer as it was stored, marked as a replay when it is one.
func sendReply(c *fiber.Ctx, r tickets.Reply, replayed bool) error {
	if r.Location != "" {
		c.Set(fiber.HeaderLocation, r.Location)
	}
	if replayed {
		c.Set(headerReplayed, "true")
	}
	c.Set(fiber.HeaderContentType, r.ContentType)
	return c.Status(r.Status).Send(r.Body)
}
