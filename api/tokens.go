package api

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"boxoffice/auth"
	"boxoffice/session"
)

// LoginLimits bound failed logins per account and per client IP in a fixed window. Defaults:
// 10 per account and 50 per IP in 15 minutes.
type LoginLimits struct {
	PerAccount int
	PerIP      int
	Window     time.Duration
}

// maxUserAgentBytes bounds the User-Agent stored with a session.
const maxUserAgentBytes = 256

// handleLogin verifies credentials and starts a session. Unknown users and wrong passwords
// give the same 401 invalid_credentials at the same cost (a dummy hash is verified). Attempts
// are reserved before the password is checked, so parallel guesses cannot exceed the limits;
// a successful login gives its reservations back.
func handleLogin(users auth.UserStore, passwords *auth.Passwords, throttle *session.Throttle,
	limits LoginLimits, is issuer, log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		b, err := readBody(c, "username", "password", "device_name")
		if err != nil {
			return err
		}
		username := b.str("username", true)
		password := b.str("password", true)
		device, derr := auth.CleanDisplayName(b.str("device_name", false))
		if derr != nil {
			b.fail("device_name", derr.Error())
		}
		if err := b.err(); err != nil {
			return err
		}
		ctx := c.UserContext()
		ip := strings.Clone(c.IP())
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
				releaseLogin(ctx, throttle, ip, account, false) // not a failed guess: give it back
				return err
			}
		}
		rehash, err := passwords.Verify(ctx, u.PasswordHash, password) // "" verifies a dummy
		if errors.Is(err, auth.ErrPasswordMismatch) {
			return err // the reserved attempts stay counted
		}
		if err != nil {
			releaseLogin(ctx, throttle, ip, account, false)
			return err
		}
		if err := releaseLogin(ctx, throttle, ip, account, true); err != nil {
			return err
		}
		if rehash {
			upgradeHash(c, users, passwords, u, password, log)
		}
		resp, err := is.start(ctx, u, client{device: device, ip: ip, userAgent: userAgent(c)})
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.MIMEApplicationJSON, resp)
	}
}

// reserveLogin takes one attempt from the client IP's and the account's windows, refusing with
// a throttledError when either is spent and with ErrUnavailable when Redis cannot tell.
func reserveLogin(ctx context.Context, throttle *session.Throttle, limits LoginLimits, ip, account string) error {
	ok, retry, err := throttle.Reserve(ctx, "login-ip", ip, limits.PerIP, limits.Window)
	if err != nil {
		return err
	}
	if !ok {
		return &throttledError{retryAfter: retry}
	}
	ok, retry, err = throttle.Reserve(ctx, "login-account", account, limits.PerAccount, limits.Window)
	if err == nil && !ok {
		err = &throttledError{retryAfter: retry}
	}
	if err != nil {
		_ = throttle.Release(ctx, "login-ip", ip, false)
	}
	return err
}

// releaseLogin gives the reserved attempts back: after a success (resetting the account's
// window) or after a failure that was not a wrong password (Redis, hashing capacity).
func releaseLogin(ctx context.Context, throttle *session.Throttle, ip, account string, success bool) error {
	err := throttle.Release(ctx, "login-account", account, success)
	return errors.Join(err, throttle.Release(ctx, "login-ip", ip, false))
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
func handleRefresh(refresh *auth.RefreshTokens, is issuer) fiber.Handler {
	return func(c *fiber.Ctx) error {
		b, err := readBody(c, "refresh_token")
		if err != nil {
			return err
		}
		raw := b.str("refresh_token", true)
		if err := b.err(); err != nil {
			return err
		}
		rt, err := refresh.Parse(raw)
		if err != nil {
			return err
		}
		resp, err := is.rotate(c.UserContext(), rt, requestID(c)+auth.NewID())
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.MIMEApplicationJSON, resp)
	}
}

// handleLogout revokes the current session: 204.
func handleLogout(sessions *session.Store) fiber.Handler {
	return func(c *fiber.Ctx) error {
		cl := claims(c)
		if err := sessions.Revoke(c.UserContext(), cl.UserID, cl.SessionID, cl.SessionID, session.ReasonLogout); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	}
}

// handleLogoutAll revokes every session of the current user, this one included: 204.
func handleLogoutAll(sessions *session.Store) fiber.Handler {
	return func(c *fiber.Ctx) error {
		cl := claims(c)
		if _, err := sessions.RevokeAll(c.UserContext(), cl.UserID, cl.SessionID, session.ReasonLogoutAll); err != nil {
			return err
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
