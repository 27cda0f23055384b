package audit

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors of a Store.
var (
	// ErrBadCursor: a Page.Cursor is not a cursor a Store returned (see ParseCursor).
	ErrBadCursor = errors.New("audit: malformed cursor")
	// ErrUnavailable: the store could not be consulted (down, slow, out of memory). Callers
	// must not present an empty list as the answer.
	ErrUnavailable = errors.New("audit: store unavailable")
)

// Appender keeps events. Append stores e (with its ID, which makes a retried append of the
// same event a no-op) and returns ErrUnavailable, or an internal error, when it could not.
type Appender interface {
	Append(ctx context.Context, e Event) error
}

// Reader reads kept events back, newest first, a page at a time.
type Reader interface {
	// UserEvents returns a page of the events whose UserID is userID: the newest ones kept
	// for that user. It returns ErrBadCursor or ErrUnavailable.
	UserEvents(ctx context.Context, userID string, p Page) (EventPage, error)
	// Events returns a page of all kept events, or of one user's (q.UserID) and/or of one
	// type (q.Type). A page filtered by type reads a bounded number of events: it may hold
	// fewer than the limit, even none, and still have a next cursor. It returns ErrBadCursor
	// or ErrUnavailable.
	Events(ctx context.Context, q Query) (EventPage, error)
}

// Store keeps events and reads them back.
type Store interface {
	Appender
	Reader
}

// Page sizes.
const (
	DefaultPageLimit = 50  // events per page when Page.Limit is 0
	MaxPageLimit     = 100 // the most events one page holds
)

// Page selects one page. The zero value is the first page of DefaultPageLimit events.
type Page struct {
	// Limit is the most events to return: 0 (or less) means DefaultPageLimit, more than
	// MaxPageLimit means MaxPageLimit.
	Limit int
	// Cursor is "" for the first page, else the Next of the previous page.
	Cursor string
}

// Size returns the page's limit with the defaults applied.
func (p Page) Size() int {
	switch {
	case p.Limit <= 0:
		return DefaultPageLimit
	case p.Limit > MaxPageLimit:
		return MaxPageLimit
	}
	return p.Limit
}

// Query filters Reader.Events: "" leaves a filter out.
type Query struct {
	UserID string
	Type   Type
	Page
}

// EventPage is one page of events, newest first, and the cursor of the next page ("" when
// nothing follows).
type EventPage struct {
	Events []Event
	Next   string
}

// Cursor is a position in a store's order of events: the events after it are older. MS is a
// time in Unix milliseconds and Seq orders the events of one millisecond.
type Cursor struct {
	MS  int64
	Seq uint64
}

// maxCursorLen bounds a cursor's length: the canonical encoding of the largest position is 54
// bytes.
const maxCursorLen = 64

// String encodes c as a cursor: base64url (unpadded) of "<ms>-<seq>".
func (c Cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.MS, 10) + "-" + strconv.FormatUint(c.Seq, 10)))
}

// ParseCursor returns the position s names, or ErrBadCursor unless s is exactly the String of
// a position (no padding, no leading zeros, no negative time).
func ParseCursor(s string) (Cursor, error) {
	if s == "" || len(s) > maxCursorLen {
		return Cursor{}, ErrBadCursor
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return Cursor{}, ErrBadCursor
	}
	ms, seq, ok := strings.Cut(string(raw), "-")
	if !ok {
		return Cursor{}, ErrBadCursor
	}
	c := Cursor{}
	if c.MS, err = strconv.ParseInt(ms, 10, 64); err != nil || c.MS < 0 {
		return Cursor{}, ErrBadCursor
	}
	if c.Seq, err = strconv.ParseUint(seq, 10, 64); err != nil || c.String() != s {
		return Cursor{}, ErrBadCursor
	}
	return c, nil
}

// ValidCursor reports whether s is well formed as a cursor, so that callers can report it with
// their other input errors.
func ValidCursor(s string) bool {
	_, err := ParseCursor(s)
	return err == nil
}
