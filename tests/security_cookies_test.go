package tests

import (
	"net/http"
	"strings"
	"testing"
)

// publicOrigin is the origin under which the secure() deployment tells browsers reach it
// (BOXOFFICE_PUBLIC_ORIGINS). Its instances listen on random loopback ports, and the origin
// check never looks at the Host header, so the tests present this fixed origin the way a browser
// behind a TLS-terminating proxy would: Origin https://api.example.test, Host api.example.test.
const (
	publicOrigin = "https://api.example.test"
	publicHost   = "api.example.test"
)

// TestSecurityCookies attacks the cookie transport: tokens never reach scripts, every
// cookie-authenticated change needs the session's CSRF token and an origin that is exactly a
// configured one (scheme, host and port; the Host header is never trusted), a bearer token and a
// cookie are never combined, and logout clears the cookies.
func TestSecurityCookies(t *testing.T) {
	c := secure(t).inst(0)
	rdb := redisClient(t, shared)
	name, pw := newUser(t, c)
	r, ck := cookieLogin(t, c, name, pw, "Origin", publicOrigin, "Host", publicHost, "Sec-Fetch-Site", "same-origin")
	mustStatus(t, r, 200)
	var body map[string]any
	r.decode(t, &body)
	at, rt, cs := ck["__Host-bx_at"], ck["__Secure-bx_rt"], ck["__Host-bx_csrf"]
	uid := body["session"].(map[string]any)["user_id"].(string)
	sid := body["session_id"].(string)

	t.Run("login sets hardened cookies and no token in the body", func(t *testing.T) {
		if at == nil || rt == nil || cs == nil {
			t.Fatalf("cookies = %v", ck)
		}
		for _, k := range []string{"access_token", "refresh_token"} {
			if _, ok := body[k]; ok {
				t.Fatalf("cookie login body carries %s", k)
			}
		}
		if body["csrf_token"] != cs.Value || body["transport"] != "cookie" {
			t.Fatalf("body = %v", body)
		}
		for _, x := range []*http.Cookie{at, rt, cs} {
			if !x.Secure || x.SameSite != http.SameSiteStrictMode || x.Domain != "" || x.MaxAge <= 0 {
				t.Fatalf("cookie %s attributes: %+v", x.Name, x)
			}
		}
		if !at.HttpOnly || !rt.HttpOnly || cs.HttpOnly || at.Path != "/" || rt.Path != "/v1/auth/refresh" || cs.Path != "/" {
			t.Fatalf("HttpOnly/Path: at %+v rt %+v csrf %+v", at, rt, cs)
		}
	})

	jar := cookieHeader(at.Name, at.Value, cs.Name, cs.Value)
	patch := func(hdr ...string) reply {
		return c.do(t, "PATCH", "/v1/session/data", "", `{"seat":"Z9"}`, append([]string{"Cookie", jar}, hdr...)...)
	}
	t.Run("cookie-authenticated read needs no CSRF token", func(t *testing.T) {
		expect(t, c.do(t, "GET", "/v1/session", "", nil, "Cookie", jar), 200, "")
	})
	refused := []struct {
		name string
		hdr  []string
	}{
		{"change without CSRF header", nil},
		{"CSRF header not matching the cookie", []string{"X-CSRF-Token", strings.Repeat("A", 43)}},
		{"cross-site request with a valid token", []string{"X-CSRF-Token", cs.Value, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}},
		{"foreign Origin with a valid token", []string{"X-CSRF-Token", cs.Value, "Origin", "https://evil.example"}},
		{"Sec-Fetch-Site none", []string{"X-CSRF-Token", cs.Value, "Sec-Fetch-Site", "none"}},
		{"Origin null", []string{"X-CSRF-Token", cs.Value, "Origin", "null"}},
		{"right host, wrong scheme", []string{"X-CSRF-Token", cs.Value, "Origin", "http://" + publicHost, "Host", publicHost}},
		{"right host, wrong port", []string{"X-CSRF-Token", cs.Value, "Origin", publicOrigin + ":8443", "Host", publicHost + ":8443"}},
		{"Host header and Origin both the attacker's", []string{"X-CSRF-Token", cs.Value, "Origin", "https://evil.example", "Host", "evil.example"}},
		{"Origin equal to the instance's own address", []string{"X-CSRF-Token", cs.Value, "Origin", c.base, "Sec-Fetch-Site", "same-origin"}},
		{"public origin with a path", []string{"X-CSRF-Token", cs.Value, "Origin", publicOrigin + "/", "Host", publicHost}},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, rdb, uid)
			expect(t, patch(tc.hdr...), 403, "csrf_failed")
			unchanged(t, rdb, uid, before)
		})
	}
	t.Run("another session's CSRF token", func(t *testing.T) {
		_, other := cookieLogin(t, c, name, pw)
		otherCSRF := other["__Host-bx_csrf"].Value
		before := snapshot(t, rdb, uid)
		r := c.do(t, "PATCH", "/v1/session/data", "", `{"seat":"Z9"}`,
			"Cookie", cookieHeader(at.Name, at.Value, cs.Name, otherCSRF), "X-CSRF-Token", otherCSRF)
		expect(t, r, 403, "csrf_failed")
		unchanged(t, rdb, uid, before)
	})
	t.Run("same-origin change with the CSRF token", func(t *testing.T) {
		expect(t, patch("X-CSRF-Token", cs.Value, "Origin", publicOrigin, "Host", publicHost, "Sec-Fetch-Site", "same-origin"), 200, "")
	})
	t.Run("public origin with its default port and in capitals", func(t *testing.T) {
		expect(t, patch("X-CSRF-Token", cs.Value, "Origin", "HTTPS://API.EXAMPLE.TEST:443"), 200, "")
	})
	t.Run("change from the allowed CORS origin with the CSRF token", func(t *testing.T) {
		expect(t, patch("X-CSRF-Token", cs.Value, "Origin", allowedOrigin, "Sec-Fetch-Site", "cross-site"), 200, "")
	})

	t.Run("bearer header wins over a cookie of another user", func(t *testing.T) {
		other := signIn(t, c)
		r := c.do(t, "GET", "/v1/me", other.tk.AccessToken, nil, "Cookie", jar)
		expect(t, r, 200, "")
		var me struct{ ID string }
		r.decode(t, &me)
		if me.ID != other.tk.Session.UserID {
			t.Fatalf("/v1/me with bearer B and cookie A answered user %s", me.ID)
		}
		before := snapshot(t, rdb, uid)
		expect(t, c.do(t, "PATCH", "/v1/session/data", other.tk.AccessToken, `{"mine":1}`, "Cookie", jar), 200, "")
		unchanged(t, rdb, uid, before)
	})
	t.Run("an invalid bearer header does not fall back to the cookie", func(t *testing.T) {
		expect(t, c.do(t, "GET", "/v1/session", "garbage", nil, "Cookie", jar), 401, "invalid_token")
	})
	t.Run("cookie refresh needs the CSRF token", func(t *testing.T) {
		before := snapshot(t, rdb, uid)
		r := c.do(t, "POST", "/v1/auth/refresh", "", nil, "Cookie", cookieHeader(rt.Name, rt.Value, cs.Name, cs.Value))
		expect(t, r, 403, "csrf_failed")
		unchanged(t, rdb, uid, before)
	})
	t.Run("cookie refresh from the attacker's origin and Host is refused", func(t *testing.T) {
		before := snapshot(t, rdb, uid)
		r := c.do(t, "POST", "/v1/auth/refresh", "", nil, "Cookie", cookieHeader(rt.Name, rt.Value, cs.Name, cs.Value),
			"X-CSRF-Token", cs.Value, "Origin", "https://evil.example", "Host", "evil.example")
		expect(t, r, 403, "csrf_failed")
		unchanged(t, rdb, uid, before)
	})
	t.Run("cookie refresh rotates the cookies", func(t *testing.T) {
		r := c.do(t, "POST", "/v1/auth/refresh", "", nil,
			"Cookie", cookieHeader(rt.Name, rt.Value, cs.Name, cs.Value), "X-CSRF-Token", cs.Value, "Origin", publicOrigin)
		expect(t, r, 200, "")
		nc := cookies(r)
		if nc["__Secure-bx_rt"] == nil || nc["__Secure-bx_rt"].Value == rt.Value || nc["__Host-bx_at"] == nil {
			t.Fatalf("refresh did not rotate the cookies: %v", nc)
		}
		if strings.Contains(string(r.body), "bxr_") || strings.Contains(string(r.body), "access_token") {
			t.Fatalf("cookie refresh body leaks a token: %s", r.body)
		}
		at = nc["__Host-bx_at"]
		jar = cookieHeader(at.Name, at.Value, cs.Name, cs.Value)
	})
	t.Run("logout clears the cookies", func(t *testing.T) {
		r := c.do(t, "POST", "/v1/auth/logout", "", nil, "Cookie", jar, "X-CSRF-Token", cs.Value, "Origin", publicOrigin)
		expect(t, r, 204, "")
		if r.header.Get("Clear-Site-Data") != `"cookies"` {
			t.Fatalf("Clear-Site-Data = %q", r.header.Get("Clear-Site-Data"))
		}
		for _, name := range []string{"__Host-bx_at", "__Secure-bx_rt", "__Host-bx_csrf"} {
			if x := cookies(r)[name]; x == nil || x.MaxAge >= 0 || x.Value != "" {
				t.Fatalf("cookie %s not cleared: %+v", name, x)
			}
		}
		expect(t, c.do(t, "GET", "/v1/session", "", nil, "Cookie", jar), 401, "session_revoked")
		if exists(t, rdb, sessionKey(uid, sid)) {
			t.Fatal("session still stored after cookie logout")
		}
	})
	t.Run("cookie login from a foreign origin is refused", func(t *testing.T) {
		n2, p2 := newUser(t, c)
		for _, hdr := range [][]string{
			{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"},
			{"Origin", "https://evil.example", "Host", "evil.example"},
			{"Origin", "http://" + publicHost, "Host", publicHost},
		} {
			r, ck := cookieLogin(t, c, n2, p2, hdr...)
			expect(t, r, 403, "csrf_failed")
			if len(ck) != 0 {
				t.Fatalf("a refused login (%v) set cookies: %v", hdr, ck)
			}
		}
	})
}

// TestSecurityDevCookies: the plain-HTTP development switch only ever applies to loopback hosts,
// and with it a cookie-authenticated change is accepted from http loopback origins on any port
// (a dev server for the app) besides the configured ones — nothing else.
func TestSecurityDevCookies(t *testing.T) {
	p, err := startProcess(t.TempDir(), shared.URL(), map[string]string{"BOXOFFICE_INSECURE_DEV_COOKIES": "true", "BOXOFFICE_REGISTER_MAX_PER_IP": "0"})
	if err != nil {
		t.Fatal(err)
	}
	d := &deployment{procs: []*process{p}}
	defer d.stop()
	if err := p.waitReady(15 * 1e9); err != nil {
		t.Fatal(err)
	}
	c := d.inst(0)
	name, pw := newUser(t, c)
	_, ck := cookieLogin(t, c, name, pw)
	if x := ck["bx_at"]; x == nil || x.Secure || !x.HttpOnly || x.SameSite != http.SameSiteStrictMode {
		t.Fatalf("loopback dev cookies: %v", ck)
	}
	jar := cookieHeader("bx_at", ck["bx_at"].Value, "bx_csrf", ck["bx_csrf"].Value)
	patch := func(origin string) reply {
		return c.do(t, "PATCH", "/v1/session/data", "", `{"seat":"D1"}`, "Cookie", jar,
			"X-CSRF-Token", ck["bx_csrf"].Value, "Origin", origin, "Sec-Fetch-Site", "same-site")
	}
	for _, o := range []string{"http://localhost:5173", "http://127.0.0.1:3000", "http://[::1]:8081"} {
		expect(t, patch(o), 200, "")
	}
	for _, o := range []string{"https://localhost:5173", "http://localhost.evil.example", "https://evil.example", "null"} {
		expect(t, patch(o), 403, "csrf_failed")
	}
	r, refused := cookieLogin(t, c, name, pw, "Host", "boxoffice.example", "Origin", "http://localhost:5173")
	expect(t, r, 403, "csrf_failed")
	if len(refused) != 0 {
		t.Fatalf("a refused login set cookies: %v", refused)
	}
	_, ck = cookieLogin(t, c, name, pw, "Host", "boxoffice.example")
	if x := ck["__Host-bx_at"]; x == nil || !x.Secure || ck["bx_at"] != nil {
		t.Fatalf("non-loopback host must get Secure prefixed cookies even with the dev switch: %v", ck)
	}
}

// TestSecurityCORS: only allow-listed origins get CORS headers, credentials never with a
// reflected arbitrary origin.
func TestSecurityCORS(t *testing.T) {
	sec := secure(t).inst(0)
	pre := func(c *client, origin string) reply {
		return c.do(t, "OPTIONS", "/v1/session", "", nil, "Origin", origin, "Access-Control-Request-Method", "PATCH",
			"Access-Control-Request-Headers", "x-csrf-token, content-type")
	}
	t.Run("allowed origin", func(t *testing.T) {
		r := pre(sec, allowedOrigin)
		if r.header.Get("Access-Control-Allow-Origin") != allowedOrigin || r.header.Get("Access-Control-Allow-Credentials") != "true" {
			t.Fatalf("preflight from the allowed origin: %d %v", r.status, r.header)
		}
	})
	t.Run("other origin", func(t *testing.T) {
		for _, o := range []string{"https://evil.example", "null", allowedOrigin + ".evil.example"} {
			if got := pre(sec, o).header.Get("Access-Control-Allow-Origin"); got != "" {
				t.Fatalf("origin %s got Access-Control-Allow-Origin %q", o, got)
			}
			if got := sec.do(t, "GET", "/healthz", "", nil, "Origin", o).header.Get("Access-Control-Allow-Origin"); got != "" {
				t.Fatalf("simple request from %s got Access-Control-Allow-Origin %q", o, got)
			}
		}
	})
	t.Run("no allow-list means no CORS", func(t *testing.T) {
		if got := pre(fleet.inst(0), allowedOrigin).header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Fatalf("CORS answered without configuration: %q", got)
		}
	})
}
