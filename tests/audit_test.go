package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"boxoffice/session/sessiontest"
)

// auditLine is one line of an audit stream.
type auditLine struct {
	Log       string `json:"log"`
	ID        string `json:"id"`
	Type      string `json:"type"`
	Outcome   string `json:"outcome"`
	Reason    string `json:"reason"`
	UserID    string `json:"user_id"`
	SessionID string `json:"session_id"`
	ActorID   string `json:"actor_id"`
	Target    string `json:"target"`
	IP        string `json:"ip"`
	UserAgent string `json:"user_agent"`
	RequestID string `json:"request_id"`
}

// auditLines returns the audit events in a log, failing on an audit line that is not JSON;
// only requires every line to be one when all is set (a file of the audit stream alone).
func auditLines(t *testing.T, path string, all bool) []auditLine {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []auditLine
	for _, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var l auditLine
		err := json.Unmarshal(line, &l)
		switch {
		case err != nil && (all || bytes.Contains(line, []byte(`"log":"audit"`))):
			t.Fatalf("%s: an audit line that is not JSON: %q", path, line)
		case l.Log == "audit":
			out = append(out, l)
		case all:
			t.Fatalf("%s: a line that is not an audit event: %q", path, line)
		}
	}
	return out
}

// summarize counts "type/reason" of the events about user uid.
func summarize(events []auditLine, uid string) map[string]int {
	m := map[string]int{}
	for _, e := range events {
		if e.UserID == uid {
			m[e.Type+"/"+e.Reason]++
		}
	}
	return m
}

// activityIDs walks GET /v1/me/activity with limit 3 and returns the ids (failing on a
// duplicate) and every body read.
func activityIDs(t *testing.T, c *client, token string) ([]string, [][]byte) {
	t.Helper()
	var ids []string
	var bodies [][]byte
	seen := map[string]bool{}
	path := "/v1/me/activity?limit=3"
	for {
		r := c.do(t, "GET", path, token, nil)
		expect(t, r, 200, "")
		bodies = append(bodies, r.body)
		var page struct {
			Items []struct {
				ID string `json:"id"`
			}
			NextCursor *string `json:"next_cursor"`
		}
		r.decode(t, &page)
		for _, it := range page.Items {
			if seen[it.ID] {
				t.Fatalf("event %s listed twice", it.ID)
			}
			seen[it.ID] = true
			ids = append(ids, it.ID)
		}
		if page.NextCursor == nil {
			return ids, bodies
		}
		path = "/v1/me/activity?limit=3&cursor=" + url.QueryEscape(*page.NextCursor)
	}
}

// TestAuditTrail drives the security-relevant flows on two real instances — one writing its
// audit stream to a file, the other to stderr with its log — and checks that each action is
// recorded exactly once with who, which session, from where and which request; that the
// user's activity shows exactly their own events; that an administrator's query refuses a
// non-administrator (and records it) and filters; and that no password, token, CSRF token or
// the signing key appears in any line either instance wrote or in any activity answer.
func TestAuditTrail(t *testing.T) {
	r := sessiontest.Start(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "audit.log")
	env := map[string]string{"BOXOFFICE_REFRESH_GRACE": "0s", "BOXOFFICE_INSECURE_DEV_COOKIES": "true",
		"BOXOFFICE_REGISTER_MAX_PER_IP": "0", "BOXOFFICE_DEMO_DATA": "true"}
	withFile := map[string]string{"BOXOFFICE_AUDIT_LOG": file}
	for k, v := range env {
		withFile[k] = v
	}
	d0 := deploy(t, 1, r.URL(), withFile) // the audit stream in a file
	d1 := deploy(t, 1, r.URL(), env)      // the audit stream on stderr, among the log's lines
	a, b := d0.inst(0), d1.inst(0)
	var secrets []string // everything that must never be written or shown
	var answers [][]byte
	secrets = append(secrets, testSecret)

	name, pw := newUser(t, a)
	secrets = append(secrets, pw)
	lr := a.do(t, "POST", "/v1/auth/login", "", map[string]string{"username": name, "password": pw},
		"User-Agent", "AuditTest/1.0 (e2e)", "X-Request-Id", "audit-login-1")
	expect(t, lr, 200, "")
	var first tokens
	lr.decode(t, &first)
	uid := first.Session.UserID
	other := login(t, b, name, pw)
	secrets = append(secrets, first.AccessToken, first.RefreshToken, other.AccessToken, other.RefreshToken)

	// A wrong password, and an unknown "user" that is really a password typed in the wrong box.
	expect(t, b.do(t, "POST", "/v1/auth/login", "", map[string]string{"username": name, "password": "Wrong-Password-123"}), 401, "invalid_credentials")
	expect(t, b.do(t, "POST", "/v1/auth/login", "", map[string]string{"username": "Tr0ub4dor-and-3", "password": "x-anything-long"}), 401, "invalid_credentials")
	secrets = append(secrets, "Wrong-Password-123", "Tr0ub4dor-and-3", "x-anything-long")

	// A cookie sign-in (its CSRF token must stay a secret too).
	cr, ck := cookieLogin(t, a, name, pw)
	expect(t, cr, 200, "")
	var cbody struct {
		CSRF string `json:"csrf_token"`
	}
	cr.decode(t, &cbody)
	secrets = append(secrets, cbody.CSRF, ck["bx_at"].Value, ck["bx_rt"].Value)

	// Refresh, then present the spent token again: reuse.
	rr := a.do(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": first.RefreshToken})
	expect(t, rr, 200, "")
	var refreshed tokens
	rr.decode(t, &refreshed)
	secrets = append(secrets, refreshed.AccessToken, refreshed.RefreshToken)
	expect(t, b.do(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": first.RefreshToken}), 401, "refresh_token_reused")

	// A password change from the second session: the cookie session is revoked with it.
	newPW := "a-brand-new-password-42"
	secrets = append(secrets, newPW)
	pr := b.do(t, "POST", "/v1/auth/password", other.AccessToken, map[string]string{"current_password": pw, "new_password": newPW})
	expect(t, pr, 200, "")
	var changed tokens
	pr.decode(t, &changed)
	secrets = append(secrets, changed.AccessToken, changed.RefreshToken)

	// An order, paid and cancelled, on the embedded catalogue of the first instance.
	me := login(t, a, name, newPW)
	secrets = append(secrets, me.AccessToken, me.RefreshToken)
	from := time.Now().Add(3 * time.Hour).UTC().Format(time.RFC3339)
	sr := a.do(t, "GET", "/v1/screenings?limit=1&from="+url.QueryEscape(from), "", nil)
	expect(t, sr, 200, "")
	var screenings struct{ Items []struct{ ID string } }
	sr.decode(t, &screenings)
	if len(screenings.Items) != 1 {
		t.Fatalf("no screening 3 hours away: %s", sr.body)
	}
	hr := a.do(t, "POST", "/v1/screenings/"+screenings.Items[0].ID+"/holds", me.AccessToken, map[string]int{"count": 2})
	expect(t, hr, 201, "")
	var h struct{ ID string }
	hr.decode(t, &h)
	or := a.do(t, "POST", "/v1/orders", me.AccessToken, map[string]any{"hold_id": h.ID,
		"payment": map[string]string{"method": "test", "token": "test_success"}}, "Idempotency-Key", `"audit-order-1"`)
	expect(t, or, 201, "")
	var ord struct{ ID, Status string }
	or.decode(t, &ord)
	expect(t, a.do(t, "POST", "/v1/orders/"+ord.ID+"/cancel", me.AccessToken, nil), 200, "")

	// Administration: the user is refused; an administrator queries.
	expect(t, a.do(t, "GET", "/v1/admin/audit", me.AccessToken, nil), 403, "forbidden")
	rootName, rootPW := newUser(t, a)
	secrets = append(secrets, rootPW)
	grantAdminAt(t, r.URL(), rootName)
	root := login(t, a, rootName, rootPW)
	secrets = append(secrets, root.AccessToken, root.RefreshToken)
	// The grant on the command line is itself recorded (authz_change), once: a second grant
	// changes nothing and records nothing.
	grantAdminAt(t, r.URL(), rootName)
	chg := a.do(t, "GET", "/v1/admin/audit?type=authz_change", root.AccessToken, nil)
	expect(t, chg, 200, "")
	var changes struct{ Items []auditLine }
	chg.decode(t, &changes)
	if len(changes.Items) != 1 || changes.Items[0].UserID != root.Session.UserID || changes.Items[0].Reason != "admin_granted" ||
		changes.Items[0].Outcome != "success" || changes.Items[0].IP != "" {
		t.Fatalf("the role change: %s", chg.body)
	}
	fr := a.do(t, "GET", "/v1/admin/audit?type=authz_fail&user_id="+uid, root.AccessToken, nil)
	expect(t, fr, 200, "")
	answers = append(answers, fr.body)
	var fails struct {
		Items []auditLine
	}
	fr.decode(t, &fails)
	if len(fails.Items) != 1 || fails.Items[0].Reason != "audit_query" || fails.Items[0].SessionID != me.SessionID {
		t.Fatalf("the refused query: %s", fr.body)
	}
	ur := a.do(t, "GET", "/v1/admin/audit?type=authn_login_fail", root.AccessToken, nil)
	expect(t, ur, 200, "")
	answers = append(answers, ur.body)
	var loginFails struct{ Items []auditLine }
	ur.decode(t, &loginFails)
	if len(loginFails.Items) != 2 || loginFails.Items[0].Reason != "unknown_user" || loginFails.Items[0].UserID != "" ||
		loginFails.Items[1].Reason != "bad_password" || loginFails.Items[1].UserID != uid {
		t.Fatalf("failed sign-ins: %s", ur.body)
	}

	expect(t, a.do(t, "POST", "/v1/auth/logout", me.AccessToken, nil), 204, "")
	last := login(t, b, name, newPW)
	secrets = append(secrets, last.AccessToken, last.RefreshToken)

	// The streams: the file holds only audit lines, the first instance's log none, the second's
	// log its own. Each action once, with its circumstances.
	events := append(auditLines(t, file, true), auditLines(t, d1.procs[0].log, false)...)
	if stray := auditLines(t, d0.procs[0].log, false); len(stray) != 0 {
		t.Fatalf("the file-logging instance wrote %d audit lines to its log", len(stray))
	}
	got := summarize(events, uid)
	want := map[string]int{
		"user_created/": 1, "authn_login_success/": 5, "authn_login_fail/bad_password": 1,
		"authn_token_reuse/": 1, "session_revoked/token_reuse": 1,
		"authn_password_change/": 1, "session_revoked/password_change": 1,
		"order_paid/": 1, "order_cancelled/buyer": 1, "authz_fail/audit_query": 1,
		"session_revoked/logout": 1,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events of the user:\n got %v\nwant %v", got, want)
	}
	var unknown int
	for _, e := range events {
		if e.Type == "authn_login_fail" && e.Reason == "unknown_user" {
			unknown++
			if e.UserID != "" {
				t.Fatalf("unknown user's failure names a user: %+v", e)
			}
		}
		if e.Type == "authn_login_success" && e.SessionID == first.SessionID &&
			(e.IP != "127.0.0.1" || e.UserAgent != "AuditTest/1.0 (e2e)" || e.RequestID != "audit-login-1" || e.UserID != uid) {
			t.Fatalf("the first sign-in's event: %+v", e)
		}
		if e.Type == "session_revoked" && e.Reason == "token_reuse" && e.SessionID != first.SessionID {
			t.Fatalf("reuse revoked %+v, want session %s", e, first.SessionID)
		}
		if e.Type == "order_paid" && (e.Target != ord.ID || e.SessionID != me.SessionID) {
			t.Fatalf("order event %+v", e)
		}
	}
	if unknown != 1 {
		t.Fatalf("%d unknown-user failures, want 1", unknown)
	}

	// The activity: exactly the user's events from both streams, each once.
	ids, bodies := activityIDs(t, b, last.AccessToken)
	answers = append(answers, bodies...)
	var streamIDs []string
	for _, e := range events {
		if e.UserID == uid {
			streamIDs = append(streamIDs, e.ID)
		}
	}
	sort.Strings(ids)
	sort.Strings(streamIDs)
	if fmt.Sprint(ids) != fmt.Sprint(streamIDs) {
		t.Fatalf("activity ids %v\nstream ids %v", ids, streamIDs)
	}
	rootIDs, rootBodies := activityIDs(t, a, root.AccessToken)
	answers = append(answers, rootBodies...)
	for _, id := range rootIDs {
		if strings.Contains(strings.Join(ids, " "), id) {
			t.Fatalf("the administrator's activity shows the user's event %s", id)
		}
	}

	// Nothing secret anywhere.
	written := [][]byte{}
	for _, p := range []string{file, d0.procs[0].log, d1.procs[0].log} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		written = append(written, b)
	}
	for _, s := range secrets {
		if s == "" {
			t.Fatal("an empty secret: the test lost one")
		}
		for i, w := range append(written, answers...) {
			if bytes.Contains(w, []byte(s)) {
				t.Fatalf("output %d holds the secret %q", i, s)
			}
		}
	}
	for _, w := range written {
		if bytes.Contains(w, []byte("bxr_")) {
			t.Fatal("a refresh token prefix in a log")
		}
	}
}

// TestAuditRetention: an instance whose clock is past the retention shows none of the older
// events and trims them at its next write; a user keeps BOXOFFICE_AUDIT_MAX_PER_USER events;
// with Redis down the activity answers 503 with Retry-After.
func TestAuditRetention(t *testing.T) {
	r := sessiontest.Start(t)
	env := map[string]string{"BOXOFFICE_AUDIT_MAX_PER_USER": "4", "BOXOFFICE_AUDIT_RETENTION": "720h"}
	now := deploy(t, 1, r.URL(), env).inst(0)
	env["BOXOFFICE_CLOCK_OFFSET"] = "721h" // 30 days and an hour later
	later := deploy(t, 1, r.URL(), env).inst(0)
	rdb := redisClient(t, r)
	ctx := context.Background()

	name, pw := newUser(t, now)
	tk := login(t, now, name, pw)
	uid := tk.Session.UserID
	key := "bx:{u:" + uid + "}:audit"
	for range 5 {
		login(t, now, name, pw)
	}
	if n := rdb.XLen(ctx, key).Val(); n != 4 {
		t.Fatalf("the user's stream holds %d events, want the newest 4", n)
	}
	ids, _ := activityIDs(t, now, tk.AccessToken)
	if len(ids) != 4 {
		t.Fatalf("activity shows %d events, want 4", len(ids))
	}

	tl := login(t, later, name, pw) // a month on: the only event younger than the retention
	ids, _ = activityIDs(t, later, tl.AccessToken)
	if len(ids) != 1 {
		t.Fatalf("a month later the activity shows %d events, want 1", len(ids))
	}
	if n := rdb.XLen(ctx, key).Val(); n != 1 {
		t.Fatalf("a month later the user's stream holds %d events, want 1 (trimmed by age)", n)
	}
	if ttl := rdb.PTTL(ctx, key).Val(); ttl <= 0 || ttl > 720*time.Hour {
		t.Fatalf("the user's stream expires in %s", ttl)
	}

	r.Kill()
	expect(t, later.do(t, "GET", "/v1/me/activity", tl.AccessToken, nil), 503, "service_unavailable")
}
