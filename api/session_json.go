package api

import (
	"bytes"
	"encoding/json"
	"slices"
	"time"
	"unicode/utf8"

	"boxoffice/session"
)

// appendSessionJSON appends the JSON of viewSession(s, currentID) to b, byte for byte what
// marshalJSON would write (TestSessionJSONMatchesEncodingJSON compares them), without
// reflection: GET /v1/session is the hot path, and encoding/json took about a third of a
// cached answer's time. A data value that is not valid JSON gives json.Compact's error, as
// encoding/json would.
func appendSessionJSON(b []byte, s session.Session, currentID string) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, s.ID)
	b = append(b, `,"user_id":`...)
	b = appendJSONString(b, s.UserID)
	b = append(b, `,"created_at":`...)
	b = appendJSONTime(b, s.CreatedAt)
	b = append(b, `,"last_seen_at":`...)
	b = appendJSONTime(b, s.LastSeenAt)
	b = append(b, `,"idle_expires_at":`...)
	b = appendJSONTime(b, s.IdleExpiresAt)
	b = append(b, `,"absolute_expires_at":`...)
	b = appendJSONTime(b, s.AbsoluteExpiresAt)
	b = append(b, `,"device_name":`...)
	b = appendJSONString(b, s.DeviceName)
	b = append(b, `,"ip":`...)
	b = appendJSONString(b, s.IP)
	b = append(b, `,"user_agent":`...)
	b = appendJSONString(b, s.UserAgent)
	if s.ID == currentID {
		b = append(b, `,"current":true,"data":{`...)
	} else {
		b = append(b, `,"current":false,"data":{`...)
	}
	var keys [16]string // on the stack for up to 16 keys
	sorted := keys[:0]
	for k := range s.Data {
		sorted = append(sorted, k)
	}
	slices.Sort(sorted) // encoding/json writes map keys in order
	for i, k := range sorted {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		buf := bytes.NewBuffer(b)
		if err := json.Compact(buf, s.Data[k]); err != nil {
			return nil, err
		}
		b = buf.Bytes()
	}
	return append(b, "}}"...), nil
}

// appendJSONTime appends t as time.Time.MarshalJSON does (RFC 3339 with nanoseconds).
func appendJSONTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string exactly as encoding/json does without HTML
// escaping: '"' and '\\' escaped, control characters as \b \f \n \r \t or \u00XX, invalid UTF-8
// as \ufffd, and U+2028 and U+2029 escaped. No value (even one from a compromised broker) can
// break the framing of a seat-map event (seat_events.go) either.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
