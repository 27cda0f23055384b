package api

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
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
	csrf *auth.CSRF
	// origins holds, in canonical form (see canonicalOrigin), the origins a cookie-authenticated
	// state change may come from: Config.PublicOrigins and Config.CORSOrigins.
	origins     map[string]bool
	insecureDev bool // plain-HTTP cookie names, no Secure and loopback origins, for loopback hosts only
}

// newCookieJar builds the jar of a server: the CSRF token minter and the origin set of
// cfg.PublicOrigins and cfg.CORSOrigins. It returns an error naming the first configured origin
// that is not an http(s) origin scheme://host[:port] (no path, not even "/", no query, fragment,
// user info or wildcard).
func newCookieJar(csrf *auth.CSRF, cfg Config) (cookieJar, error) {
	j := cookieJar{csrf: csrf, origins: map[string]bool{}, insecureDev: cfg.InsecureDevCookies}
	for _, list := range []struct {
		name    string
		origins []string
	}{{"PublicOrigins", cfg.PublicOrigins}, {"CORSOrigins", cfg.CORSOrigins}} {
		for _, o := range list.origins {
			co, ok := canonicalOrigin(o)
			if !ok {
				return cookieJar{}, fmt.Errorf("api: Config.%s: %q is not an origin like https://app.example.com", list.name, o)
			}
			j.origins[co] = true
		}
	}
	return j, nil
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

// loopbackHost reports whether host (a Host header value or a host name, with or without a
// port, IPv6 in brackets or not) is localhost or a loopback IP address (127.0.0.0/8, ::1).
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
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

// checkOrigin refuses a cookie-carrying state change (and a cookie-transport login) that a
// browser says comes from another origin. The Origin header, when present, must be exactly one
// of the jar's origins (Config.PublicOrigins and Config.CORSOrigins) after canonicalOrigin:
// scheme, host and port all count, and the request's Host header is never consulted, since
// behind some proxies a client chooses it. "null", paths and anything else that is not an
// http(s) origin are refused. Sec-Fetch-Site must be absent or "same-origin", or "same-site" /
// "cross-site" with an accepted Origin; "none" (address bar, bookmark) is always refused.
// Requests with neither header (not from a browser) rely on the CSRF token alone.
//
// Local development: with Config.InsecureDevCookies and a request for a loopback host (the
// same test that selects the plain-HTTP cookie names), any http://localhost:<port>,
// http://127.0.0.1:<port> (127.0.0.0/8) or http://[::1]:<port> origin is accepted too, so a
// dev server on another port can call the API; https loopback origins are not (SameSite=Strict
// would withhold the plain-HTTP cookies from them anyway).
//
// It returns errCSRF (403 csrf_failed) when the request is refused.
func (j cookieJar) checkOrigin(c *fiber.Ctx) error {
	origin := c.Get(fiber.HeaderOrigin)
	allowed := origin != "" && j.originAllowed(c, origin)
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

// originAllowed reports whether the Origin header value origin is one of the jar's origins, or
// a loopback http origin while the development switch applies to this request.
func (j cookieJar) originAllowed(c *fiber.Ctx, origin string) bool {
	co, ok := canonicalOrigin(origin)
	if !ok {
		return false
	}
	if j.origins[co] {
		return true
	}
	if j.insecureDev && loopbackHost(c.Hostname()) {
		if rest, isHTTP := strings.CutPrefix(co, "http://"); isHTTP {
			return loopbackHost(rest) // rest is host[:port], IPv6 in brackets
		}
	}
	return false
}

// canonicalOrigin returns origin as browsers serialise it, scheme://host[:port]: scheme and
// host lowercased, IPv6 hosts in brackets, the port in decimal and dropped when it is the
// scheme's default (80 for http, 443 for https). ok is false for anything but an http or https
// origin: "null", a path (even "/"), a query, a fragment, user info, a backslash, a
// percent-escape, a wildcard, a host that is neither an IP address nor made of ASCII letters,
// digits, '.', '-' and '_' (write internationalised names in punycode, as browsers send them),
// or a port outside 1-65535.
func canonicalOrigin(origin string) (canonical string, ok bool) {
	scheme, rest, found := strings.Cut(origin, "://")
	scheme = strings.ToLower(scheme)
	if !found || (scheme != "http" && scheme != "https") || rest == "" || strings.ContainsAny(rest, "/?#@\\%") {
		return "", false
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return "", false
	}
	host := strings.ToLower(u.Hostname())
	if ip := net.ParseIP(host); ip != nil && strings.Contains(host, ":") {
		if ip.To4() == nil {
			host = ip.String() // the compressed form browsers send: [::1], not [0:0::1]
		}
		host = "[" + host + "]"
	} else if ip == nil && strings.Trim(host, "abcdefghijklmnopqrstuvwxyz0123456789.-_") != "" {
		return "", false // wildcards and other characters no browser puts in an Origin host
	}
	switch p := u.Port(); {
	case p == "" && strings.HasSuffix(u.Host, ":"):
		return "", false // "host:" with an empty port
	case p == "":
	default:
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return "", false
		}
		if !(scheme == "http" && n == 80) && !(scheme == "https" && n == 443) {
			host += ":" + strconv.Itoa(n)
		}
	}
	return scheme + "://" + host, true
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
