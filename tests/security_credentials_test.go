package tests

import (
	"context"
	"strings"
	"sync"
	"testing"
)

// TestSecurityCredentials attacks passwords and the login throttle.
func TestSecurityCredentials(t *testing.T) {
	rdb := redisClient(t, shared)

	t.Run("unknown user and wrong password are the same answer", func(t *testing.T) {
		c := fleet.inst(1)
		name, _ := newUser(t, c)
		a := c.do(t, "POST", "/v1/auth/login", "", map[string]string{"username": name, "password": "not-the-password"})
		b := c.do(t, "POST", "/v1/auth/login", "", map[string]string{"username": name + "x", "password": "not-the-password"})
		expect(t, a, 401, "invalid_credentials")
		expect(t, b, 401, "invalid_credentials")
		if strings.ReplaceAll(string(a.body), a.header.Get("X-Request-Id"), "") != strings.ReplaceAll(string(b.body), b.header.Get("X-Request-Id"), "") {
			t.Fatalf("answers differ:\n%s\n%s", a.body, b.body)
		}
	})
	t.Run("an attacker's failures do not lock the owner out from another IP", func(t *testing.T) {
		c := secure(t).inst(0)
		name, pw := newUser(t, c)
		for i := 0; i < 10; i++ {
			expect(t, c.do(t, "POST", "/v1/auth/login", "", map[string]string{"username": name, "password": "guess-guess-guess"}, "X-Real-IP", "203.0.113.9"), 401, "invalid_credentials")
		}
		r := c.do(t, "POST", "/v1/auth/login", "", map[string]string{"username": name, "password": pw}, "X-Real-IP", "203.0.113.9")
		expect(t, r, 429, "too_many_attempts")
		expect(t, secure(t).inst(1).do(t, "POST", "/v1/auth/login", "", map[string]string{"username": name, "password": pw}, "X-Real-IP", "198.51.100.7"), 200, "")
	})
	t.Run("per-IP limit across accounts, per IPv6 /64", func(t *testing.T) {
		c := secure(t).inst(1)
		for i := 0; i < 20; i++ {
			ip := sprintf("2001:db8:1:2::%x", i+1) // 20 addresses of one /64
			expect(t, c.do(t, "POST", "/v1/auth/login", "", map[string]string{"username": sprintf("nobody-%d", i), "password": "whatever-password"}, "X-Real-IP", ip), 401, "invalid_credentials")
		}
		r := c.do(t, "POST", "/v1/auth/login", "", map[string]string{"username": "nobody-x", "password": "whatever-password"}, "X-Real-IP", "2001:db8:1:2::ffff")
		expect(t, r, 429, "too_many_attempts")
		expect(t, c.do(t, "POST", "/v1/auth/login", "", map[string]string{"username": "nobody-y", "password": "whatever-password"}, "X-Real-IP", "2001:db8:9::1"), 401, "invalid_credentials")
	})
	t.Run("X-Real-IP from an untrusted peer is ignored", func(t *testing.T) {
		c := fleet.inst(0)
		name, pw := newUser(t, c)
		r := c.do(t, "POST", "/v1/auth/login", "", map[string]string{"username": name, "password": pw}, "X-Real-IP", "192.0.2.66")
		expect(t, r, 200, "")
		var tk struct{ Session struct{ IP string } }
		r.decode(t, &tk)
		if tk.Session.IP != "127.0.0.1" {
			t.Fatalf("session IP %q taken from a client-set header", tk.Session.IP)
		}
	})
	t.Run("password over 256 bytes", func(t *testing.T) {
		c := fleet.inst(2)
		long := strings.Repeat("p", 300)
		expect(t, c.do(t, "POST", "/v1/users", "", map[string]string{"username": "longpw-user", "password": long}), 422, "validation_failed")
		expect(t, c.do(t, "POST", "/v1/auth/login", "", map[string]string{"username": "longpw-user", "password": strings.Repeat("p", 1<<15)}), 401, "invalid_credentials")
	})
	t.Run("login flood stays bounded", func(t *testing.T) {
		c := hashing(t).inst(0) // production-cost hashing, bounded slots, generous deadline
		name, _ := newUser(t, c)
		var wg sync.WaitGroup
		for i := 0; i < 24; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := c.do(t, "POST", "/v1/auth/login", "", map[string]string{"username": name, "password": "flood-flood-flood"}, "X-Real-IP", sprintf("198.51.100.%d", 100+i))
				if r.status != 401 && r.status != 429 && (r.status != 503 || r.header.Get("Retry-After") == "") {
					t.Errorf("flood answer %d %s", r.status, r.body)
				}
			}()
		}
		wg.Wait()
	})

	t.Run("password change: wrong current password changes nothing", func(t *testing.T) {
		c := fleet.inst(0)
		s := signIn(t, c)
		before := snapshot(t, rdb, s.tk.Session.UserID)
		r := c.do(t, "POST", "/v1/auth/password", s.tk.AccessToken, map[string]string{"current_password": "wrong-wrong-wrong", "new_password": "brand-new-password"})
		expect(t, r, 422, "validation_failed")
		if !strings.Contains(string(r.body), "current_password") {
			t.Fatalf("422 does not name current_password: %s", r.body)
		}
		unchanged(t, rdb, s.tk.Session.UserID, before)
	})
	t.Run("password change revokes other sessions and rotates this one", func(t *testing.T) {
		a, b := fleet.inst(0), fleet.inst(1)
		s := signIn(t, a)
		other := login(t, b, s.name, s.pw)
		r := b.do(t, "POST", "/v1/auth/password", s.tk.AccessToken, map[string]string{"current_password": s.pw, "new_password": "a-brand-new-password"})
		expect(t, r, 200, "")
		var fresh tokens
		r.decode(t, &fresh)
		if fresh.SessionID == s.tk.SessionID || fresh.RefreshToken == "" || !fresh.Session.AbsoluteExpiresAt.Equal(s.tk.Session.AbsoluteExpiresAt) {
			t.Fatalf("password change answer: %+v", fresh)
		}
		for i := 0; i < 3; i++ {
			expect(t, fleet.inst(i).do(t, "GET", "/v1/session", s.tk.AccessToken, nil), 401, "session_revoked")
			expect(t, fleet.inst(i).do(t, "GET", "/v1/session", other.AccessToken, nil), 401, "session_revoked")
			expect(t, fleet.inst(i).do(t, "GET", "/v1/session", fresh.AccessToken, nil), 200, "")
		}
		expect(t, a.do(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": s.tk.RefreshToken}), 401, "session_revoked")
		expect(t, a.do(t, "POST", "/v1/auth/login", "", map[string]string{"username": s.name, "password": s.pw}), 401, "invalid_credentials")
		expect(t, a.do(t, "POST", "/v1/auth/login", "", map[string]string{"username": s.name, "password": "a-brand-new-password"}), 200, "")
		// The moved session's marker names where it went: "password_changed:<new id>".
		if reason, _ := rdb.Get(context.Background(), revokedKey(s.tk.Session.UserID, s.tk.SessionID)).Result(); reason != "password_changed:"+fresh.SessionID {
			t.Fatalf("old session's revocation reason = %q", reason)
		}
	})
}

// TestSecurityAdmin: only administrators reach the admin endpoints, and the first one is made
// with the CLI, not a default password.
func TestSecurityAdmin(t *testing.T) {
	c := fleet.inst(0)
	rdb := redisClient(t, shared)
	victim := signIn(t, c)
	mallory := signIn(t, c)
	path := "/v1/admin/users/" + victim.tk.Session.UserID + "/sessions"

	t.Run("non-admin is forbidden", func(t *testing.T) {
		before := snapshot(t, rdb, victim.tk.Session.UserID)
		expect(t, c.do(t, "GET", path, mallory.tk.AccessToken, nil), 403, "forbidden")
		expect(t, c.do(t, "DELETE", path, mallory.tk.AccessToken, nil), 403, "forbidden")
		expect(t, c.do(t, "DELETE", path+"/"+victim.tk.SessionID, mallory.tk.AccessToken, nil), 403, "forbidden")
		unchanged(t, rdb, victim.tk.Session.UserID, before)
	})
	t.Run("unauthenticated is 401", func(t *testing.T) {
		expect(t, c.do(t, "GET", path, "", nil), 401, "missing_token")
	})
	t.Run("admin lists and revokes another user's sessions", func(t *testing.T) {
		root := signIn(t, c)
		grantAdmin(t, root.name)
		r := fleet.inst(1).do(t, "GET", path, root.tk.AccessToken, nil)
		expect(t, r, 200, "")
		var list struct{ Items []sessionView }
		r.decode(t, &list)
		if len(list.Items) != 1 || list.Items[0].ID != victim.tk.SessionID || list.Items[0].Current {
			t.Fatalf("admin list = %+v", list.Items)
		}
		expect(t, fleet.inst(2).do(t, "DELETE", path+"/"+auth404(), root.tk.AccessToken, nil), 404, "not_found")
		expect(t, fleet.inst(2).do(t, "DELETE", path, root.tk.AccessToken, nil), 204, "")
		expect(t, c.do(t, "GET", "/v1/session", victim.tk.AccessToken, nil), 401, "session_revoked")
		if reason, _ := rdb.Get(context.Background(), revokedKey(victim.tk.Session.UserID, victim.tk.SessionID)).Result(); reason != "revoked_by_admin" {
			t.Fatalf("revocation reason = %q", reason)
		}
		expect(t, c.do(t, "GET", "/v1/admin/users/"+auth404()+"/sessions", root.tk.AccessToken, nil), 404, "not_found")
	})
}

// auth404 is a well-formed id that names nothing.
func auth404() string { return "aaaaaaaaaaaaaaaaaaaaaaaaaa" }
