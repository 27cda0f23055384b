package tickets

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
)

// Page limits for lists.
const (
	DefaultPageLimit = 20
	MaxPageLimit     = 100
)

// cursorKey is the position after which a page starts: the sort key of the last item.
type cursorKey struct {
	Title string    `json:"t,omitempty"`
	Start time.Time `json:"s,omitzero"`
	ID    string    `json:"i"`
}

func encodeCursor(k cursorKey) string {
	b, _ := json.Marshal(k) // cannot fail: plain fields
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a cursor; an empty one is the first page. A cursor that does not decode
// is FieldErrors{"cursor"}.
func decodeCursor(s string) (cursorKey, error) {
	var k cursorKey
	if s == "" {
		return k, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 512 || json.Unmarshal(b, &k) != nil || k.ID == "" ||
		strings.ContainsRune(k.ID+k.Title, 0) || k.Start.Year() > 9999 {
		return k, FieldErrors{"cursor": "is not a cursor this API returned"}
	}
	return k, nil
}

// pageLimit checks a requested page size: 0 means DefaultPageLimit.
func pageLimit(n int) (int, error) {
	switch {
	case n == 0:
		return DefaultPageLimit, nil
	case n < 0 || n > MaxPageLimit:
		return 0, FieldErrors{"limit": "must be 1-100"}
	}
	return n, nil
}
