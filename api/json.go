package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
)

// maxJSONDepth bounds nesting in request bodies.
const maxJSONDepth = 32

// parseObject reads a request body that must be one JSON object. It rejects invalid UTF-8,
// duplicate keys at any depth (which parsers disagree about), nesting deeper than
// maxJSONDepth and trailing data, and returns the top-level members undecoded.
func parseObject(body []byte) (map[string]json.RawMessage, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, &malformedError{"The request body is empty; send a JSON object."}
	}
	if !utf8.Valid(body) {
		return nil, &malformedError{"The request body is not valid UTF-8."}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := walk(dec, 0); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &malformedError{"Unexpected data after the JSON value."}
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return nil, errNotObject
	}
	return m, nil
}

// errNotObject is returned by parseObject for well-formed JSON that is not an object.
var errNotObject = errors.New("not a JSON object")

// walk consumes one JSON value from dec, enforcing the rules of parseObject.
// depth is the number of containers around the value; the top-level object is level 1.
func walk(dec *json.Decoder, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return &malformedError{"The request body is not valid JSON."}
	}
	d, ok := tok.(json.Delim)
	if !ok {
		if depth == 0 {
			return errNotObject
		}
		return nil
	}
	if depth >= maxJSONDepth {
		return &malformedError{fmt.Sprintf("JSON nesting exceeds %d levels.", maxJSONDepth)}
	}
	switch d {
	case '{':
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return &malformedError{"The request body is not valid JSON."}
			}
			k, _ := kt.(string)
			if seen[k] {
				return &malformedError{fmt.Sprintf("Duplicate key %q.", k)}
			}
			seen[k] = true
			if err := walk(dec, depth+1); err != nil {
				return err
			}
		}
	case '[':
		if depth == 0 {
			return errNotObject
		}
		for dec.More() {
			if err := walk(dec, depth+1); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing delimiter
		return &malformedError{"The request body is not valid JSON."}
	}
	return nil
}

// body is a parsed request object whose fields are read by name, collecting a message per
// invalid field. Names match exactly: "Username" is not "username". A nested object (see
// objects) shares its parent's messages, its field names prefixed with its path, such as
// "seats[2].x".
type body struct {
	m      map[string]json.RawMessage
	errs   map[string]string
	prefix string
}

// readBody checks the media type and parses the body as a JSON object with only the given
// fields. Unknown fields (including case variants of known ones) are validation errors.
func readBody(c *fiber.Ctx, allowed ...string) (*body, error) {
	if err := requireJSON(c, "application/json"); err != nil {
		return nil, err
	}
	m, err := parseObject(rawBody(c))
	if errors.Is(err, errNotObject) {
		return nil, &validationError{map[string]string{"": "the body must be a JSON object"}}
	}
	if err != nil {
		return nil, err
	}
	b := &body{m: m, errs: map[string]string{}}
	b.only(allowed)
	return b, nil
}

// only records "unknown field" for every member not in allowed.
func (b *body) only(allowed []string) {
	for k := range b.m {
		if !slices.Contains(allowed, k) && len(b.errs) < maxFieldErrors {
			b.errs[b.prefix+k] = "unknown field"
		}
	}
}

// raw returns field name undecoded; absent and null give false (and "is required" if
// required).
func (b *body) raw(name string, required bool) (json.RawMessage, bool) {
	raw, ok := b.m[name]
	if !ok || string(raw) == "null" {
		if required {
			b.fail(name, "is required")
		}
		return nil, false
	}
	return raw, true
}

// present reports whether field name was sent with a value other than null.
func (b *body) present(name string) bool {
	raw, ok := b.m[name]
	return ok && string(raw) != "null"
}

// str returns field name as a string; absent, null or "" give "" (an error if required).
func (b *body) str(name string, required bool) string {
	raw, ok := b.raw(name, required)
	if !ok {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		b.fail(name, "must be a string")
		return ""
	}
	if s == "" && required {
		b.fail(name, "must not be empty")
	}
	if strings.ContainsRune(s, 0) {
		b.fail(name, "must not contain NUL characters")
		return ""
	}
	return s
}

// integer returns field name as an integer (no fraction, no exponent); absent or null give 0
// (an error if required).
func (b *body) integer(name string, required bool) int64 {
	raw, ok := b.raw(name, required)
	if !ok {
		return 0
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err != nil {
		b.fail(name, "must be an integer")
		return 0
	}
	return n
}

// boolean returns field name as a boolean; absent or null give false.
func (b *body) boolean(name string) bool {
	raw, ok := b.raw(name, false)
	if !ok {
		return false
	}
	var v bool
	if err := json.Unmarshal(raw, &v); err != nil {
		b.fail(name, "must be true or false")
	}
	return v
}

// strs returns field name as an array of strings; absent or null give nil (an error if
// required).
func (b *body) strs(name string, required bool) []string {
	raw, ok := b.raw(name, required)
	if !ok {
		return nil
	}
	var v []string
	if err := json.Unmarshal(raw, &v); err != nil || v == nil {
		b.fail(name, "must be an array of strings")
		return nil
	}
	for _, s := range v {
		if strings.ContainsRune(s, 0) {
			b.fail(name, "must not contain NUL characters")
			return nil
		}
	}
	return v
}

// time returns field name as an RFC 3339 date-time with its offset (see parseTime); absent
// or null give the zero time (an error if required).
func (b *body) time(name string, required bool) time.Time {
	s := b.str(name, required)
	if s == "" {
		return time.Time{}
	}
	t, err := parseTime(s)
	if err != nil {
		b.fail(name, err.Error())
	}
	return t
}

// objects returns field name as an array of objects, each a body with only the allowed
// fields whose messages are recorded under "name[i].field"; absent or null give nil (an
// error if required).
func (b *body) objects(name string, required bool, allowed ...string) []*body {
	raw, ok := b.raw(name, required)
	if !ok {
		return nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil || items == nil {
		b.fail(name, "must be an array of objects")
		return nil
	}
	out := make([]*body, 0, len(items))
	for i, item := range items {
		at := fmt.Sprintf("%s%s[%d]", b.prefix, name, i)
		var m map[string]json.RawMessage
		if err := json.Unmarshal(item, &m); err != nil || m == nil {
			if _, ok := b.errs[at]; !ok && len(b.errs) < maxFieldErrors {
				b.errs[at] = "must be an object"
			}
			continue
		}
		child := &body{m: m, errs: b.errs, prefix: at + "."}
		child.only(allowed)
		out = append(out, child)
	}
	return out
}

// object returns field name as a nested object with only the allowed fields, whose messages
// are recorded under "name.field"; absent or null give nil (an error if required).
func (b *body) object(name string, required bool, allowed ...string) *body {
	raw, ok := b.raw(name, required)
	if !ok {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		b.fail(name, "must be an object")
		return nil
	}
	child := &body{m: m, errs: b.errs, prefix: b.prefix + name + "."}
	child.only(allowed)
	return child
}

// fail records a validation message for name unless one is already recorded.
func (b *body) fail(name, msg string) {
	if _, ok := b.errs[b.prefix+name]; !ok && len(b.errs) < maxFieldErrors {
		b.errs[b.prefix+name] = msg
	}
}

// maxFieldErrors bounds the errors one 422 lists: a body of 10,000 bad seats is refused with
// the first ones named, not with a multi-megabyte answer.
const maxFieldErrors = 50

// err returns the collected validation errors, or nil.
func (b *body) err() error {
	if len(b.errs) == 0 {
		return nil
	}
	return &validationError{b.errs}
}

// parseTime reads a request's date-time: RFC 3339 with a time-zone offset ("Z" or ±hh:mm),
// seconds required, fractions allowed.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	_, offset := t.Zone()
	// Go also takes a decimal comma and an offset hour of 24; RFC 3339 does not.
	if err != nil || strings.Contains(s, ",") || offset <= -24*3600 || offset >= 24*3600 {
		return time.Time{}, errors.New("must be an RFC 3339 date-time with an offset, such as 2026-12-01T20:00:00+01:00")
	}
	return t, nil
}

// rawBody is the request body exactly as received. Never c.Body(): Fiber inflates gzip,
// deflate and brotli bodies there without any size limit (a few KiB on the wire became GiBs in
// memory); the identityEncoding middleware refuses encoded bodies before any handler runs.
func rawBody(c *fiber.Ctx) []byte { return c.Request().Body() }

// identityEncoding refuses request bodies sent with a Content-Encoding: boxoffice accepts
// only identity-encoded bodies (415 unsupported_media_type).
func identityEncoding() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if ce := c.Get(fiber.HeaderContentEncoding); ce != "" && !strings.EqualFold(strings.TrimSpace(ce), "identity") {
			return errUnsupportedMedia
		}
		return c.Next()
	}
}

// requireJSON accepts application/json, or one of the extra media types, with an optional
// charset of utf-8; anything else is errUnsupportedMedia.
func requireJSON(c *fiber.Ctx, types ...string) error {
	mt, params, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil {
		return errUnsupportedMedia
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return errUnsupportedMedia
	}
	for _, t := range types {
		if mt == t {
			return nil
		}
	}
	return errUnsupportedMedia
}

// writeJSON sends v as JSON with the given content type (see marshalJSON).
func writeJSON(c *fiber.Ctx, contentType string, v any) error {
	b, err := marshalJSON(v)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, contentType)
	return c.Send(b)
}

// marshalJSON is the one JSON encoding of answers: without HTML escaping and without a
// trailing newline. Bodies stored to be replayed later (tickets.Reply) are encoded by it too,
// so that they are byte for byte what writeJSON would have sent.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
