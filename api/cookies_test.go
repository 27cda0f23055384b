package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"boxoffice/auth"
)

// In-process tests of the cookie transport's defences: the origin rule, the signed
// double-submit CSRF token and the cookies' attributes, first on the cookieJar methods, then
// through the real routes. Removing any of these checks (or a call to them) fails a test here,
// without starting a process.

const (
	testPublicOrigin = "https://api.example.test"
	testCORSOrigin   = "https://app.example.com"
)

// testKeys is the key ring of every test server, and testCSRF its CSRF tokens.
var (
	testKeys = func() *auth.KeyRing {
		r, err := auth.NewKeyRing([]byte("test-secret-test-secret-test-secret!"))
		if err != nil {
			panic(err)
		}
		return r
	}()
	testCSRF = auth.NewCSRF(testKeys)
)

func testJar(t *testing.T, dev bool) cookieJar {
	t.Helper()
	j, err := newCookieJar(testCSRF, Config{
		PublicOrigins: []string{testPublicOrigin}, CORSOrigins: []string{testCORSOrigin}, InsecureDevCookies: dev,
	})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// withCtx runs f with a Fiber context for a request to host carrying the header pairs hdr.
func withCtx(t *testing.T, method, host string, hdr []string, f func(c *fiber.Ctx)) {
	t.Helper()
	app := fiber.New()
	fctx := &fasthttp.RequestCtx{}
	fctx.Request.Header.SetMethod(method)
	fctx.Request.SetRequestURI("/v1/session/data")
	fctx.Request.Header.SetHost(host)
	for i := 0; i+1 < len(hdr); i += 2 {
		fctx.Request.Header.Set(hdr[i], hdr[i+1])
	}
	c := app.AcquireCtx(fctx)
	defer app.ReleaseCtx(c)
	f(c)
}

func TestCanonicalOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://api.example.test":      "https://api.example.test",
		"HTTPS://API.Example.TEST":      "https://api.example.test",
		"https://api.example.test:443":  "https://api.example.test",
		"http://api.example.test:80":    "http://api.example.test",
		"https://api.example.test:80":   "https://api.example.test:80",
		"http://api.example.test:443":   "http://api.example.test:443",
		"https://api.example.test:0443": "https://api.example.test",
		"http://localhost:5173":         "http://localhost:5173",
		"http://127.0.0.1:8080":         "http://127.0.0.1:8080",
		"http://[::1]:3000":             "http://[::1]:3000",
		"http://[0:0::1]":               "http://[::1]",
		"https://[2001:DB8::1]:443":     "https://[2001:db8::1]",
		"https://xn--bcher-kva.example": "https://xn--bcher-kva.example",
	} {
		if got, ok := canonicalOrigin(in); !ok || got != want {
			t.Errorf("canonicalOrigin(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{
		"", "null", "api.example.test", "//api.example.test", "https:api.example.test",
		"https://", "https://:443", "ftp://api.example.test", "javascript://api.example.test",
		"https://api.example.test/", "https://api.example.test/x", "https://api.example.test?",
		"https://api.example.test#", "https://user@api.example.test", "https://api.example.test@evil.example",
		`https://api.example.test\evil.example`, "https://api%2Eexample.test", "https://*.example.test",
		"https://api.example.test:", "https://api.example.test:0", "https://api.example.test:65536",
		"https://api.example.test:x", "https://bücher.example", "https://api example.test",
		"https://[::1", "http://::1", "https://api.example.test\n",
	} {
		if got, ok := canonicalOrigin(in); ok {
			t.Errorf("canonicalOrigin(%q) = %q, accepted", in, got)
		}
	}
}

func TestNewServerRefusesMalformedOrigins(t *testing.T) {
	for _, cfg := range []Config{
		{PublicOrigins: []string{"https://api.example.test/"}},
		{PublicOrigins: []string{"null"}},
		{CORSOrigins: []string{"*"}},
		{CORSOrigins: []string{"https://*.example.com"}},
	} {
		if _, err := newCookieJar(testCSRF, cfg); err == nil {
			t.Errorf("newCookieJar accepted %+v", cfg)
		}
	}
	if _, err := NewServer(Config{PublicOrigins: []string{"api.example.test"}}, Deps{CSRF: testCSRF}); err == nil ||
		!strings.Contains(err.Error(), "PublicOrigins") {
		t.Fatalf("NewServer with a malformed public origin: %v", err)
	}
}

func TestCheckOrigin(t *testing.T) {
	const api = "api.example.test"
	cases := []struct {
		name string
		dev  bool
		host string
		hdr  []string // Origin, Sec-Fetch-Site, ...
		ok   bool
	}{
		{"no Origin, no Sec-Fetch-Site (not a browser)", false, api, nil, true},
		{"public origin", false, api, []string{"Origin", testPublicOrigin}, true},
		{"public origin, same-origin fetch", false, api, []string{"Origin", testPublicOrigin, "Sec-Fetch-Site", "same-origin"}, true},
		{"public origin with explicit default port", false, api, []string{"Origin", testPublicOrigin + ":443"}, true},
		{"public origin in capitals", false, api, []string{"Origin", "HTTPS://API.EXAMPLE.TEST"}, true},
		{"public origin whatever the Host header", false, "internal-lb:8080", []string{"Origin", testPublicOrigin}, true},
		{"CORS origin, cross-site fetch", false, api, []string{"Origin", testCORSOrigin, "Sec-Fetch-Site", "cross-site"}, true},
		{"CORS origin, same-site fetch", false, api, []string{"Origin", testCORSOrigin, "Sec-Fetch-Site", "same-site"}, true},
		{"same-origin fetch without Origin", false, api, []string{"Sec-Fetch-Site", "same-origin"}, true},

		{"right host, wrong scheme", false, api, []string{"Origin", "http://api.example.test"}, false},
		{"right host, wrong port", false, api + ":8443", []string{"Origin", "https://api.example.test:8443"}, false},
		{"Host header set to the attacker's host", false, "evil.example", []string{"Origin", "https://evil.example"}, false},
		{"Host header with port set to the attacker's origin", false, "evil.example:8443", []string{"Origin", "https://evil.example:8443", "Sec-Fetch-Site", "same-origin"}, false},
		{"Origin equal to the Host header of a direct request", false, "127.0.0.1:8080", []string{"Origin", "http://127.0.0.1:8080"}, false},
		{"foreign origin", false, api, []string{"Origin", "https://evil.example"}, false},
		{"foreign origin claiming same-origin", false, api, []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "same-origin"}, false},
		{"suffix of the public host", false, api, []string{"Origin", "https://evil-api.example.test"}, false},
		{"public host as a prefix", false, api, []string{"Origin", testPublicOrigin + ".evil.example"}, false},
		{"public origin as user info", false, api, []string{"Origin", testPublicOrigin + "@evil.example"}, false},
		{"public origin with a path", false, api, []string{"Origin", testPublicOrigin + "/"}, false},
		{"Origin null", false, api, []string{"Origin", "null"}, false},
		{"cross-site fetch without Origin", false, api, []string{"Sec-Fetch-Site", "cross-site"}, false},
		{"same-site fetch from a foreign origin", false, api, []string{"Origin", "https://www.example.test", "Sec-Fetch-Site", "same-site"}, false},
		{"Sec-Fetch-Site none", false, api, []string{"Origin", testPublicOrigin, "Sec-Fetch-Site", "none"}, false},
		{"unknown Sec-Fetch-Site", false, api, []string{"Sec-Fetch-Site", "bogus"}, false},
		{"loopback origin without the dev switch", false, "localhost:8080", []string{"Origin", "http://localhost:5173"}, false},

		{"dev: localhost origin, any port", true, "localhost:8080", []string{"Origin", "http://localhost:5173", "Sec-Fetch-Site", "same-site"}, true},
		{"dev: 127.0.0.1 origin", true, "127.0.0.1:8080", []string{"Origin", "http://127.0.0.1:3000"}, true},
		{"dev: [::1] origin", true, "[::1]:8080", []string{"Origin", "http://[::1]:3000"}, true},
		{"dev: public origin still accepted", true, api, []string{"Origin", testPublicOrigin}, true},
		{"dev: https loopback origin", true, "localhost:8080", []string{"Origin", "https://localhost:5173"}, false},
		{"dev: loopback-looking foreign host", true, "localhost:8080", []string{"Origin", "http://localhost.evil.example"}, false},
		{"dev: loopback origin to a non-loopback host", true, "boxoffice.example", []string{"Origin", "http://localhost:5173"}, false},
		{"dev: foreign origin to a loopback host", true, "localhost:8080", []string{"Origin", "http://evil.example"}, false},
		{"dev: Origin null", true, "localhost:8080", []string{"Origin", "null"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j := testJar(t, tc.dev)
			withCtx(t, "PATCH", tc.host, tc.hdr, func(c *fiber.Ctx) {
				err := j.checkOrigin(c)
				if tc.ok && err != nil {
					t.Fatalf("refused: %v", err)
				}
				if !tc.ok && err != errCSRF {
					t.Fatalf("err = %v, want errCSRF", err)
				}
			})
		})
	}
}

func TestCheckCSRF(t *testing.T) {
	tok, other := testCSRF.Token("sid-1"), testCSRF.Token("sid-2")
	cases := []struct {
		name string
		dev  bool
		host string
		hdr  []string
		ok   bool
	}{
		{"header equals cookie and is the session's token", false, "api.example.test", []string{"X-CSRF-Token", tok, "Cookie", cookieCSRF + "=" + tok}, true},
		{"no header", false, "api.example.test", []string{"Cookie", cookieCSRF + "=" + tok}, false},
		{"no cookie", false, "api.example.test", []string{"X-CSRF-Token", tok}, false},
		{"empty header and empty cookie", false, "api.example.test", []string{"X-CSRF-Token", "", "Cookie", cookieCSRF + "="}, false},
		{"header not matching the cookie", false, "api.example.test", []string{"X-CSRF-Token", tok, "Cookie", cookieCSRF + "=" + strings.Repeat("A", 43)}, false},
		{"matching pair of another session", false, "api.example.test", []string{"X-CSRF-Token", other, "Cookie", cookieCSRF + "=" + other}, false},
		{"matching forged pair", false, "api.example.test", []string{"X-CSRF-Token", strings.Repeat("A", 43), "Cookie", cookieCSRF + "=" + strings.Repeat("A", 43)}, false},
		{"dev cookie name on a non-loopback host", false, "api.example.test", []string{"X-CSRF-Token", tok, "Cookie", "bx_csrf=" + tok}, false},
		{"dev: plain cookie name on a loopback host", true, "localhost:8080", []string{"X-CSRF-Token", tok, "Cookie", "bx_csrf=" + tok}, true},
		{"dev: another session's pair", true, "localhost:8080", []string{"X-CSRF-Token", other, "Cookie", "bx_csrf=" + other}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j := testJar(t, tc.dev)
			withCtx(t, "PATCH", tc.host, tc.hdr, func(c *fiber.Ctx) {
				err := j.checkCSRF(c, "sid-1")
				if tc.ok && err != nil {
					t.Fatalf("refused: %v", err)
				}
				if !tc.ok && err != errCSRF {
					t.Fatalf("err = %v, want errCSRF", err)
				}
			})
		})
	}
}

// setCookieHeaders returns the Set-Cookie header values of a Fiber response.
func setCookieHeaders(resp *fasthttp.Response) []string {
	var out []string
	for _, v := range resp.Header.Cookies() { // the whole Set-Cookie value of each cookie
		out = append(out, string(v))
	}
	return out
}

// setCookies parses Set-Cookie header values, by name.
func setCookies(t *testing.T, headers []string) map[string]*http.Cookie {
	t.Helper()
	out := map[string]*http.Cookie{}
	for _, v := range headers {
		ck, err := http.ParseSetCookie(v)
		if err != nil {
			t.Fatalf("Set-Cookie %q: %v", v, err)
		}
		if out[ck.Name] != nil {
			t.Fatalf("cookie %s set twice", ck.Name)
		}
		out[ck.Name] = ck
	}
	return out
}

// wantCookie is what a Set-Cookie of the transport must say.
type wantCookie struct {
	name, path       string
	httpOnly, secure bool
}

func transportCookies(dev bool) []wantCookie {
	if dev {
		return []wantCookie{{"bx_at", "/", true, false}, {"bx_rt", "/v1/auth/refresh", true, false}, {"bx_csrf", "/", false, false}}
	}
	return []wantCookie{{"__Host-bx_at", "/", true, true}, {"__Secure-bx_rt", "/v1/auth/refresh", true, true}, {"__Host-bx_csrf", "/", false, true}}
}

// checkAttributes fails unless ck has exactly the attributes w demands, SameSite=Strict and no
// Domain.
func checkAttributes(t *testing.T, ck *http.Cookie, w wantCookie) {
	t.Helper()
	if ck == nil {
		t.Fatalf("cookie %s not set", w.name)
	}
	if ck.Path != w.path || ck.HttpOnly != w.httpOnly || ck.Secure != w.secure ||
		ck.SameSite != http.SameSiteStrictMode || ck.Domain != "" {
		t.Fatalf("cookie %s: Path=%q HttpOnly=%v Secure=%v SameSite=%v Domain=%q; want Path=%q HttpOnly=%v Secure=%v SameSite=Strict, no Domain (%s)",
			w.name, ck.Path, ck.HttpOnly, ck.Secure, ck.SameSite, ck.Domain, w.path, w.httpOnly, w.secure, ck.Raw)
	}
}

// expired reports whether a browser deletes ck on receipt.
func expired(ck *http.Cookie) bool {
	return ck.MaxAge < 0 || (!ck.Expires.IsZero() && ck.Expires.Before(time.Now()))
}

func TestCookiesSetAndClear(t *testing.T) {
	for _, tc := range []struct {
		name, host string
		dev        bool
	}{
		{"secure", "api.example.test", false},
		{"dev switch on a non-loopback host", "api.example.test", true},
		{"dev switch on a loopback host", "localhost:8080", true},
	} {
		dev := tc.dev && tc.host == "localhost:8080"
		t.Run(tc.name+": set", func(t *testing.T) {
			j := testJar(t, tc.dev)
			withCtx(t, "POST", tc.host, nil, func(c *fiber.Ctx) {
				j.set(c, "access-value", "bxr_refresh-value", "sid-1", time.Now().Add(time.Hour))
				got := setCookies(t, setCookieHeaders(c.Response()))
				if len(got) != 3 {
					t.Fatalf("cookies set: %v", got)
				}
				values := []string{"access-value", "bxr_refresh-value", testCSRF.Token("sid-1")}
				for i, w := range transportCookies(dev) {
					ck := got[w.name]
					checkAttributes(t, ck, w)
					if ck.Value != values[i] || ck.MaxAge < 3500 || ck.MaxAge > 3600 {
						t.Fatalf("cookie %s: value %q Max-Age %d", w.name, ck.Value, ck.MaxAge)
					}
				}
			})
		})
		t.Run(tc.name+": clear", func(t *testing.T) {
			j := testJar(t, tc.dev)
			withCtx(t, "POST", tc.host, nil, func(c *fiber.Ctx) {
				j.clear(c)
				checkCleared(t, setCookieHeaders(c.Response()), string(c.Response().Header.Peek("Clear-Site-Data")), dev)
			})
		})
	}
}

// checkCleared fails unless the Set-Cookie headers expire the three transport cookies with the
// attributes they were set with (a browser ignores a deletion whose Path, Secure or prefix
// rules differ) and Clear-Site-Data is "cookies", quoted.
func checkCleared(t *testing.T, setCookie []string, clearSiteData string, dev bool) {
	t.Helper()
	if clearSiteData != `"cookies"` {
		t.Fatalf(`Clear-Site-Data = %q, want "cookies" (quoted)`, clearSiteData)
	}
	got := setCookies(t, setCookie)
	if len(got) != 3 {
		t.Fatalf("cookies cleared: %v", got)
	}
	for _, w := range transportCookies(dev) {
		ck := got[w.name]
		checkAttributes(t, ck, w)
		if ck.Value != "" || !expired(ck) {
			t.Fatalf("cookie %s not expired: value %q Max-Age %d Expires %v (%s)", w.name, ck.Value, ck.MaxAge, ck.Expires, ck.Raw)
		}
	}
}

// TestCookieTransportThroughRoutes drives login, a change, refresh and logout with cookies
// through the real app, so that a route that stops calling checkOrigin, checkCSRF or clear
// fails here too.
func TestCookieTransportThroughRoutes(t *testing.T) {
	ts := newTestServerWith(t, Config{PublicOrigins: []string{testPublicOrigin}, CORSOrigins: []string{testCORSOrigin}})
	if resp, b := ts.call(t, "POST", "/v1/users", "", `{"username":"cookie-user","password":"password-cookie-user"}`); resp.StatusCode != 201 {
		t.Fatalf("register: %d %s", resp.StatusCode, b)
	}
	// call sends the request to https://api.example.test, or to the host of path when it is an
	// absolute URL (that host becomes the Host header).
	call := func(t *testing.T, method, path, body string, hdr ...string) (*http.Response, []byte) {
		t.Helper()
		if !strings.HasPrefix(path, "http") {
			path = testPublicOrigin + path
		}
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.RequestURI = req.URL.RequestURI() // origin-form, with the host in the Host header
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := ts.srv.app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	// refused sends the request and fails unless it is refused as a cross-site request.
	refused := func(t *testing.T, method, path, body string, hdr ...string) {
		t.Helper()
		resp, b := call(t, method, path, body, hdr...)
		var p struct{ Code string }
		_ = json.Unmarshal(b, &p)
		if resp.StatusCode != 403 || p.Code != "csrf_failed" {
			t.Fatalf("status %d code %q, want 403 csrf_failed: %s", resp.StatusCode, p.Code, b)
		}
		if len(resp.Cookies()) != 0 {
			t.Fatalf("a refused request set cookies: %v", resp.Cookies())
		}
	}
	const login = `{"username":"cookie-user","password":"password-cookie-user","transport":"cookie"}`

	t.Run("cookie login from a foreign origin", func(t *testing.T) {
		refused(t, "POST", "/v1/auth/login", login, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	})
	t.Run("cookie login with the Host header set to the attacker's origin", func(t *testing.T) {
		refused(t, "POST", "https://evil.example/v1/auth/login", login, "Origin", "https://evil.example")
	})
	t.Run("cookie login over the wrong scheme", func(t *testing.T) {
		refused(t, "POST", "http://api.example.test/v1/auth/login", login, "Origin", "http://api.example.test")
	})

	resp, b := call(t, "POST", "/v1/auth/login", login, "Origin", testPublicOrigin, "Sec-Fetch-Site", "same-origin")
	if resp.StatusCode != 200 {
		t.Fatalf("cookie login from the public origin: %d %s", resp.StatusCode, b)
	}
	ck := map[string]*http.Cookie{}
	for _, x := range resp.Cookies() {
		ck[x.Name] = x
	}
	at, rt, cs := ck[cookieAccess], ck[cookieRefresh], ck[cookieCSRF]
	if at == nil || rt == nil || cs == nil {
		t.Fatalf("login cookies: %v", ck)
	}
	jar := cookieAccess + "=" + at.Value + "; " + cookieCSRF + "=" + cs.Value
	other := testCSRF.Token("another-session")

	for _, tc := range []struct {
		name, url string
		hdr       []string
	}{
		{"change without CSRF header", "/v1/session/data", []string{"Origin", testPublicOrigin}},
		{"change with a CSRF header not matching the cookie", "/v1/session/data", []string{"Origin", testPublicOrigin, "X-CSRF-Token", other}},
		{"change with a valid token from a foreign origin", "/v1/session/data", []string{"X-CSRF-Token", cs.Value, "Origin", "https://evil.example"}},
		{"change with a valid token, Host and Origin the attacker's", "https://evil.example/v1/session/data", []string{"X-CSRF-Token", cs.Value, "Origin", "https://evil.example"}},
		{"change with a valid token over the wrong scheme", "http://api.example.test/v1/session/data", []string{"X-CSRF-Token", cs.Value, "Origin", "http://api.example.test"}},
		{"change with a valid token from the wrong port", "https://api.example.test:8443/v1/session/data", []string{"X-CSRF-Token", cs.Value, "Origin", "https://api.example.test:8443"}},
		{"change with a valid token, Sec-Fetch-Site none", "/v1/session/data", []string{"X-CSRF-Token", cs.Value, "Sec-Fetch-Site", "none"}},
		{"change with a valid token, Origin null", "/v1/session/data", []string{"X-CSRF-Token", cs.Value, "Origin", "null"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refused(t, "PATCH", tc.url, `{"seat":"Z9"}`, append([]string{"Cookie", jar}, tc.hdr...)...)
		})
	}
	t.Run("change with the token from the public origin", func(t *testing.T) {
		if resp, b := call(t, "PATCH", "/v1/session/data", `{"seat":"A1"}`, "Cookie", jar, "X-CSRF-Token", cs.Value, "Origin", testPublicOrigin, "Sec-Fetch-Site", "same-origin"); resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
	})
	t.Run("change with the token from the CORS origin", func(t *testing.T) {
		if resp, b := call(t, "PATCH", "/v1/session/data", `{"seat":"A2"}`, "Cookie", jar, "X-CSRF-Token", cs.Value, "Origin", testCORSOrigin, "Sec-Fetch-Site", "cross-site"); resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
	})

	rjar := cookieRefresh + "=" + rt.Value + "; " + cookieCSRF + "=" + cs.Value
	t.Run("cookie refresh without the CSRF token", func(t *testing.T) {
		refused(t, "POST", "/v1/auth/refresh", "", "Cookie", rjar, "Origin", testPublicOrigin)
	})
	t.Run("cookie refresh from a foreign origin", func(t *testing.T) {
		refused(t, "POST", "https://evil.example/v1/auth/refresh", "", "Cookie", rjar, "X-CSRF-Token", cs.Value, "Origin", "https://evil.example")
	})
	t.Run("cookie refresh with the token from the public origin", func(t *testing.T) {
		resp, b := call(t, "POST", "/v1/auth/refresh", "", "Cookie", rjar, "X-CSRF-Token", cs.Value, "Origin", testPublicOrigin)
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
		for _, x := range resp.Cookies() {
			if x.Name == cookieAccess {
				jar = cookieAccess + "=" + x.Value + "; " + cookieCSRF + "=" + cs.Value
			}
		}
	})

	t.Run("cookie logout from a foreign origin", func(t *testing.T) {
		refused(t, "POST", "/v1/auth/logout", "", "Cookie", jar, "X-CSRF-Token", cs.Value, "Origin", "https://evil.example")
	})
	t.Run("cookie logout clears the cookies", func(t *testing.T) {
		resp, b := call(t, "POST", "/v1/auth/logout", "", "Cookie", jar, "X-CSRF-Token", cs.Value, "Origin", testPublicOrigin)
		if resp.StatusCode != 204 {
			t.Fatalf("logout: %d %s", resp.StatusCode, b)
		}
		checkCleared(t, resp.Header.Values("Set-Cookie"), resp.Header.Get("Clear-Site-Data"), false)
		if resp, b := call(t, "GET", "/v1/session", "", "Cookie", jar); resp.StatusCode != 401 {
			t.Fatalf("session after cookie logout: %d %s", resp.StatusCode, b)
		}
	})
}
