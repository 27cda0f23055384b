package api

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"boxoffice/audit"
)

type activityPage struct {
	Items []struct {
		ID, Type, Outcome, Reason, IP, Target string
		SessionID                             string `json:"session_id"`
		UserAgent                             string `json:"user_agent"`
		Current                               bool   `json:"current_session"`
		UserID                                string `json:"user_id"`
		ActorID                               string `json:"actor_id"`
		RequestID                             string `json:"request_id"`
	}
	NextCursor *string `json:"next_cursor"`
}

// walkActivity follows next_cursor from path (which may carry a query) with the token and
// returns every page's items' "type/reason/session" and ids, failing on a non-200.
func walkActivity(t *testing.T, ts *testServer, path, token string) (items []string, ids []string, pages int) {
	t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	next := ""
	for {
		p := path
		if next != "" {
			p += sep + "cursor=" + url.QueryEscape(next)
		}
		resp, b := ts.call(t, "GET", p, token, "", "User-Agent", "walker/1")
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", p, resp.StatusCode, b)
		}
		var page activityPage
		if err := json.Unmarshal(b, &page); err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			items = append(items, it.Type+"/"+it.Reason)
			ids = append(ids, it.ID)
		}
		pages++
		if page.NextCursor == nil {
			return items, ids, pages
		}
		next = *page.NextCursor
	}
}

// TestMyActivityShowsOnlyMine: a user sees their own events, newest first, with where they
// came from and which is this session's; never another user's; a cursor walk with a small
// limit lists each event once.
func TestMyActivityShowsOnlyMine(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.signIn(t, "alice")
	bob := ts.signIn(t, "bob")
	ts.call(t, "POST", "/v1/auth/login", "", `{"username":"alice","password":"wrong-password"}`)
	second := ts.signInAgain(t, "alice")
	if resp, b := ts.call(t, "DELETE", "/v1/sessions/"+second.SessionID, alice.AccessToken, ""); resp.StatusCode != 204 {
		t.Fatalf("revoke: %d %s", resp.StatusCode, b)
	}
	resp, b := ts.call(t, "GET", "/v1/me/activity", alice.AccessToken, "", "User-Agent", "reader/2")
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	var page activityPage
	if err := json.Unmarshal(b, &page); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range page.Items {
		got = append(got, fmt.Sprintf("%s/%s/%s/%v", it.Type, it.Outcome, it.Reason, it.Current))
	}
	want := "[session_revoked/success/revoked_by_user/false authn_login_success/success//false " +
		"authn_login_fail/failure/bad_password/false authn_login_success/success//true user_created/success//false]"
	if fmt.Sprint(got) != want || page.NextCursor != nil {
		t.Fatalf("alice's activity:\n got %v\nwant %s", got, want)
	}
	first := page.Items[3]
	if first.SessionID != alice.SessionID || first.IP == "" || first.ID == "" {
		t.Fatalf("sign-in event %+v", first)
	}
	if page.Items[0].SessionID != second.SessionID || page.Items[0].Target != "" {
		t.Fatalf("revocation event %+v", page.Items[0])
	}
	for _, secret := range []string{"password-alice", "wrong-password", alice.AccessToken, alice.RefreshToken, bob.SessionID,
		bob.Session.UserID} {
		if strings.Contains(string(b), secret) {
			t.Fatalf("alice's activity holds %q: %s", secret, b)
		}
	}
	if strings.Contains(string(b), "user_id") || strings.Contains(string(b), "request_id") {
		t.Fatalf("activity shows internal fields: %s", b)
	}
	items, ids, pages := walkActivity(t, ts, "/v1/me/activity?limit=2", alice.AccessToken)
	if len(items) != 5 || pages != 3 || len(unique(ids)) != 5 {
		t.Fatalf("walk: %v in %d pages", items, pages)
	}
	bobs, _, _ := walkActivity(t, ts, "/v1/me/activity", bob.AccessToken)
	if fmt.Sprint(bobs) != "[authn_login_success/ user_created/]" {
		t.Fatalf("bob's activity: %v", bobs)
	}
}

func unique(ss []string) map[string]bool {
	m := map[string]bool{}
	for _, s := range ss {
		m[s] = true
	}
	return m
}

// TestActivityQueryErrors: invalid or repeated limit and cursor get 422 naming each; a cursor
// that is well formed but made up is a position like any other.
func TestActivityQueryErrors(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.signIn(t, "alice")
	for q, fields := range map[string]string{
		"limit=0":                 "limit",
		"limit=101":               "limit",
		"limit=1&limit=2":         "limit",
		"cursor=abc%3D":           "cursor",
		"cursor=MS0w&cursor=MS0w": "cursor",
		"limit=x&cursor=%2B":      "cursor limit",
	} {
		resp, b := ts.call(t, "GET", "/v1/me/activity?"+q, alice.AccessToken, "")
		var p Problem
		_ = json.Unmarshal(b, &p)
		var got []string
		for k := range p.Errors {
			got = append(got, k)
		}
		if resp.StatusCode != 422 || p.Code != "validation_failed" || len(got) != len(strings.Fields(fields)) {
			t.Errorf("%s: %d %s", q, resp.StatusCode, b)
		}
	}
	if resp, b := ts.call(t, "GET", "/v1/me/activity?cursor="+(audit.Cursor{MS: 1}).String(), alice.AccessToken, ""); resp.StatusCode != 200 ||
		!strings.Contains(string(b), `"items":[]`) {
		t.Fatalf("a cursor before every event: %d %s", resp.StatusCode, b)
	}
}

// TestAdminAudit: a non-administrator is refused with 403 forbidden, and the refusal is
// recorded; administrators filter by user and by type, see every field, and their use is
// recorded with the operation; the events an administrator causes name them as actor.
func TestAdminAudit(t *testing.T) {
	w := newAdminWorld(t)
	ts := w.ts
	resp, b := ts.call(t, "GET", "/v1/admin/audit", w.b1.AccessToken, "")
	if resp.StatusCode != 403 || problemCode(b) != "forbidden" {
		t.Fatalf("non-admin: %d %s", resp.StatusCode, b)
	}
	if resp, b := ts.call(t, "DELETE", "/v1/admin/users/"+w.cID+"/sessions", w.a.AccessToken, "", "User-Agent", "admin-console/7"); resp.StatusCode != 204 {
		t.Fatalf("revoke carol: %d %s", resp.StatusCode, b)
	}

	var fails activityPage
	resp, b = ts.call(t, "GET", "/v1/admin/audit?type=authz_fail&user_id="+w.bID, w.a.AccessToken, "")
	if resp.StatusCode != 200 || json.Unmarshal(b, &fails) != nil || len(fails.Items) != 1 {
		t.Fatalf("bob's authz_fail: %d %s", resp.StatusCode, b)
	}
	if f := fails.Items[0]; f.Reason != "audit_query" || f.UserID != w.bID || f.SessionID != w.b1.SessionID ||
		f.Outcome != "failure" || f.RequestID == "" {
		t.Fatalf("authz_fail event %+v", f)
	}

	carols, _, _ := walkActivity(t, ts, "/v1/admin/audit?user_id="+w.cID, w.a.AccessToken)
	if fmt.Sprint(carols) != "[session_revoked/admin authn_login_success/ user_created/]" {
		t.Fatalf("carol's events: %v", carols)
	}
	var revoked activityPage
	_, b = ts.call(t, "GET", "/v1/admin/audit?type=session_revoked", w.a.AccessToken, "")
	if json.Unmarshal(b, &revoked) != nil || len(revoked.Items) != 1 || revoked.Items[0].ActorID != w.aID ||
		revoked.Items[0].UserID != w.cID || revoked.Items[0].SessionID != w.c1.SessionID {
		t.Fatalf("revocations: %s", b)
	}
	if revoked.Items[0].UserAgent != "admin-console/7" || revoked.Items[0].IP == "" {
		t.Fatalf("the revocation shows administrators where it came from: %s", b)
	}
	// Carol sees that an administrator ended her session, not from where nor who.
	again := ts.signInAgain(t, "carol")
	resp, b = ts.call(t, "GET", "/v1/me/activity", again.AccessToken, "")
	var mine activityPage
	if resp.StatusCode != 200 || json.Unmarshal(b, &mine) != nil || len(mine.Items) < 2 || mine.Items[1].Type != "session_revoked" ||
		mine.Items[1].Reason != "admin" || mine.Items[1].IP != "" || mine.Items[1].UserAgent != "" ||
		strings.Contains(string(b), "admin-console") || strings.Contains(string(b), w.aID) {
		t.Fatalf("carol's activity shows the administrator: %d %s", resp.StatusCode, b)
	}
	var uses activityPage
	_, b = ts.call(t, "GET", "/v1/admin/audit?type=authz_admin", w.a.AccessToken, "")
	if json.Unmarshal(b, &uses) != nil || len(uses.Items) < 2 || uses.Items[len(uses.Items)-1].Reason != "revoke_sessions" ||
		uses.Items[len(uses.Items)-1].Target != w.cID || uses.Items[0].Reason != "audit_query" {
		t.Fatalf("administrator's uses: %s", b)
	}
	all, ids, _ := walkActivity(t, ts, "/v1/admin/audit?limit=3", w.a.AccessToken)
	if len(all) < 10 || len(unique(ids)) != len(ids) {
		t.Fatalf("every event: %v", all)
	}

	resp, b = ts.call(t, "GET", "/v1/admin/audit?type=nope&user_id=Bob&limit=0&cursor=x", w.a.AccessToken, "")
	var p Problem
	if resp.StatusCode != 422 || json.Unmarshal(b, &p) != nil || len(p.Errors) != 4 {
		t.Fatalf("invalid query: %d %s", resp.StatusCode, b)
	}
}

// TestActivityUnavailable: without a readable store the activity answers 503 with
// Retry-After, never an empty list.
func TestActivityUnavailable(t *testing.T) {
	p, retry := problemFor(fmt.Errorf("wrapped: %w", audit.ErrUnavailable))
	if p.Status != 503 || p.Code != "service_unavailable" || retry <= 0 {
		t.Fatalf("problem %+v, retry %s", p, retry)
	}
	if _, err := (noActivity{}).UserEvents(t.Context(), "u", audit.Page{}); err != audit.ErrUnavailable {
		t.Fatal(err)
	}
}
