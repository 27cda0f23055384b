package redisaudit

import (
	"context"
	"encoding/json"

	"github.com/redis/go-redis/v9"

	"boxoffice/audit"
)

// UserEvents returns a page of user uid's events, newest first: one XREVRANGE. It returns
// audit.ErrBadCursor or audit.ErrUnavailable.
func (s *Store) UserEvents(ctx context.Context, uid string, p audit.Page) (audit.EventPage, error) {
	return s.read(ctx, s.userKey(uid), "", p)
}

// Events returns a page of every user's events (or of q.UserID's, from that user's stream),
// newest first, of type q.Type when set. Without a type it is one XREVRANGE; with one, it reads
// at most Config.ScanLimit entries, in slices, and when that is not enough to fill the page it
// returns what it found with a cursor where it stopped. It returns audit.ErrBadCursor or
// audit.ErrUnavailable.
func (s *Store) Events(ctx context.Context, q audit.Query) (audit.EventPage, error) {
	key := s.globalKey()
	if q.UserID != "" {
		key = s.userKey(q.UserID)
	}
	return s.read(ctx, key, q.Type, q.Page)
}

// read pages through one stream, newest first, skipping entries older than the retention and
// entries that do not decode, keeping those of type typ ("" for all).
func (s *Store) read(ctx context.Context, key string, typ audit.Type, p audit.Page) (audit.EventPage, error) {
	limit := p.Size()
	end := "+"
	if p.Cursor != "" {
		c, err := audit.ParseCursor(p.Cursor)
		if err != nil {
			return audit.EventPage{}, err
		}
		var ok bool
		if end, ok = before(c); !ok {
			return audit.EventPage{Events: []audit.Event{}}, nil
		}
	}
	oldest := s.cfg.Now().UnixMilli() - s.cfg.Retention.Milliseconds()
	budget := s.cfg.ScanLimit
	if typ == "" {
		budget = limit + 1 // every entry matches: one more tells whether a page follows
	}
	out := make([]audit.Event, 0, limit+1)
	var next audit.Cursor // where the next page starts: after the last entry read
	for scanned := 0; scanned < budget; {
		n := budget - scanned
		if typ != "" {
			n = min(n, max(limit+1, 200))
		}
		msgs, err := s.rdb.XRevRangeN(ctx, key, end, "-", int64(n)).Result()
		if err != nil {
			return audit.EventPage{}, classify("read", err)
		}
		for _, m := range msgs {
			pos, ok := position(m.ID)
			if !ok || pos.MS < oldest {
				return audit.EventPage{Events: out}, nil // the rest is older still
			}
			scanned++
			e, ok := decode(m)
			if ok && (typ == "" || e.Type == typ) {
				if len(out) == limit { // a full page, and more follow
					return audit.EventPage{Events: out, Next: next.String()}, nil
				}
				out = append(out, e)
			}
			next = pos
		}
		if len(msgs) < n {
			return audit.EventPage{Events: out}, nil // the stream ends here
		}
		var more bool
		if end, more = before(next); !more {
			return audit.EventPage{Events: out}, nil
		}
	}
	// The scan budget ran out before the page was full: the next page goes on from here.
	return audit.EventPage{Events: out, Next: next.String()}, nil
}

// decode reads an entry back into its event.
func decode(m redis.XMessage) (audit.Event, bool) {
	id, _ := m.Values["eid"].(string)
	body, _ := m.Values["e"].(string)
	var e audit.Event
	if id == "" || json.Unmarshal([]byte(body), &e) != nil {
		return audit.Event{}, false
	}
	e.ID = id
	return e, true
}
