package api

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"boxoffice/auth"
)

// adminWorld is an administrator A with one session, user B with two and user C with one.
type adminWorld struct {
	ts         *testServer
	a, b1, b2  tokenResponse
	c1         tokenResponse
	aID, bID   string
	cID        string
	everyone   []tokenResponse
	adminRoute []string // every /v1/admin route of the router, "METHOD /pattern", HEAD left out
	userRoute  []string // those of them under /v1/admin/users/
}

func newAdminWorld(t *testing.T) adminWorld {
	t.Helper()
	ts := newTestServer(t)
	w := adminWorld{ts: ts, a: ts.signIn(t, "admin"), b1: ts.signIn(t, "bob"), c1: ts.signIn(t, "carol")}
	w.b2 = ts.signInAgain(t, "bob")
	w.aID, w.bID, w.cID = w.a.Session.UserID, w.b1.Session.UserID, w.c1.Session.UserID
	w.everyone = []tokenResponse{w.a, w.b1, w.b2, w.c1}
	grantAdmin(t, ts, w.aID)
	routes, _ := authenticatedRoutes(ts.srv.app, publicRoutes)
	for _, r := range routes {
		if strings.Contains(r, " /v1/admin/") && !strings.HasPrefix(r, "HEAD ") {
			w.adminRoute = append(w.adminRoute, r)
			if strings.Contains(r, " /v1/admin/users/") {
				w.userRoute = append(w.userRoute, r)
			}
		}
	}
	if len(w.userRoute) < 3 {
		t.Fatalf("admin routes: %v", w.adminRoute)
	}
	return w
}

// live reports whether session tr is live, asking both the API and Redis, and fails the test
// when they disagree.
func (w adminWorld) live(t *testing.T, tr tokenResponse) bool {
	t.Helper()
	resp, b := w.ts.call(t, "GET", "/v1/session", tr.AccessToken, "")
	inRedis := w.ts.rdb.Exists(context.Background(), sessionKey(tr.Session.UserID, tr.SessionID)).Val() == 1
	if (resp.StatusCode == 200) != inRedis {
		t.Fatalf("session %s: API says %d %s, in Redis: %v", tr.SessionID, resp.StatusCode, b, inRedis)
	}
	if !inRedis && problemCode(b) != "session_revoked" {
		t.Fatalf("session %s ended without being revoked: %s", tr.SessionID, b)
	}
	return inRedis
}

// wantLive fails the test unless exactly the sessions in alive are live.
func (w adminWorld) wantLive(t *testing.T, alive ...tokenResponse) {
	t.Helper()
	for _, tr := range w.everyone {
		want := slices.ContainsFunc(alive, func(x tokenResponse) bool { return x.SessionID == tr.SessionID })
		if got := w.live(t, tr); got != want {
			t.Errorf("session %s of %s: live = %v, want %v", tr.SessionID, tr.Session.UserID, got, want)
		}
	}
}

// wantProblem sends a request and fails the test unless it is answered with status and code.
func wantProblem(t *testing.T, ts *testServer, method, path, token string, status int, code string) {
	t.Helper()
	resp, b := ts.call(t, method, path, token, "")
	if resp.StatusCode != status || problemCode(b) != code {
		t.Errorf("%s %s: %d %s, want %d %s", method, path, resp.StatusCode, b, status, code)
	}
}

func problemCode(b []byte) string {
	var p Problem
	_ = json.Unmarshal(b, &p)
	return p.Code
}

// fill puts uid and sid into an admin route pattern.
func fill(route, uid, sid string) (method, path string) {
	method, pattern, _ := strings.Cut(route, " ")
	return method, strings.NewReplacer(":sid", sid, ":id", uid).Replace(pattern)
}

// TestAdminRoutesForbidNonAdmins: every /v1/admin route answers 403 forbidden to a user who is
// not an administrator, aimed at another user's real session, and changes nothing.
func TestAdminRoutesForbidNonAdmins(t *testing.T) {
	w := newAdminWorld(t)
	for _, route := range w.adminRoute {
		method, path := fill(route, w.cID, w.c1.SessionID)
		wantProblem(t, w.ts, method, path, w.b1.AccessToken, 403, "forbidden")
		method, path = fill(route, w.bID, w.b2.SessionID) // not even over one's own sessions
		wantProblem(t, w.ts, method, path, w.b1.AccessToken, 403, "forbidden")
	}
	w.wantLive(t, w.everyone...)
}

// TestAdminActsOnlyOnTheTargetUser: an administrator lists exactly the target's sessions, and
// revoking one or all of them ends those and no other.
func TestAdminActsOnlyOnTheTargetUser(t *testing.T) {
	w := newAdminWorld(t)
	ctx := context.Background()
	b := wantStatus(t, w.ts, "GET", "/v1/admin/users/"+w.bID+"/sessions", w.a.AccessToken, "", 200)
	var page struct {
		Items []struct {
			ID      string `json:"id"`
			UserID  string `json:"user_id"`
			Current bool   `json:"current"`
		} `json:"items"`
	}
	if err := json.Unmarshal(b, &page); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range page.Items {
		if s.UserID != w.bID || s.Current {
			t.Errorf("listed %+v", s)
		}
		ids = append(ids, s.ID)
	}
	if slices.Sort(ids); !slices.Equal(ids, slices.Sorted(slices.Values([]string{w.b1.SessionID, w.b2.SessionID}))) {
		t.Errorf("listed %v, want B's two sessions", ids)
	}

	wantStatus(t, w.ts, "DELETE", "/v1/admin/users/"+w.bID+"/sessions/"+w.b1.SessionID, w.a.AccessToken, "", 204)
	w.wantLive(t, w.a, w.b2, w.c1)
	if r := w.ts.rdb.Get(ctx, revokedKey(w.bID, w.b1.SessionID)).Val(); r != "revoked_by_admin" {
		t.Errorf("B1's revocation marker = %q", r)
	}
	if idx := w.ts.rdb.ZRange(ctx, "bx:{u:"+w.bID+"}:sessions", 0, -1).Val(); !slices.Equal(idx, []string{w.b2.SessionID}) {
		t.Errorf("B's index = %v, want only B2", idx)
	}

	wantStatus(t, w.ts, "DELETE", "/v1/admin/users/"+w.bID+"/sessions", w.a.AccessToken, "", 204)
	w.wantLive(t, w.a, w.c1)
	if n := w.ts.rdb.ZCard(ctx, "bx:{u:"+w.bID+"}:sessions").Val(); n != 0 {
		t.Errorf("B's index holds %d sessions", n)
	}
	if r := w.ts.rdb.Get(ctx, revokedKey(w.bID, w.b2.SessionID)).Val(); r != "revoked_by_admin" {
		t.Errorf("B2's revocation marker = %q", r)
	}
}

// TestAdminTargetsMustExist: a session addressed under another user's path, an unknown user
// and malformed ids are 404 not_found, on every admin route over users that takes them, and
// change nothing. (The catalogue's admin routes have their tests in tickets_test.go.)
func TestAdminTargetsMustExist(t *testing.T) {
	w := newAdminWorld(t)
	for _, tc := range []struct{ name, uid, sid string }{
		{"C's session under B", w.bID, w.c1.SessionID},
		{"the admin's own session under B", w.bID, w.a.SessionID},
		{"unknown user", auth.NewID(), w.b1.SessionID},
		{"unknown session", w.bID, auth.NewID()},
		{"malformed user id", "not-an-id", w.b1.SessionID},
		{"upper-case user id", strings.ToUpper(w.bID), w.b1.SessionID},
		{"malformed session id", w.bID, "not-an-id"},
	} {
		for _, route := range w.userRoute {
			if !strings.Contains(route, ":sid") && tc.uid == w.bID {
				continue // the route does not take the session id that is wrong here
			}
			method, path := fill(route, tc.uid, tc.sid)
			resp, b := w.ts.call(t, method, path, w.a.AccessToken, "")
			if resp.StatusCode != 404 || problemCode(b) != "not_found" {
				t.Errorf("%s: %s %s: %d %s, want 404 not_found", tc.name, method, path, resp.StatusCode, b)
			}
		}
	}
	w.wantLive(t, w.everyone...)
}

// TestAdminPowersEndWithTheRoleOrSession: the role and the session are checked on every
// request: an administrator whose role is removed gets 403 at once, one whose session is
// revoked 401 session_revoked.
func TestAdminPowersEndWithTheRoleOrSession(t *testing.T) {
	w := newAdminWorld(t)
	list := "/v1/admin/users/" + w.bID + "/sessions"
	wantStatus(t, w.ts, "GET", list, w.a.AccessToken, "", 200)
	if err := w.ts.srv.deps.Sessions.Users().SetRoles(context.Background(), w.aID, nil); err != nil {
		t.Fatal(err)
	}
	for _, route := range w.adminRoute {
		method, path := fill(route, w.bID, w.b1.SessionID)
		wantProblem(t, w.ts, method, path, w.a.AccessToken, 403, "forbidden")
	}
	w.wantLive(t, w.everyone...)

	grantAdmin(t, w.ts, w.aID)
	wantStatus(t, w.ts, "GET", list, w.a.AccessToken, "", 200)
	a2 := w.ts.signInAgain(t, "admin")
	wantStatus(t, w.ts, "DELETE", "/v1/sessions/"+w.a.SessionID, a2.AccessToken, "", 204)
	for _, route := range w.adminRoute {
		method, path := fill(route, w.bID, w.b1.SessionID)
		wantProblem(t, w.ts, method, path, w.a.AccessToken, 401, "session_revoked")
	}
	w.wantLive(t, w.b1, w.b2, w.c1)
}
