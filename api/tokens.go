package api

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"boxoffice/auth"
	"boxoffice/session"
)

// LoginLimits bound failed logins in a fixed window. Defaults, per 15 minutes: 10 for one
// account from one client IP, 100 for one account from all IPs together, 50 for one client IP
// over all accounts. Keying the tight account limit by IP too means that an attacker's
// failures do not lock the real user out from their own network; the global account limit
// still stops a distributed guesser. IPv6 clients count per /64, which one host usually owns.
type LoginLimits struct {
	PerAccount       int
	PerAccountGlobal int
	PerIP            int
	Window           time.Duration
}

// maxUserAgentBytes bounds the User-Agent stored with a session.
const maxUserAgentBytes = 256

// handleLogin verifies credentials and starts a session. Unknown users and wrong passwords
// give the same 401 invalid_credentials at the same cost (a dummy hash is verified). Attempts
// are reserved before the password is checked, so parallel guesses cannot exceed the limits;
// a successful login gives its reservations back.
//
// With "transport": "cookie" the tokens are set as HttpOnly cookies instead of returned; such a
// login must pass the Origin / Fetch-Metadata check (against login CSRF).
func handleLogin(users auth.UserStore, passwords *auth.Passwords, throttle *session.Throttle,
	limits LoginLimits, is issuer, jar cookieJar, log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		b, err := readBody(c, "username", "password", "device_name", "transport")
		if err != nil {
			return err
		}
		username := b.str("username", true)
		password := b.str("password", true)
		device, derr := auth.CleanDisplayName(b.str("device_name", false))
		if derr != nil {
			b.fail("device_name", derr.Error())
		}
		transport := b.str("transport", false)
		if transport != "" && transport != "bearer" && transport != "cookie" {
			b.fail("transport", `must be "bearer" or "cookie"`)
		}
		if err := b.err(); err != nil {
			return err
		}
		cookie := transport == "cookie"
		if cookie {
			if err := jar.checkOrigin(c); err != nil {
				return err
			}
		}
		ctx := c.UserContext()
		ip := clientIP(c)
		canon, cerr := auth.CanonicalUsername(username)
		account := canon
		if cerr != nil {
			account = "invalid:" + username
		}
		if err := reserveLogin(ctx, throttle, limits, ip, account); err != nil {
			return err
		}
		var u auth.User
		if cerr == nil {
			u, err = users.UserByUsername(ctx, canon)
			if err != nil && !errors.Is(err, auth.ErrUserNotFound) {
				releaseLogin(ctx, throttle, limits, ip, account, false) // not a failed guess: give it back
				return err
			}
		}
		rehash, err := passwords.Verify(ctx, u.PasswordHash, password) // "" verifies a dummy
		if errors.Is(err, auth.ErrPasswordMismatch) {
			return err // the reserved attempts stay counted
		}
		if err != nil {
			releaseLogin(ctx, throttle, limits, ip, account, false)
			return err
		}
		if err := releaseLogin(ctx, throttle, limits, ip, account, true); err != nil {
			return err
		}
		if rehash {
			upgradeHash(c, users, passwords, u, password, log)
		}
		t, err := is.start(ctx, u, client{device: device, ip: ip, userAgent: userAgent(c)})
		if err != nil {
			return err
		}
		return is.answer(c, jar, cookie, t)
	}
}

// loginBuckets are the throttle windows one login attempt draws from.
func loginBuckets(limits LoginLimits, ip, account string) []struct {
	kind, subject string
	limit         int
} {
	bucket := ipBucket(ip)
	return []struct {
		kind, subject string
		limit         int
	}{
		{"login-ip", bucket, limits.PerIP},
		{"login-account-ip", account + "\x00" + bucket, limits.PerAccount},
		{"login-account", account, limits.PerAccountGlobal},
	}
}

// reserveLogin takes one attempt from each window, refusing with a throttledError when one is
// spent (giving back what it took) and with ErrUnavailable when Redis cannot tell.
func reserveLogin(ctx context.Context, throttle *session.Throttle, limits LoginLimits, ip, account string) error {
	buckets := loginBuckets(limits, ip, account)
	for i, b := range buckets {
		ok, retry, err := throttle.Reserve(ctx, b.kind, b.subject, b.limit, limits.Window)
		if err == nil && !ok {
			err = &throttledError{retryAfter: retry}
		}
		if err != nil {
			for _, taken := range buckets[:i] {
				_ = throttle.Release(ctx, taken.kind, taken.subject, false)
			}
			return err
		}
	}
	return nil
}

// releaseLogin gives the reserved attempts back: after a success (which also clears the
// account's window for this IP) or after a failure that was not a wrong password (Redis,
// hashing capacity), so that an outage cannot lock accounts.
func releaseLogin(ctx context.Context, throttle *session.Throttle, limits LoginLimits, ip, account string, success bool) error {
	var errs []error
	for _, b := range loginBuckets(limits, ip, account) {
		errs = append(errs, throttle.Release(ctx, b.kind, b.subject, success && b.kind == "login-account-ip"))
	}
	return errors.Join(errs...)
}

// clientIP is the client's address: from the trusted proxy's header when one is configured
// (Fiber checks the peer), else the peer address. A missing or malformed header falls back to
// the peer, so clients never share an empty bucket.
func clientIP(c *fiber.Ctx) string {
	if ip := net.ParseIP(strings.TrimSpace(c.IP())); ip != nil {
		return ip.String()
	}
	return c.Context().RemoteIP().String()
}

// ipBucket is the throttling unit of an address: the address itself for IPv4, its /64 for IPv6.
func ipBucket(ip string) string {
	a := net.ParseIP(ip)
	if a == nil || a.To4() != nil {
		return ip
	}
	return (&net.IPNet{IP: a.Mask(net.CIDRMask(64, 128)), Mask: net.CIDRMask(64, 128)}).String()
}

// upgradeHash re-hashes a password whose stored parameters are outdated. Failure is logged,
// not fatal: the next login tries again.
func upgradeHash(c *fiber.Ctx, users auth.UserStore, passwords *auth.Passwords, u auth.User, pw string, log *slog.Logger) {
	h, err := passwords.Hash(c.UserContext(), pw)
	if err == nil {
		_, err = users.SetPasswordHash(c.UserContext(), u.ID, u.PasswordHash, h)
	}
	if err != nil {
		log.Warn("password rehash failed", "request_id", requestID(c), "err", err)
	}
}

// handleRefresh rotates a refresh token. A garbled or forged token is rejected before Redis is
// touched; a rotated token presented again within the grace window yields the same successor.
// With a refresh_token in the body the answer carries the tokens (bearer transport); with no
// body, the refresh cookie is used and the answer sets cookies (cookie transport), after the
// Origin / Fetch-Metadata and CSRF checks.
func handleRefresh(refresh *auth.RefreshTokens, is issuer, jar cookieJar) fiber.Handler {
	return func(c *fiber.Ctx) error {
		cookie := len(bytes.TrimSpace(rawBody(c))) == 0
		var raw string
		if cookie {
			if raw = jar.refreshToken(c); raw == "" {
				return auth.ErrRefreshInvalid
			}
		} else {
			b, err := readBody(c, "refresh_token")
			if err != nil {
				return err
			}
			raw = b.str("refresh_token", true)
			if err := b.err(); err != nil {
				return err
			}
		}
		rt, err := refresh.Parse(raw)
		if err != nil {
			return err
		}
		if cookie {
			if err := jar.checkOrigin(c); err != nil {
				return err
			}
			if err := jar.checkCSRF(c, rt.SessionID); err != nil {
				return err
			}
		}
		t, err := is.rotate(c.UserContext(), rt, requestID(c)+auth.NewID())
		if err != nil {
			return err
		}
		return is.answer(c, jar, cookie, t)
	}
}

// handleLogout revokes the current session: 204. A cookie session also gets its cookies
// cleared (and Clear-Site-Data).
func handleLogout(sessions *session.Store, jar cookieJar) fiber.Handler {
	return func(c *fiber.Ctx) error {
		cl := claims(c)
		if err := sessions.Revoke(c.UserContext(), cl.UserID, cl.SessionID, cl.SessionID, session.ReasonLogout); err != nil {
			return err
		}
		if viaCookie(c) {
			jar.clear(c)
		}
		return c.SendStatus(fiber.StatusNoContent)
	}
}

// handleLogoutAll revokes every session of the current user, this one included: 204.
func handleLogoutAll(sessions *session.Store, jar cookieJar) fiber.Handler {
	return func(c *fiber.Ctx) error {
		cl := claims(c)
		if _, err := sessions.RevokeAll(c.UserContext(), cl.UserID, cl.SessionID, session.ReasonLogoutAll); err != nil {
			return err
		}
		if viaCookie(c) {
			jar.clear(c)
		}
		return c.SendStatus(fiber.StatusNoContent)
	}
}

// userAgent returns the request's User-Agent cut to maxUserAgentBytes of valid UTF-8.
func userAgent(c *fiber.Ctx) string {
	ua := c.Get(fiber.HeaderUserAgent)
	if len(ua) > maxUserAgentBytes {
		ua = ua[:maxUserAgentBytes]
	}
	return strings.ToValidUTF8(strings.Clone(ua), "")
}
