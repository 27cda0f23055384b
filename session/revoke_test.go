package session_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"boxoffice/auth"
	"boxoffice/session"
	"boxoffice/session/sessiontest"
)

func TestRevokeOneAndList(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start()
		uid, other := auth.NewID(), auth.NewID()
		a := e.login(t, uid)
		e.clock.Advance(time.Second)
		b := e.login(t, uid)
		e.clock.Advance(time.Second)
		c := e.login(t, uid)
		x := e.login(t, other)

		list, _, err := e.store.List(e.ctx, uid, a.ID, session.Page{})
		if err != nil || len(list) != 3 || list[0].ID != c.ID || list[2].ID != a.ID {
			t.Fatalf("list = %v, %v (want newest first)", ids(list), err)
		}
		// Another user's session id is not found from this user's keyspace and is untouched.
		if err := e.store.Revoke(e.ctx, uid, a.ID, x.ID, session.ReasonRevoked); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("revoke other user's session: %v, want ErrNotFound", err)
		}
		if _, err := e.store.Get(e.ctx, other, x.ID); err != nil {
			t.Fatalf("other user's session harmed: %v", err)
		}
		if err := e.store.Revoke(e.ctx, uid, a.ID, b.ID, session.ReasonRevoked); err != nil {
			t.Fatal(err)
		}
		if err := e.store.Revoke(e.ctx, uid, a.ID, b.ID, session.ReasonRevoked); err != nil {
			t.Fatalf("revoking twice must succeed: %v", err)
		}
		if _, err := e.store.Get(e.ctx, uid, b.ID); !errors.Is(err, session.ErrRevoked) {
			t.Fatalf("revoked session: %v", err)
		}
		list, _, _ = e.store.List(e.ctx, uid, a.ID, session.Page{})
		if len(list) != 2 {
			t.Fatalf("list after revoke = %v", ids(list))
		}
		// A revoked caller cannot act.
		if err := e.store.Revoke(e.ctx, uid, b.ID, c.ID, session.ReasonRevoked); !errors.Is(err, session.ErrRevoked) {
			t.Fatalf("revoked caller: %v", err)
		}
		if _, _, err := e.store.List(e.ctx, uid, b.ID, session.Page{}); !errors.Is(err, session.ErrRevoked) {
			t.Fatalf("revoked caller list: %v", err)
		}
		// Administrators revoke without a caller session of that user.
		if err := e.store.Revoke(e.ctx, uid, "", c.ID, session.ReasonAdmin); err != nil {
			t.Fatal(err)
		}
		if r, _ := e.rdb.Get(e.ctx, e.revokedKey(uid, c.ID)).Result(); r != session.ReasonAdmin {
			t.Fatalf("admin marker = %q", r)
		}
		if err := e.store.Revoke(e.ctx, uid, a.ID, auth.NewID(), session.ReasonRevoked); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("unknown id: %v", err)
		}
	})
}

func TestRevokeAll(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start(func(c *session.Config) { c.MaxSessions = 200 })
		uid, other := auth.NewID(), auth.NewID()
		var all []session.Session
		for i := 0; i < 130; i++ { // one script for all of them
			all = append(all, e.login(t, uid))
		}
		x := e.login(t, other)
		n, err := e.store.RevokeAll(e.ctx, uid, all[0].ID, session.ReasonLogoutAll)
		if err != nil || n != 130 {
			t.Fatalf("revoked %d, %v", n, err)
		}
		for _, s := range all {
			if e.exists(t, e.sessionKey(uid, s.ID)) || !e.exists(t, e.revokedKey(uid, s.ID)) {
				t.Fatalf("session %s not revoked", s.ID)
			}
		}
		if e.exists(t, e.indexKey(uid)) {
			t.Fatal("index not emptied")
		}
		if _, err := e.store.Get(e.ctx, other, x.ID); err != nil {
			t.Fatalf("other user's session harmed: %v", err)
		}
		// A retry by the same caller (its answer was lost) succeeds; it leaves alone a session
		// signed in since, and no other revoked session can replay the logout-all.
		late := e.login(t, uid)
		if n, err := e.store.RevokeAll(e.ctx, uid, all[0].ID, session.ReasonLogoutAll); err != nil || n != 0 {
			t.Fatalf("retried logout-all: %d, %v", n, err)
		}
		if _, err := e.store.RevokeAll(e.ctx, uid, all[1].ID, session.ReasonLogoutAll); !errors.Is(err, session.ErrRevoked) {
			t.Fatalf("logout-all by a session another logout-all revoked: %v, want ErrRevoked", err)
		}
		if _, err := e.store.Get(e.ctx, uid, late.ID); err != nil {
			t.Fatalf("a session signed in after the logout-all: %v", err)
		}
		// A caller revoked for another reason is refused, and revokes nothing.
		mine := e.login(t, uid)
		if err := e.store.Revoke(e.ctx, uid, mine.ID, mine.ID, session.ReasonLogout); err != nil {
			t.Fatal(err)
		}
		survivor := e.login(t, uid)
		if _, err := e.store.RevokeAll(e.ctx, uid, mine.ID, session.ReasonLogoutAll); !errors.Is(err, session.ErrRevoked) {
			t.Fatalf("logout-all by a logged-out session: %v, want ErrRevoked", err)
		}
		if _, err := e.store.Get(e.ctx, uid, survivor.ID); err != nil {
			t.Fatalf("a refused logout-all revoked a session: %v", err)
		}
	})
}

func TestListPrunesExpired(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start(func(c *session.Config) { c.IdleTTL = time.Hour; c.TouchInterval = 0 })
		uid := auth.NewID()
		old := e.login(t, uid)
		e.clock.Advance(50 * time.Minute)
		cur := e.login(t, uid)
		e.clock.Advance(20 * time.Minute) // old is idle-expired, cur is not
		list, _, err := e.store.List(e.ctx, uid, cur.ID, session.Page{})
		if err != nil || len(list) != 1 || list[0].ID != cur.ID {
			t.Fatalf("list = %v, %v", ids(list), err)
		}
		if e.inIndex(t, uid, old.ID) {
			t.Fatal("index kept an expired session")
		}
	})
}

func ids(l []session.Session) []string {
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = s.ID
	}
	return out
}

func (e *env) walk(t *testing.T, uid, caller string, limit int, between func(page int, next string)) []string {
	t.Helper()
	var got []string
	cursor := ""
	for page := 0; ; page++ {
		list, next, err := e.store.List(e.ctx, uid, caller, session.Page{Limit: limit, Cursor: cursor})
		if err != nil {
			t.Fatalf("page %d (cursor %q): %v", page, cursor, err)
		}
		for _, s := range list {
			if s.Data != nil || s.UserID != uid || s.CreatedAt.IsZero() || s.IdleExpiresAt.IsZero() {
				t.Fatalf("listed session %+v: want metadata without data", s)
			}
			got = append(got, s.ID)
		}
		if next == "" {
			return got
		}
		if len(list) != limit {
			t.Fatalf("page %d holds %d sessions, want %d before the last page", page, len(list), limit)
		}
		if !session.ValidCursor(next) {
			t.Fatalf("next cursor %q is not valid", next)
		}
		if page > 1000 {
			t.Fatal("the walk does not end")
		}
		if between != nil {
			between(page, next)
		}
		cursor = next
	}
}

// newestFirst is the list order: created_at descending, then id ascending.
func newestFirst(l []session.Session) []string {
	l = slices.Clone(l)
	slices.SortFunc(l, func(a, b session.Session) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return ids(l)
}

func TestListPages(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start()
		uid := auth.NewID()
		var all []session.Session
		for i := 0; i < 11; i++ {
			s := e.login(t, uid)
			if _, err := e.store.PatchData(e.ctx, uid, s.ID, map[string]json.RawMessage{"blob": json.RawMessage(`"` + strings.Repeat("x", 4000) + `"`)}, nil); err != nil {
				t.Fatal(err)
			}
			all = append(all, s)
			if i%3 != 0 { // some share a creation time: the id orders them
				e.clock.Advance(time.Millisecond)
			}
		}
		want := newestFirst(all)
		caller := all[4].ID
		for _, limit := range []int{1, 3, 11, 100} {
			if got := e.walk(t, uid, caller, limit, nil); !slices.Equal(got, want) {
				t.Fatalf("limit %d: walk = %v, want %v", limit, got, want)
			}
		}
		// The zero Page is the first page of DefaultPageLimit; an administrator has no caller.
		list, next, err := e.store.List(e.ctx, uid, "", session.Page{})
		if err != nil || next != "" || !slices.Equal(ids(list), want) {
			t.Fatalf("default page = %v, %q, %v", ids(list), next, err)
		}
		// A limit above MaxPageLimit is cut to it.
		for i := 0; i < session.MaxPageLimit; i++ {
			plant(t, e, uid, e.clock.Now().Add(-time.Hour), 0)
		}
		list, next, err = e.store.List(e.ctx, uid, caller, session.Page{Limit: 1000})
		if err != nil || len(list) != session.MaxPageLimit || next == "" {
			t.Fatalf("limit 1000 gave %d sessions, next %q, %v", len(list), next, err)
		}
		list, next, err = e.store.List(e.ctx, uid, caller, session.Page{})
		if err != nil || len(list) != session.DefaultPageLimit || next == "" {
			t.Fatalf("default limit gave %d sessions, next %q, %v", len(list), next, err)
		}
	})
}

func TestListStableUnderChange(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start()
		uid := auth.NewID()
		var all []session.Session
		for i := 0; i < 9; i++ {
			all = append(all, e.login(t, uid))
			e.clock.Advance(time.Second)
		}
		want := newestFirst(all) // all[8] first
		caller := all[0]
		var late []string
		got := e.walk(t, uid, caller.ID, 3, func(page int, next string) {
			switch page {
			case 0: // logins after the first page come before it: no later page shifts
				for i := 0; i < 2; i++ {
					late = append(late, e.login(t, uid).ID)
				}
				// The session the cursor names ends, and so does one of the next page.
				for _, sid := range []string{want[2], want[4]} {
					if err := e.store.Revoke(e.ctx, uid, caller.ID, sid, session.ReasonRevoked); err != nil {
						t.Fatal(err)
					}
				}
			case 1:
				e.clock.Advance(time.Second)
				late = append(late, e.login(t, uid).ID)
			}
		})
		wantWalk := append(slices.Clone(want[:3]), want[3])
		wantWalk = append(wantWalk, want[5:]...)
		if !slices.Equal(got, wantWalk) {
			t.Fatalf("walk = %v, want %v (late logins %v)", got, wantWalk, late)
		}
		// A new walk sees the late logins first.
		if got := e.walk(t, uid, caller.ID, 4, nil); len(got) != 10 || !slices.Contains(got[:3], late[2]) {
			t.Fatalf("second walk = %v", got)
		}
	})
}

func TestListSkipsEndedSessions(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start(func(c *session.Config) { c.IdleTTL = time.Hour; c.TouchInterval = 0 })
		uid := auth.NewID()
		old := e.login(t, uid)
		e.clock.Advance(30 * time.Minute)
		mid := e.login(t, uid)
		e.clock.Advance(time.Minute)
		cur := e.login(t, uid)
		// A stray index entry whose hash is gone (Redis' TTL ran first) is skipped and dropped.
		stray := auth.NewID()
		if err := e.rdb.ZAdd(e.ctx, e.indexKey(uid), redis.Z{Score: float64(e.clock.Now().Add(time.Hour).UnixMilli()), Member: stray}).Err(); err != nil {
			t.Fatal(err)
		}
		first, next, err := e.store.List(e.ctx, uid, cur.ID, session.Page{Limit: 1})
		if err != nil || len(first) != 1 || first[0].ID != cur.ID || next == "" {
			t.Fatalf("first page = %v, %q, %v", ids(first), next, err)
		}
		if e.inIndex(t, uid, stray) {
			t.Fatal("index kept an entry without a session")
		}
		e.clock.Advance(40 * time.Minute) // old is idle-expired (its hash still exists), mid and cur are not
		if !e.exists(t, e.sessionKey(uid, old.ID)) {
			t.Skip("the expired session's hash is already gone")
		}
		rest, next, err := e.store.List(e.ctx, uid, cur.ID, session.Page{Limit: 1, Cursor: next})
		if err != nil || len(rest) != 1 || rest[0].ID != mid.ID {
			t.Fatalf("second page = %v, %q, %v", ids(rest), next, err)
		}
		if next != "" {
			if last, n2, err := e.store.List(e.ctx, uid, cur.ID, session.Page{Limit: 1, Cursor: next}); err != nil || len(last) != 0 || n2 != "" {
				t.Fatalf("past the last live session: %v, %q, %v", ids(last), n2, err)
			}
		}
		if e.inIndex(t, uid, old.ID) {
			t.Fatal("index kept an expired session")
		}
		// An expired caller gets ErrExpired, a revoked one ErrRevoked, whatever the page.
		e.clock.Advance(2 * time.Hour)
		if _, _, err := e.store.List(e.ctx, uid, cur.ID, session.Page{Cursor: next}); !errors.Is(err, session.ErrExpired) {
			t.Fatalf("expired caller: %v, want ErrExpired", err)
		}
		live := e.login(t, uid)
		if err := e.store.Revoke(e.ctx, uid, live.ID, live.ID, session.ReasonLogout); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.store.List(e.ctx, uid, live.ID, session.Page{Limit: 5}); !errors.Is(err, session.ErrRevoked) {
			t.Fatalf("revoked caller: %v, want ErrRevoked", err)
		}
	})
}

func TestListRejectsBadCursors(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start()
		uid := auth.NewID()
		a := e.login(t, uid)
		e.clock.Advance(time.Second)
		e.login(t, uid)
		_, good, err := e.store.List(e.ctx, uid, a.ID, session.Page{Limit: 1})
		if err != nil || good == "" {
			t.Fatalf("first page: %q, %v", good, err)
		}
		b64 := base64.RawURLEncoding.EncodeToString
		ct := strconv.FormatInt(a.CreatedAt.UnixMilli(), 10)
		for _, c := range []string{
			"!!!", "a", good + "=", good + "A", good[1:], good[:5] + "*" + good[6:], good + strings.Repeat("A", 64),
			base64.URLEncoding.EncodeToString([]byte(ct + "." + a.ID)),        // padded
			base64.StdEncoding.EncodeToString([]byte(ct + "." + a.ID + "??")), // not base64url
			b64([]byte(ct + "." + "not-an-id")), b64([]byte(ct)), b64([]byte("." + a.ID)),
			b64([]byte("0" + ct + "." + a.ID)), b64([]byte("-" + ct + "." + a.ID)), b64([]byte("+" + ct + "." + a.ID)),
			b64([]byte(ct + "." + a.ID + ".x")), b64([]byte(ct + "." + strings.ToUpper(a.ID))),
			b64([]byte("99999999999999999999." + a.ID)), b64([]byte(" " + ct + "." + a.ID)),
		} {
			if session.ValidCursor(c) {
				t.Errorf("ValidCursor(%q) = true", c)
			}
			if _, _, err := e.store.List(e.ctx, uid, a.ID, session.Page{Limit: 1, Cursor: c}); !errors.Is(err, session.ErrBadCursor) {
				t.Errorf("cursor %q: %v, want ErrBadCursor", c, err)
			}
		}
		// A well-formed cursor names a position, whether or not a session is there.
		if c := b64([]byte(ct + "." + auth.NewID())); !session.ValidCursor(c) {
			t.Errorf("ValidCursor(%q) = false", c)
		}
	})
}

// TestListLegacyIndex lists an index larger than the per-user cap (written before the cap
// existed): every session once, newest first, without data.
func TestListLegacyIndex(t *testing.T) {
	backends(t, func(t *testing.T, start func(...func(*session.Config)) *env) {
		e := start()
		uid := auth.NewID()
		caller := e.login(t, uid)
		all := []session.Session{caller}
		for i := 0; i < 260; i++ {
			sid := plant(t, e, uid, e.clock.Now().Add(-time.Duration(i%97)*time.Minute), 2<<10)
			all = append(all, session.Session{ID: sid, CreatedAt: e.clock.Now().Add(-time.Duration(i%97) * time.Minute).Truncate(time.Millisecond)})
		}
		want := newestFirst(all)
		if got := e.walk(t, uid, caller.ID, 100, nil); !slices.Equal(got, want) {
			t.Fatalf("walk of %d legacy sessions listed %d, out of order or repeated", len(want), len(got))
		}
	})
}

// plant writes a session straight into Redis (as an older version, without the per-user cap,
// did), with dataBytes of data, and returns its id.
func plant(t testing.TB, e *env, uid string, created time.Time, dataBytes int) string {
	t.Helper()
	sid := auth.NewID()
	now := e.clock.Now().UnixMilli()
	ie, ae := now+int64(time.Hour/time.Millisecond), now+int64(24*time.Hour/time.Millisecond)
	key := e.sessionKey(uid, sid)
	_, err := e.rdb.Pipelined(e.ctx, func(p redis.Pipeliner) error {
		p.HSet(e.ctx, key, "uid", uid, "ct", created.UnixMilli(), "ls", now, "ie", ie, "ae", ae,
			"dn", "legacy", "ip", "192.0.2.9", "ua", "old", "v", 1, "rh", "h0", "atx", now,
			"d:blob", `"`+strings.Repeat("y", dataBytes)+`"`)
		p.PExpire(e.ctx, key, time.Hour)
		p.ZAdd(e.ctx, e.indexKey(uid), redis.Z{Score: float64(ie), Member: sid})
		p.PExpire(e.ctx, e.indexKey(uid), 24*time.Hour)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sid
}

// BenchmarkList reports the cost of one page of 50 for a user at the default per-user cap and
// for a legacy index of 2000 sessions (each with 8 KiB of data, which List never reads), on a
// real redis-server when installed: time per call and bytes Redis sends per call.
//
//	go test ./session -run '^$' -bench List -benchmem
func BenchmarkList(b *testing.B) {
	r := sessiontest.Start(b)
	rdb := r.Client(b)
	ck := newClock()
	cfg := session.DefaultConfig()
	cfg.Now = ck.Now
	st, err := session.New(rdb, cfg)
	if err != nil {
		b.Fatal(err)
	}
	e := &env{store: st, rdb: rdb, clock: ck, redis: r, ctx: context.Background()}
	for _, n := range []int{50, 2000} {
		uid := auth.NewID()
		var caller string
		for i := 0; i < n; i++ {
			caller = plant(b, e, uid, ck.Now().Add(-time.Duration(i)*time.Second), 8<<10)
		}
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			out := func() float64 {
				s, _ := rdb.Info(e.ctx, "stats").Result()
				_, v, _ := strings.Cut(s, "total_net_output_bytes:")
				n, _ := strconv.ParseFloat(strings.TrimSpace(strings.SplitN(v, "\n", 2)[0]), 64)
				return n
			}
			before, calls := out(), 0
			for b.Loop() {
				list, _, err := st.List(e.ctx, uid, caller, session.Page{Limit: 50})
				if err != nil || len(list) != 50 {
					b.Fatal(len(list), err)
				}
				calls++
			}
			b.ReportMetric((out()-before)/float64(calls), "redis-bytes/op")
		})
	}
}
