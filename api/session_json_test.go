package api

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"boxoffice/session"
)

// TestSessionJSONMatchesEncodingJSON: the hand-written encoding of a session answer is byte for
// byte encoding/json's (marshalJSON of viewSession), for strings with every kind of character
// JSON escapes (quotes, backslashes, control characters, invalid UTF-8, U+2028/U+2029, HTML
// characters, which are not escaped), times in several zones and precisions, and data of
// several keys with values that are not compact.
func TestSessionJSONMatchesEncodingJSON(t *testing.T) {
	pieces := []string{"", "a", "Zürich", `"`, `\`, "\b", "\f", "\n", "\r", "\t", "\x00", "\x1f", "\x7f",
		"\xff", "\xe2\x80", "\u2028", "\u2029", "<script>&amp;", "😀", "é", "\u00a0", "/", "'"}
	values := []string{`1`, `"x"`, `{"a": [1, 2, {"b": null}]}`, ` true `, `"<&>"`, `"\u2028"`, `[ ]`, `-0.5e10`}
	zones := []*time.Location{time.UTC, time.FixedZone("", 2*3600+30*60), time.FixedZone("", -7*3600)}
	rnd := rand.New(rand.NewPCG(13, 1))
	str := func() string {
		var sb strings.Builder
		for range rnd.IntN(5) {
			sb.WriteString(pieces[rnd.IntN(len(pieces))])
		}
		return sb.String()
	}
	tm := func() time.Time {
		return time.Unix(rnd.Int64N(4e9), rnd.Int64N(1e9)*int64(rnd.IntN(2))).In(zones[rnd.IntN(len(zones))])
	}
	for i := range 3000 {
		s := session.Session{ID: str(), UserID: str(), CreatedAt: tm(), LastSeenAt: tm(), IdleExpiresAt: tm(),
			AbsoluteExpiresAt: tm(), DeviceName: str(), IP: str(), UserAgent: str(), Version: int64(i)}
		if n := rnd.IntN(20); n > 0 {
			s.Data = map[string]json.RawMessage{}
			for range n {
				s.Data[str()] = json.RawMessage(values[rnd.IntN(len(values))])
			}
		}
		current := s.ID
		if i%2 == 1 {
			current = "other"
		}
		want, err := marshalJSON(viewSession(s, current))
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendSessionJSON(nil, s, current)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("session %d:\n got %s (%v)\nwant %s", i, got, err, want)
		}
	}
	// Invalid data fails as encoding/json does.
	bad := session.Session{Data: map[string]json.RawMessage{"k": json.RawMessage(`{"a":`)}}
	if _, err := marshalJSON(viewSession(bad, "")); err == nil {
		t.Fatal("encoding/json accepted invalid data")
	}
	if _, err := appendSessionJSON(nil, bad, ""); err == nil {
		t.Fatal("invalid data was written")
	}
}
