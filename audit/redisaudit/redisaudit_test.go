package redisaudit_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"boxoffice/audit"
	"boxoffice/audit/redisaudit"
	"boxoffice/session"
	"boxoffice/session/sessiontest"
)

// clock is a settable application clock.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }

type fixture struct {
	rdb   redis.UniversalClient
	store *redisaudit.Store
	clock *clock
	ctx   context.Context
}

// newFixture is a Store over a throwaway Redis (redis-server when installed, else miniredis).
func newFixture(t *testing.T, cfg redisaudit.Config) *fixture {
	t.Helper()
	r := sessiontest.Start(t)
	rdb, err := session.NewClient(session.ClientConfig{URL: r.URL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	c := &clock{}
	cfg.Now = c.now
	return &fixture{rdb: rdb, store: redisaudit.New(rdb, cfg), clock: c, ctx: context.Background()}
}

// add appends an event of type typ for user uid ("" for none) and returns it.
func (f *fixture) add(t *testing.T, uid string, typ audit.Type, reason string) audit.Event {
	t.Helper()
	e := audit.Event{ID: audit.NewID(), Type: typ, At: f.clock.now().UTC().Truncate(time.Millisecond),
		Outcome: audit.Success, Reason: reason, UserID: uid, SessionID: "s-" + reason, IP: "203.0.113.9",
		UserAgent: "test/1.0", RequestID: "req-" + reason}
	if err := f.store.Append(f.ctx, e); err != nil {
		t.Fatal(err)
	}
	return e
}

func (f *fixture) xlen(t *testing.T, key string) int64 {
	t.Helper()
	n, err := f.rdb.XLen(f.ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// walk follows next cursors from the first page and returns every event, failing on a page
// over the limit or a walk that does not end.
func walk(t *testing.T, limit int, read func(audit.Page) (audit.EventPage, error)) ([]audit.Event, int) {
	t.Helper()
	var all []audit.Event
	p := audit.Page{Limit: limit}
	for pages := 1; ; pages++ {
		got, err := read(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Events) > limit {
			t.Fatalf("page of %d events, limit %d", len(got.Events), limit)
		}
		all = append(all, got.Events...)
		if got.Next == "" {
			return all, pages
		}
		if pages > 10000 {
			t.Fatal("the walk does not end")
		}
		p.Cursor = got.Next
	}
}

func reasons(es []audit.Event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Reason
	}
	return out
}

// TestAppendAndRead: an event comes back whole (ID included) from its user's stream and the
// global one, newest first; events without a user only in the global one; another user's
// stream does not show it.
func TestAppendAndRead(t *testing.T) {
	f := newFixture(t, redisaudit.Config{})
	a := f.add(t, "usera", audit.LoginSuccess, "1")
	f.add(t, "", audit.LoginFail, "2")
	c := f.add(t, "usera", audit.SessionRevoked, "3")
	f.add(t, "userb", audit.LoginSuccess, "4")

	got, err := f.store.UserEvents(f.ctx, "usera", audit.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Events) != 2 || got.Next != "" || got.Events[0] != c || got.Events[1] != a {
		t.Fatalf("usera's events = %+v, want [%+v %+v]", got, c, a)
	}
	all, err := f.store.Events(f.ctx, audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(reasons(all.Events)) != "[4 3 2 1]" {
		t.Fatalf("global = %v, want newest first [4 3 2 1]", reasons(all.Events))
	}
	mine, err := f.store.Events(f.ctx, audit.Query{UserID: "userb"})
	if err != nil || fmt.Sprint(reasons(mine.Events)) != "[4]" {
		t.Fatalf("userb's = %v, %v", reasons(mine.Events), err)
	}
	none, err := f.store.UserEvents(f.ctx, "nobody", audit.Page{})
	if err != nil || len(none.Events) != 0 || none.Events == nil || none.Next != "" {
		t.Fatalf("an unknown user's page = %+v, %v; want an empty list", none, err)
	}
}

// TestAppendIsIdempotent: appending one event twice (go-redis retrying the script) keeps it
// once in each stream.
func TestAppendIsIdempotent(t *testing.T) {
	f := newFixture(t, redisaudit.Config{})
	e := f.add(t, "usera", audit.LoginSuccess, "once")
	f.add(t, "usera", audit.LoginSuccess, "other")
	if err := f.store.Append(f.ctx, e); err != nil {
		t.Fatal(err)
	}
	if n := f.xlen(t, "bx:{u:usera}:audit"); n != 2 {
		t.Fatalf("user stream holds %d entries, want 2", n)
	}
	if n := f.xlen(t, "bx:audit"); n != 2 {
		t.Fatalf("global stream holds %d entries, want 2", n)
	}
	if err := f.store.Append(f.ctx, audit.Event{Type: audit.LoginFail}); err == nil {
		t.Fatal("an event without an ID was appended")
	}
}

// TestPagination: a cursor walk returns every event once, newest first, whatever the limit,
// and events appended during the walk do not disturb it.
func TestPagination(t *testing.T) {
	f := newFixture(t, redisaudit.Config{})
	for i := range 30 {
		f.add(t, "usera", audit.LoginSuccess, fmt.Sprintf("%02d", i))
	}
	for _, limit := range []int{1, 7, 30, 100} {
		added := false
		got, pages := walk(t, limit, func(p audit.Page) (audit.EventPage, error) {
			if p.Cursor != "" && !added {
				f.add(t, "usera", audit.LoginSuccess, "during") // newer than the walk: not in it
				added = true
			}
			return f.store.UserEvents(f.ctx, "usera", p)
		})
		if len(got) != 30 || got[0].Reason != "29" || got[29].Reason != "00" {
			t.Fatalf("limit %d: %d events %v", limit, len(got), reasons(got))
		}
		for i := 1; i < len(got); i++ {
			if got[i].Reason >= got[i-1].Reason {
				t.Fatalf("limit %d: not newest first: %v", limit, reasons(got))
			}
		}
		if want := (30 + limit - 1) / limit; pages != want && pages != want+1 {
			t.Fatalf("limit %d: %d pages", limit, pages)
		}
		f.rdb.Del(f.ctx, "bx:{u:usera}:audit")
		for i := range 30 {
			f.add(t, "usera", audit.LoginSuccess, fmt.Sprintf("%02d", i))
		}
	}
}

// TestTypeFilterIsBounded: a page filtered by a rare type reads at most ScanLimit entries and
// returns a cursor to go on; the walk finds every event of the type, once, newest first.
func TestTypeFilterIsBounded(t *testing.T) {
	f := newFixture(t, redisaudit.Config{ScanLimit: 40})
	var want []string
	for i := range 300 {
		typ := audit.LoginSuccess
		if i%70 == 0 {
			typ = audit.TokenReuse
			want = append([]string{fmt.Sprint(i)}, want...)
		}
		f.add(t, "", typ, fmt.Sprint(i))
	}
	got, pages := walk(t, 2, func(p audit.Page) (audit.EventPage, error) {
		return f.store.Events(f.ctx, audit.Query{Type: audit.TokenReuse, Page: p})
	})
	if fmt.Sprint(reasons(got)) != fmt.Sprint(want) {
		t.Fatalf("token reuse events = %v, want %v", reasons(got), want)
	}
	if pages < 300/40 {
		t.Fatalf("%d pages: a page read more than the scan limit", pages)
	}
	for _, e := range got {
		if e.Type != audit.TokenReuse {
			t.Fatalf("filter let through %+v", e)
		}
	}
}

// TestBadCursorAndOutage: a cursor the store did not make is ErrBadCursor; Redis down is
// ErrUnavailable for reads and appends.
func TestBadCursorAndOutage(t *testing.T) {
	f := newFixture(t, redisaudit.Config{})
	for _, c := range []string{"x", "MTIz", "LTEtMA", "MDEtMA", "MS0wMQ", "MS0w=", "MS0wAA"} {
		if _, err := f.store.UserEvents(f.ctx, "usera", audit.Page{Cursor: c}); !errors.Is(err, audit.ErrBadCursor) {
			t.Errorf("cursor %q: %v, want ErrBadCursor", c, err)
		}
	}
	if _, err := f.store.UserEvents(f.ctx, "usera", audit.Page{Cursor: (audit.Cursor{MS: 0, Seq: 0}).String()}); err != nil {
		t.Fatalf("the first position: %v", err)
	}
	rdb, err := session.NewClient(session.ClientConfig{URL: "redis://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	down := redisaudit.New(rdb, redisaudit.Config{})
	if _, err := down.UserEvents(f.ctx, "usera", audit.Page{}); !errors.Is(err, audit.ErrUnavailable) {
		t.Fatalf("read with Redis down: %v", err)
	}
	if err := down.Append(f.ctx, audit.Event{ID: audit.NewID(), Type: audit.LoginFail}); !errors.Is(err, audit.ErrUnavailable) {
		t.Fatalf("append with Redis down: %v", err)
	}
}
