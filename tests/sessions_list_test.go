package tests

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// listItem is a session list item, with every member kept to check that data is absent.
type listItem struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	Current   bool      `json:"current"`
}

// listPage is one answer of a session list.
type listPage struct {
	Items      []json.RawMessage `json:"items"`
	NextCursor *string           `json:"next_cursor"`
}

// listOnce gets one page and checks its shape: next_cursor always present, items without data.
func listOnce(t *testing.T, c *client, path, token string) (reply, []listItem, *string) {
	t.Helper()
	r := c.do(t, "GET", path, token, nil)
	expect(t, r, 200, "")
	var raw map[string]json.RawMessage
	r.decode(t, &raw)
	if _, ok := raw["next_cursor"]; !ok {
		t.Fatalf("next_cursor missing: %s", r.body)
	}
	var p listPage
	r.decode(t, &p)
	items := make([]listItem, len(p.Items))
	for i, it := range p.Items {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(it, &m); err != nil {
			t.Fatal(err)
		}
		if _, ok := m["data"]; ok {
			t.Fatalf("list item carries data: %s", it)
		}
		if err := json.Unmarshal(it, &items[i]); err != nil {
			t.Fatal(err)
		}
	}
	return r, items, p.NextCursor
}

// walkList pages through path with limit, one instance after another, calling between after
// each page but the last, and returns the items in the order listed.
func walkList(t *testing.T, path, token string, limit int, between func(page int)) []listItem {
	t.Helper()
	var all []listItem
	cursor := ""
	for page := 0; page < 100; page++ {
		q := url.Values{"limit": {fmt.Sprint(limit)}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		_, items, next := listOnce(t, fleet.inst(page), path+"?"+q.Encode(), token)
		all = append(all, items...)
		if next == nil {
			return all
		}
		if len(items) != limit {
			t.Fatalf("page %d has %d items before the last page, want %d", page, len(items), limit)
		}
		if between != nil {
			between(page)
		}
		cursor = *next
	}
	t.Fatal("the walk does not end")
	return nil
}

// newestFirst reports whether items are in the list order: created_at descending, then id.
func newestFirst(items []listItem) bool {
	return slices.IsSortedFunc(items, func(a, b listItem) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

func itemIDs(items []listItem) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.ID
	}
	return out
}

// sameSet reports whether got lists exactly the ids of want, each once.
func sameSet(got, want []string) bool {
	got, want = slices.Clone(got), slices.Clone(want)
	slices.Sort(got)
	slices.Sort(want)
	return slices.Equal(got, want)
}

// TestSessionsList pages through a user's 30 sessions, each holding 8 KiB of data, across
// instances: every session once, newest first, no data in any item (the list used to return
// every session with its data, 6.5 MB for 400 sessions).
func TestSessionsList(t *testing.T) {
	name, pw := newUser(t, fleet.inst(0))
	var toks []tokens
	for i := 0; i < 30; i++ {
		tk := login(t, fleet.inst(i), name, pw)
		r := fleet.inst(i+1).do(t, "PATCH", "/v1/session/data", tk.AccessToken,
			map[string]string{"blob": strings.Repeat("x", 8<<10-8)})
		expect(t, r, 200, "")
		toks = append(toks, tk)
	}
	var all []string
	for _, tk := range toks {
		all = append(all, tk.SessionID)
	}
	me := toks[3]

	t.Run("pages of 7 list every session once, newest first, without data", func(t *testing.T) {
		items := walkList(t, "/v1/sessions", me.AccessToken, 7, nil)
		if !sameSet(itemIDs(items), all) || !newestFirst(items) {
			t.Fatalf("walk = %v, want the 30 sessions newest first", itemIDs(items))
		}
		for _, it := range items {
			if it.Current != (it.ID == me.SessionID) {
				t.Fatalf("current flag wrong on %+v", it)
			}
		}
	})

	t.Run("the deadline headers come with the page holding the current session", func(t *testing.T) {
		r, items, next := listOnce(t, fleet.inst(1), "/v1/sessions?limit=100", me.AccessToken)
		if next != nil || len(items) != 30 || r.header.Get("Session-Idle-Expires-At") == "" {
			t.Fatalf("limit=100: %d items, next %v, headers %v", len(items), next, r.header)
		}
		// The body stays small although the sessions hold 30 × 8 KiB of data.
		if len(r.body) > 16<<10 {
			t.Fatalf("a page of 30 sessions is %d bytes", len(r.body))
		}
		if items[0].ID == me.SessionID {
			t.Fatal("the current session is the newest; pick another")
		}
		r, _, _ = listOnce(t, fleet.inst(2), "/v1/sessions?limit=1", me.AccessToken)
		if r.header.Get("Session-Idle-Expires-At") != "" || r.header.Get("Session-Absolute-Expires-At") != "" {
			t.Fatalf("deadline headers on a page without the current session: %v", r.header)
		}
	})

	t.Run("default limit is 50", func(t *testing.T) {
		_, items, next := listOnce(t, fleet.inst(0), "/v1/sessions", me.AccessToken)
		if len(items) != 30 || next != nil {
			t.Fatalf("default page of 30 sessions: %d items, next %v", len(items), next)
		}
	})

	t.Run("sessions created or revoked during a walk do not disturb it", func(t *testing.T) {
		before := walkList(t, "/v1/sessions", me.AccessToken, 100, nil)
		gone := before[12].ID // on the second page of 7
		var late tokens
		items := walkList(t, "/v1/sessions", me.AccessToken, 7, func(page int) {
			if page == 0 {
				late = login(t, fleet.inst(2), name, pw)
				expect(t, fleet.inst(1).do(t, "DELETE", "/v1/sessions/"+gone, me.AccessToken, nil), 204, "")
			}
		})
		want := slices.DeleteFunc(itemIDs(before), func(id string) bool { return id == gone })
		if got := itemIDs(items); !slices.Equal(got, want) {
			t.Fatalf("walk = %v, want %v (late login %s)", got, want, late.SessionID)
		}
		_, first, _ := listOnce(t, fleet.inst(0), "/v1/sessions?limit=1", me.AccessToken)
		if len(first) != 1 || first[0].ID != late.SessionID {
			t.Fatalf("a new walk starts with the late login: %+v", first)
		}
	})

	t.Run("invalid limit or cursor is 422 validation_failed", func(t *testing.T) {
		c := fleet.inst(1)
		_, _, next := listOnce(t, c, "/v1/sessions?limit=2", me.AccessToken)
		if next == nil {
			t.Fatal("no next cursor")
		}
		for _, q := range []string{"limit=0", "limit=101", "limit=x", "limit=", "limit=-1", "limit=1.5", "limit=%2B5",
			"limit=1&limit=2", "limit=99999999999999999999"} {
			r := c.do(t, "GET", "/v1/sessions?"+q, me.AccessToken, nil)
			expect(t, r, 422, "validation_failed")
			if errs := problemErrors(t, r); errs["limit"] == "" || len(errs) != 1 {
				t.Fatalf("%s: errors = %v", q, errs)
			}
		}
		for _, cur := range []string{"", "x", "!!!!", *next + "=", (*next)[1:], strings.Repeat("A", 65),
			url.QueryEscape("MTc5NTQ2ODk0OTQ1OS5zdjNmYW5mb3JoaDVtdGN4ejY0YnBhdjN0YQ=="),
			"MTc5NTQ2ODk0OTQ1OS5TVjNGQU5GT1JISDVNVENYWjY0QlBBVjNUQQ"} { // an upper-case id
			r := c.do(t, "GET", "/v1/sessions?cursor="+cur, me.AccessToken, nil)
			expect(t, r, 422, "validation_failed")
			if errs := problemErrors(t, r); errs["cursor"] == "" || len(errs) != 1 {
				t.Fatalf("cursor %q: errors = %v", cur, errs)
			}
		}
		r := c.do(t, "GET", "/v1/sessions?limit=0&cursor=x", me.AccessToken, nil)
		expect(t, r, 422, "validation_failed")
		if errs := problemErrors(t, r); errs["limit"] == "" || errs["cursor"] == "" {
			t.Fatalf("both invalid: errors = %v", errs)
		}
		// Authentication comes first.
		expect(t, c.do(t, "GET", "/v1/sessions?limit=0", "", nil), 401, "missing_token")
	})

	t.Run("an index larger than the per-user cap is listed in pages", func(t *testing.T) {
		rdb := redisClient(t, shared)
		uid := me.Session.UserID
		for i := 0; i < 30; i++ {
			plantSession(t, rdb, uid, time.Now().Add(-time.Hour-time.Duration(i)*time.Minute))
		}
		_, items, next := listOnce(t, fleet.inst(2), "/v1/sessions", me.AccessToken)
		if len(items) != 50 || next == nil {
			t.Fatalf("default page of 60 sessions: %d items, next %v", len(items), next)
		}
		_, rest, last := listOnce(t, fleet.inst(0), "/v1/sessions?cursor="+*next, me.AccessToken)
		if len(rest) != 10 || last != nil || !newestFirst(append(items, rest...)) {
			t.Fatalf("second page: %d items, next %v", len(rest), last)
		}
	})
}

// TestSessionsListAdmin pages through another user's sessions as an administrator.
func TestSessionsListAdmin(t *testing.T) {
	c := fleet.inst(0)
	name, pw := newUser(t, c)
	var all []string
	var tk tokens
	for i := 0; i < 9; i++ {
		tk = login(t, fleet.inst(i), name, pw)
		all = append(all, tk.SessionID)
	}
	uid := tk.Session.UserID
	path := "/v1/admin/users/" + uid + "/sessions"
	root := signIn(t, c)
	grantAdmin(t, root.name)

	items := walkList(t, path, root.tk.AccessToken, 4, nil)
	if !sameSet(itemIDs(items), all) || !newestFirst(items) {
		t.Fatalf("admin walk = %v", itemIDs(items))
	}
	for _, it := range items {
		if it.Current {
			t.Fatalf("another user's session is current: %+v", it)
		}
	}
	r, _, _ := listOnce(t, fleet.inst(1), path+"?limit=1", root.tk.AccessToken)
	if r.header.Get("Session-Idle-Expires-At") != "" {
		t.Fatal("deadline headers on the admin list")
	}
	for _, q := range []string{"limit=0", "limit=101", "limit=x"} {
		r := fleet.inst(2).do(t, "GET", path+"?"+q, root.tk.AccessToken, nil)
		expect(t, r, 422, "validation_failed")
		if errs := problemErrors(t, r); errs["limit"] == "" {
			t.Fatalf("%s: errors = %v", q, errs)
		}
	}
	r = fleet.inst(2).do(t, "GET", path+"?cursor=nope", root.tk.AccessToken, nil)
	expect(t, r, 422, "validation_failed")
	if errs := problemErrors(t, r); errs["cursor"] == "" {
		t.Fatalf("bad cursor: errors = %v", errs)
	}
	// The role and the user are checked before the parameters.
	expect(t, c.do(t, "GET", path+"?limit=0", tk.AccessToken, nil), 403, "forbidden")
	expect(t, c.do(t, "GET", "/v1/admin/users/"+auth404()+"/sessions?limit=0", root.tk.AccessToken, nil), 404, "not_found")
}

// problemErrors returns the errors member of a problem.
func problemErrors(t *testing.T, r reply) map[string]string {
	t.Helper()
	var p struct{ Errors map[string]string }
	r.decode(t, &p)
	return p.Errors
}

// plantSession writes a live session straight into Redis with 8 KiB of data, as an older
// version without the per-user cap could leave it, and indexes it.
func plantSession(t *testing.T, rdb *redis.Client, uid string, created time.Time) string {
	t.Helper()
	ctx := context.Background()
	var b [16]byte
	rand.Read(b[:])
	sid := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])) // a session id
	now := time.Now().UnixMilli()
	ie, ae := now+int64(time.Hour/time.Millisecond), now+int64(24*time.Hour/time.Millisecond)
	key := sessionKey(uid, sid)
	_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, "uid", uid, "ct", created.UnixMilli(), "ls", now, "ie", ie, "ae", ae,
			"dn", "legacy", "ip", "192.0.2.9", "ua", "old", "v", 1, "rh", "h0", "atx", now,
			"d:blob", `"`+strings.Repeat("y", 8<<10)+`"`)
		p.PExpire(ctx, key, time.Hour)
		p.ZAdd(ctx, "bx:{u:"+uid+"}:sessions", redis.Z{Score: float64(ie), Member: sid})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sid
}
