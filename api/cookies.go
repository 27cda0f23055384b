package api

import (
	"errors"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"boxoffice/auth"
)

// Cookie transport for browser apps. With "transport": "cookie" at login the tokens travel only
// in cookies that scripts cannot read:
//
//	__Host-bx_at     access token   Path=/                 HttpOnly Secure SameSite=Strict
//	__Secure-bx_rt   refresh token  Path=/v1/auth/refresh  HttpOnly Secure SameSite=Strict
//	__Host-bx_csrf   CSRF token     Path=/                 Secure SameSite=Strict (readable)
//
// The refresh cookie is __Secure- rather than __Host- because __Host- demands Path=/, which
// would send the long-lived refresh token with every request to every endpoint (and into every
// log and proxy that sees them); scoped to the refresh path it leaves the browser for one
// endpoint only. No cookie has a Domain attribute, so none is shared with subdomains.
const (
	cookieAccess  = "__Host-bx_at"
	cookieRefresh = "__Secure-bx_rt"
	cookieCSRF    = "__Host-bx_csrf"
	refreshPath   = "/v1/auth/refresh"
	headerCSRF    = "X-CSRF-Token"
)

// errCSRF is a cookie-authenticated state change without a valid CSRF token or from a foreign
// origin (403).
var errCSRF = errors.New("csrf check failed")

// cookieJar sets, reads and checks the transport cookies.
type cookieJar struct {
	csrf        *auth.CSRF
	origins     map[string]bool // CORS allow-list: origins trusted besides this server's own
	insecureDev bool            // plain-HTTP cookie names and no Secure, for loopback hosts only
}

// names returns the cookie names and the Secure flag for this request. The development switch
// takes effect only when the request is for a loopback host; everywhere else cookies are
// always Secure and prefixed.
func (j cookieJar) names(c *fiber.Ctx) (access, refresh, csrf string, secure bool) {
	if j.insecureDev && loopbackHost(c.Hostname()) {
		return "bx_at", "bx_rt", "bx_csrf", false
	}
	return cookieAccess, cookieRefresh, cookieCSRF, true
}

func loopbackHost(host string) bool {
	host = strings.Trim(host, "[]")
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = strings.Trim(h, "[]")
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// set writes the three cookies for a session; they live until the session's absolute deadline
// (the access token inside expires sooner: the server then answers token_expired and the app
// refreshes).
func (j cookieJar) set(c *fiber.Ctx, access, refresh, sid string, until time.Time) {
	at, rt, cs, secure := j.names(c)
	maxAge := max(int(time.Until(until).Seconds()), 1)
	put := func(name, value, path string, httpOnly bool) {
		c.Cookie(&fiber.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge,
			Secure: secure, HTTPOnly: httpOnly, SameSite: fiber.CookieSameSiteStrictMode})
	}
	put(at, access, "/", true)
	put(rt, refresh, refreshPath, true)
	put(cs, j.csrf.Token(sid), "/", false)
}

// clear expires the three cookies (logout) with the same attributes they were set with.
func (j cookieJar) clear(c *fiber.Ctx) {
	at, rt, cs, secure := j.names(c)
	for _, ck := range []struct{ name, path string }{{at, "/"}, {rt, refreshPath}, {cs, "/"}} {
		c.Cookie(&fiber.Cookie{Name: ck.name, Value: "", Path: ck.path, MaxAge: -1,
			Expires: time.Unix(0, 0), Secure: secure, HTTPOnly: ck.name != cs,
			SameSite: fiber.CookieSameSiteStrictMode})
	}
	c.Set("Clear-Site-Data", `"cookies"`)
}

// accessToken returns the access cookie's value, or "".
func (j cookieJar) accessToken(c *fiber.Ctx) string {
	at, _, _, _ := j.names(c)
	return strings.Clone(c.Cookies(at))
}

// refreshToken returns the refresh cookie's value, or "".
func (j cookieJar) refreshToken(c *fiber.Ctx) string {
	_, rt, _, _ := j.names(c)
	return strings.Clone(c.Cookies(rt))
}

// checkOrigin refuses a cookie-carrying state change that a browser says comes from another
// site: Sec-Fetch-Site must be same-origin (or the Origin must be allowed by CORS), and an
// Origin header must be this server's or an allowed one. Requests without either header (not
// from a browser) rely on the CSRF token alone.
func (j cookieJar) checkOrigin(c *fiber.Ctx) error {
	origin := c.Get(fiber.HeaderOrigin)
	allowed := origin != "" && (j.origins[strings.ToLower(origin)] || sameOrigin(origin, c.Hostname()))
	switch c.Get("Sec-Fetch-Site") {
	case "", "same-origin":
	case "same-site", "cross-site":
		if !allowed {
			return errCSRF
		}
	default: // "none": typed into the address bar or a bookmark; never a legitimate state change
		return errCSRF
	}
	if origin != "" && !allowed {
		return errCSRF
	}
	return nil
}

// sameOrigin reports whether origin names the host (with port) the request was sent to.
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Path != "" {
		return false
	}
	return strings.EqualFold(u.Host, host)
}

// checkCSRF requires the signed double-submit token: the X-CSRF-Token header must equal the
// CSRF cookie and be the token of session sid.
func (j cookieJar) checkCSRF(c *fiber.Ctx, sid string) error {
	_, _, cs, _ := j.names(c)
	h := c.Get(headerCSRF)
	if h == "" || h != c.Cookies(cs) || !j.csrf.Valid(sid, h) {
		return errCSRF
	}
	return nil
}

// unsafeMethod reports whether the method may change state.
func unsafeMethod(m string) bool {
	switch m {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return false
	}
	return true
}
