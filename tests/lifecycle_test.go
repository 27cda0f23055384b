package tests

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestCrossInstanceLifecycle: login on one instance, read and patch on the others, refresh,
// logout, and the logout is honoured by every instance on the next request.
func TestCrossInstanceLifecycle(t *testing.T) {
	a, b, c := fleet.inst(0), fleet.inst(1), fleet.inst(2)
	rdb := redisClient(t, shared)
	name, pw := newUser(t, a)
	tk := login(t, a, name, pw)
	if tk.TokenType != "Bearer" || tk.ExpiresIn < 299 || tk.ExpiresIn > 300 || tk.SessionID == "" || !tk.Session.Current || tk.Session.DeviceName != "e2e" {
		t.Fatalf("token response = %+v", tk)
	}

	r := b.do(t, "GET", "/v1/session", tk.AccessToken, nil)
	expect(t, r, 200, "")
	var s sessionView
	r.decode(t, &s)
	if s.ID != tk.SessionID || r.header.Get("ETag") != `"0"` || r.header.Get("Session-Absolute-Expires-At") == "" {
		t.Fatalf("session on B = %+v etag %q", s, r.header.Get("ETag"))
	}

	r = c.do(t, "PATCH", "/v1/session/data", tk.AccessToken, `{"cart":{"seats":["A1"]},"theme":"dark"}`,
		"Content-Type", "application/merge-patch+json", "If-Match", `"0"`)
	expect(t, r, 200, "")
	if r.header.Get("ETag") != `"1"` {
		t.Fatalf("ETag after patch = %q", r.header.Get("ETag"))
	}
	r = a.do(t, "GET", "/v1/session", tk.AccessToken, nil)
	r.decode(t, &s)
	if string(s.Data["cart"]) != `{"seats":["A1"]}` || string(s.Data["theme"]) != `"dark"` {
		t.Fatalf("data read on A = %v", s.Data)
	}
	var me struct{ ID, Username string }
	r = b.do(t, "GET", "/v1/me", tk.AccessToken, nil)
	expect(t, r, 200, "")
	r.decode(t, &me)
	if me.Username != name || me.ID != s.UserID {
		t.Fatalf("me = %+v", me)
	}

	// Refresh on B; the data survives, the refresh token rotates.
	r = b.do(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": tk.RefreshToken})
	expect(t, r, 200, "")
	var tk2 tokens
	r.decode(t, &tk2)
	if tk2.RefreshToken == tk.RefreshToken || tk2.SessionID != tk.SessionID || string(tk2.Session.Data["theme"]) != `"dark"` {
		t.Fatalf("refresh response = %+v", tk2)
	}
	expect(t, c.do(t, "GET", "/v1/session", tk2.AccessToken, nil), 200, "")

	// Logout on A; every instance rejects both access tokens and the refresh token at once.
	expect(t, a.do(t, "POST", "/v1/auth/logout", tk2.AccessToken, nil), 204, "")
	for i, inst := range []*client{a, b, c} {
		for _, at := range []string{tk.AccessToken, tk2.AccessToken} {
			expect(t, inst.do(t, "GET", "/v1/session", at, nil), 401, "session_revoked")
		}
		expect(t, inst.do(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": tk2.RefreshToken}), 401, "session_revoked")
		if i == 0 {
			expect(t, inst.do(t, "PATCH", "/v1/session/data", tk2.AccessToken, `{"x":1}`), 401, "session_revoked")
		}
	}
	if exists(t, rdb, sessionKey(s.UserID, s.ID)) || !exists(t, rdb, revokedKey(s.UserID, s.ID)) {
		t.Fatal("Redis state after logout: session must be gone and its revocation marker present")
	}
	// Logout is idempotent: a client retrying it is not told it failed, and nothing is recreated.
	expect(t, c.do(t, "POST", "/v1/auth/logout", tk2.AccessToken, nil), 204, "")
	if exists(t, rdb, sessionKey(s.UserID, s.ID)) {
		t.Fatal("a repeated logout recreated the session")
	}
}

// TestRefreshRotationAndReuseAcrossInstances: a retry inside the grace window gets the same
// successor from any instance, and a token rotated twice since, still inside its own window, the
// current one; forged tokens change nothing. Past the window (here: no window), presenting a
// spent token is theft: the session dies on every instance.
func TestRefreshRotationAndReuseAcrossInstances(t *testing.T) {
	a, b, c := fleet.inst(0), fleet.inst(1), fleet.inst(2)
	name, pw := newUser(t, a)
	t0 := login(t, a, name, pw)

	refresh := func(inst *client, rt string) reply {
		return inst.do(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": rt})
	}
	var t1, t1again, t2, t0late tokens
	r := refresh(b, t0.RefreshToken)
	expect(t, r, 200, "")
	r.decode(t, &t1)
	r = refresh(c, t0.RefreshToken) // a lost response retried on another instance
	expect(t, r, 200, "")
	r.decode(t, &t1again)
	if t1again.RefreshToken != t1.RefreshToken {
		t.Fatal("a retry inside the grace window must return the same successor")
	}
	r = refresh(a, t1.RefreshToken)
	expect(t, r, 200, "")
	r.decode(t, &t2)
	r = refresh(b, t0.RefreshToken) // a request another tab had in flight
	expect(t, r, 200, "")
	r.decode(t, &t0late)
	if t0late.RefreshToken != t2.RefreshToken {
		t.Fatal("a token rotated twice since, inside its window, must get the current token")
	}

	// Garbage and forged tokens are rejected without touching the session.
	// (A tampered copy changes a character in the middle: the last one partly encodes padding
	// bits, so replacing it can give back the very same token.)
	mid := len(t2.RefreshToken) / 2
	tampered := t2.RefreshToken[:mid] + map[bool]string{true: "B", false: "A"}[t2.RefreshToken[mid] == 'A'] + t2.RefreshToken[mid+1:]
	for _, bad := range []string{"", "bxr_", "nonsense", tampered, t2.RefreshToken + "x"} {
		expect(t, refresh(b, bad), map[bool]int{true: 422, false: 401}[bad == ""], map[bool]string{true: "validation_failed", false: "invalid_refresh_token"}[bad == ""])
	}
	expect(t, c.do(t, "GET", "/v1/session", t2.AccessToken, nil), 200, "")

	// Reuse outside the window: a deployment without one, so that no wait is needed.
	d := deploy(t, 2, shared.URL(), map[string]string{"BOXOFFICE_REFRESH_GRACE": "0s",
		"BOXOFFICE_REGISTER_MAX_PER_IP": "0"})
	rdb := redisClient(t, shared)
	u0 := login(t, d.inst(0), name, pw)
	var u1 tokens
	r = d.inst(1).do(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": u0.RefreshToken})
	expect(t, r, 200, "")
	r.decode(t, &u1)
	expect(t, d.inst(0).do(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": u0.RefreshToken}), 401, "refresh_token_reused")
	for i := range d.procs {
		expect(t, d.inst(i).do(t, "GET", "/v1/session", u1.AccessToken, nil), 401, "session_revoked")
		expect(t, d.inst(i).do(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": u1.RefreshToken}), 401, "session_revoked")
	}
	if reason, _ := rdb.Get(context.Background(), revokedKey(u1.Session.UserID, u1.SessionID)).Result(); reason != "refresh_token_reused" {
		t.Fatalf("revocation reason = %q", reason)
	}
}

// TestParallelRefreshNeverForks: the same refresh token presented 20 times in parallel across
// instances yields one successor, and the session stays usable.
func TestParallelRefreshNeverForks(t *testing.T) {
	a := fleet.inst(0)
	name, pw := newUser(t, a)
	t0 := login(t, a, name, pw)
	var wg sync.WaitGroup
	got := make(chan string, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := fleet.inst(i).do(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": t0.RefreshToken})
			if r.status != 200 {
				t.Errorf("parallel refresh %d: %d %s", i, r.status, r.body)
				return
			}
			var tk tokens
			r.decode(t, &tk)
			got <- tk.RefreshToken
		}()
	}
	wg.Wait()
	close(got)
	successors := map[string]bool{}
	for rt := range got {
		successors[rt] = true
	}
	if len(successors) != 1 {
		t.Fatalf("%d distinct successors, want 1", len(successors))
	}
	for rt := range successors {
		expect(t, fleet.inst(1).do(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": rt}), 200, "")
	}
}

// TestRevokeOneSessionEverywhere: DELETE /v1/sessions/{id} from one device ends that device's
// session on every instance; other users' and unknown ids are 404.
func TestRevokeOneSessionEverywhere(t *testing.T) {
	a, b := fleet.inst(0), fleet.inst(1)
	name, pw := newUser(t, a)
	phone := login(t, a, name, pw)
	laptop := login(t, b, name, pw)
	oname, opw := newUser(t, a)
	other := login(t, a, oname, opw)

	r := b.do(t, "GET", "/v1/sessions", phone.AccessToken, nil)
	expect(t, r, 200, "")
	var list struct{ Items []sessionView }
	r.decode(t, &list)
	if len(list.Items) != 2 {
		t.Fatalf("sessions = %+v", list.Items)
	}
	for _, it := range list.Items {
		if it.Current != (it.ID == phone.SessionID) {
			t.Fatalf("current flag wrong: %+v", it)
		}
	}
	expect(t, a.do(t, "DELETE", "/v1/sessions/"+other.SessionID, phone.AccessToken, nil), 404, "not_found")
	expect(t, a.do(t, "DELETE", "/v1/sessions/not-an-id", phone.AccessToken, nil), 404, "not_found")
	expect(t, fleet.inst(2).do(t, "DELETE", "/v1/sessions/"+laptop.SessionID, phone.AccessToken, nil), 204, "")
	for i := 0; i < 3; i++ {
		expect(t, fleet.inst(i).do(t, "GET", "/v1/session", laptop.AccessToken, nil), 401, "session_revoked")
		expect(t, fleet.inst(i).do(t, "GET", "/v1/session", phone.AccessToken, nil), 200, "")
		expect(t, fleet.inst(i).do(t, "GET", "/v1/session", other.AccessToken, nil), 200, "")
	}

	// logout-all ends every session of the user, on every instance.
	tablet := login(t, a, name, pw)
	expect(t, b.do(t, "POST", "/v1/auth/logout-all", tablet.AccessToken, nil), 204, "")
	for i := 0; i < 3; i++ {
		expect(t, fleet.inst(i).do(t, "GET", "/v1/me", phone.AccessToken, nil), 401, "session_revoked")
		expect(t, fleet.inst(i).do(t, "GET", "/v1/me", tablet.AccessToken, nil), 401, "session_revoked")
		expect(t, fleet.inst(i).do(t, "GET", "/v1/me", other.AccessToken, nil), 200, "")
	}
}

// TestParallelPatchesAllKept: 50 parallel patches of distinct keys through three instances.
func TestParallelPatchesAllKept(t *testing.T) {
	name, pw := newUser(t, fleet.inst(0))
	tk := login(t, fleet.inst(0), name, pw)
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := fleet.inst(i).do(t, "PATCH", "/v1/session/data", tk.AccessToken, fmt.Sprintf(`{"k%02d": %d}`, i, i))
			if r.status != 200 {
				t.Errorf("patch %d: %d %s", i, r.status, r.body)
			}
		}()
	}
	wg.Wait()
	r := fleet.inst(1).do(t, "GET", "/v1/session", tk.AccessToken, nil)
	var s sessionView
	r.decode(t, &s)
	if len(s.Data) != 50 || r.header.Get("ETag") != `"50"` {
		t.Fatalf("kept %d keys, ETag %s; want 50 and \"50\"", len(s.Data), r.header.Get("ETag"))
	}
}

// TestStaleIfMatch: a patch conditioned on an outdated ETag gets 412 and changes nothing.
func TestStaleIfMatch(t *testing.T) {
	a, b := fleet.inst(0), fleet.inst(1)
	name, pw := newUser(t, a)
	tk := login(t, a, name, pw)
	r := a.do(t, "PATCH", "/v1/session/data", tk.AccessToken, `{"seat":"A1"}`, "If-Match", `"0"`)
	expect(t, r, 200, "")
	etag := r.header.Get("ETag")
	expect(t, b.do(t, "PATCH", "/v1/session/data", tk.AccessToken, `{"seat":"B2"}`, "If-Match", `"0"`), 412, "precondition_failed")
	expect(t, b.do(t, "PATCH", "/v1/session/data", tk.AccessToken, `{"seat":"B2"}`, "If-Match", `W/`+etag), 412, "precondition_failed")
	r = b.do(t, "GET", "/v1/session", tk.AccessToken, nil)
	var s sessionView
	r.decode(t, &s)
	if string(s.Data["seat"]) != `"A1"` || r.header.Get("ETag") != etag {
		t.Fatalf("stale patch changed data: %v %s", s.Data, r.header.Get("ETag"))
	}
	expect(t, b.do(t, "PATCH", "/v1/session/data", tk.AccessToken, `{"seat":"B2"}`, "If-Match", `"7", `+etag), 200, "")
}

// TestLogoutRacingPatchNeverResurrects: a patch in flight while the session is logged out on
// another instance never brings the session back.
func TestLogoutRacingPatchNeverResurrects(t *testing.T) {
	rdb := redisClient(t, shared)
	name, pw := newUser(t, fleet.inst(0))
	for round := 0; round < 15; round++ {
		tk := login(t, fleet.inst(round), name, pw)
		var wg sync.WaitGroup
		for i := 0; i < 6; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if i == 3 {
					fleet.inst(round+1).do(t, "POST", "/v1/auth/logout", tk.AccessToken, nil)
					return
				}
				r := fleet.inst(round+2+i).do(t, "PATCH", "/v1/session/data", tk.AccessToken, fmt.Sprintf(`{"obj":{"k%d":1},"s%d":true}`, i, i))
				if r.status != 200 && r.code() != "session_revoked" {
					t.Errorf("patch during logout: %d %s", r.status, r.body)
				}
			}()
		}
		wg.Wait()
		for i := 0; i < 3; i++ {
			expect(t, fleet.inst(i).do(t, "GET", "/v1/session", tk.AccessToken, nil), 401, "session_revoked")
		}
		if exists(t, rdb, sessionKey(tk.Session.UserID, tk.SessionID)) {
			t.Fatalf("round %d: session key resurrected after logout", round)
		}
	}
}

// TestAbsoluteCapHoldsAcrossRefreshes runs its own deployment with short lifetimes and keeps
// refreshing: no refresh extends the absolute deadline, and the session ends at it. The idle
// timeout is longer than the cap, so that however slowly a busy machine refreshes, the cap is
// what ends the session.
func TestAbsoluteCapHoldsAcrossRefreshes(t *testing.T) {
	skipShort(t, "a test that waits out a 4 s session lifetime")
	d, err := startDeployment(t.TempDir(), 2, shared.URL(), map[string]string{
		"BOXOFFICE_ACCESS_TTL":          "1s",
		"BOXOFFICE_IDLE_TTL":            "1h",
		"BOXOFFICE_ABSOLUTE_TTL":        "4s",
		"BOXOFFICE_REGISTER_MAX_PER_IP": "0",
		"BOXOFFICE_LOGIN_MAX_PER_IP":    "100000",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer d.stop()
	name, pw := newUser(t, d.inst(0))
	before := time.Now()
	tk := login(t, d.inst(0), name, pw)
	after := time.Now()
	cap := tk.Session.AbsoluteExpiresAt
	// 4s after the login, whenever the server handled it (timestamps may be whole seconds).
	if cap.Before(before.Add(4*time.Second).Truncate(time.Second)) || cap.After(after.Add(4*time.Second)) {
		t.Fatalf("absolute deadline %v, want 4s after the login (between %v and %v)", cap, before, after)
	}
	rt := tk.RefreshToken
	deadline := cap.Add(guard)
	for i := 0; ; i++ {
		if time.Now().After(deadline) {
			t.Fatal("session outlived its absolute deadline by far")
		}
		time.Sleep(300 * time.Millisecond)
		r := d.inst(i).do(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": rt})
		if r.status == http.StatusUnauthorized {
			expect(t, r, 401, "session_expired")
			if time.Now().Before(cap) {
				t.Fatalf("expired %v before the absolute deadline", cap.Sub(time.Now()))
			}
			break
		}
		expect(t, r, 200, "")
		var next tokens
		r.decode(t, &next)
		if !next.Session.AbsoluteExpiresAt.Equal(cap) || next.Session.IdleExpiresAt.After(cap) {
			t.Fatalf("refresh %d moved the cap: %v / idle %v (cap %v)", i, next.Session.AbsoluteExpiresAt, next.Session.IdleExpiresAt, cap)
		}
		rt = next.RefreshToken
	}
	expect(t, d.inst(1).do(t, "GET", "/v1/session", tk.AccessToken, nil), 401, "")
}
