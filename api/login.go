package api

import (
	"bytes"
	"errors"

	"github.com/gofiber/fiber/v2"

	"boxoffice/accounts"
	"boxoffice/auth"
	"boxoffice/session"
)

// handleLogin verifies credentials and starts a session (accounts.Service.Login). Unknown users
// and wrong passwords give the same 401 invalid_credentials at the same cost.
//
// With "transport": "cookie" the tokens are set as HttpOnly cookies instead of returned; such a
// login must pass the Origin / Fetch-Metadata check (against login CSRF).
func handleLogin(acc *accounts.Service, jar cookieJar) fiber.Handler {
	return func(c *fiber.Ctx) error {
		b, err := readBody(c, "username", "password", "device_name", "transport", "device_token")
		if err != nil {
			return err
		}
		in := accounts.LoginInput{
			Username: b.str("username", true), Password: b.str("password", true),
			DeviceToken: b.str("device_token", false), IP: clientIP(c), UserAgent: userAgent(c),
		}
		if in.DeviceName, err = auth.CleanDisplayName(b.str("device_name", false)); err != nil {
			b.fail("device_name", err.Error())
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
		g, err := acc.Login(c.UserContext(), in)
		if err != nil {
			return err
		}
		return answer(c, jar, cookie, g)
	}
}

// handleRefresh rotates a refresh token (accounts.Service.Refresh). A garbled or forged token is
// rejected before Redis is touched. With a refresh_token in the body the answer carries the
// tokens (bearer transport); with no body, the refresh cookie is used and the answer sets
// cookies (cookie transport), after the Origin / Fetch-Metadata and CSRF checks. A reused
// token revokes its session, whose holds are then released.
func handleRefresh(acc *accounts.Service, jar cookieJar, holds sessionHolds) fiber.Handler {
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
		rt, err := acc.RefreshTokens.Parse(raw)
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
		g, err := acc.Refresh(c.UserContext(), rt, requestID(c)+auth.NewID())
		if errors.Is(err, session.ErrRefreshReused) {
			holds.ended(c, rt.UserID, rt.SessionID)
		}
		if err != nil {
			return err
		}
		return answer(c, jar, cookie, g)
	}
}

// handleChangePassword changes the caller's password (accounts.Service.ChangePassword) and
// answers with the moved session's tokens, in the transport the request came with. The
// caller's holds move with its session; those of the user's other sessions, which the change
// ended, are released.
func handleChangePassword(acc *accounts.Service, jar cookieJar, holds sessionHolds) fiber.Handler {
	return func(c *fiber.Ctx) error {
		b, err := readBody(c, "current_password", "new_password")
		if err != nil {
			return err
		}
		cl := claims(c)
		in := accounts.PasswordInput{UserID: cl.UserID, SessionID: cl.SessionID, IP: clientIP(c),
			Current: b.str("current_password", true), New: b.str("new_password", true)}
		if err := b.err(); err != nil {
			return err
		}
		g, err := acc.ChangePassword(c.UserContext(), in)
		if err != nil {
			return err
		}
		holds.moved(c, cl.SessionID, g.Session.ID)
		holds.ended(c, cl.UserID)
		return answer(c, jar, viaCookie(c), g)
	}
}

// handleLogout revokes the current session and releases its holds: 204. A cookie session also
// gets its cookies cleared (and Clear-Site-Data).
func handleLogout(sessions *session.Store, jar cookieJar, holds sessionHolds) fiber.Handler {
	return func(c *fiber.Ctx) error {
		cl := claims(c)
		if err := sessions.Revoke(c.UserContext(), cl.UserID, cl.SessionID, cl.SessionID, session.ReasonLogout); err != nil {
			return err
		}
		holds.ended(c, "", cl.SessionID)
		if viaCookie(c) {
			jar.clear(c)
		}
		return c.SendStatus(fiber.StatusNoContent)
	}
}

// handleLogoutAll revokes every session of the current user, this one included, in one atomic
// step, and releases their holds: 204. Repeating it after it went through (a lost answer)
// answers 204 again.
func handleLogoutAll(sessions *session.Store, jar cookieJar, holds sessionHolds) fiber.Handler {
	return func(c *fiber.Ctx) error {
		cl := claims(c)
		if _, err := sessions.RevokeAll(c.UserContext(), cl.UserID, cl.SessionID, session.ReasonLogoutAll); err != nil {
			return err
		}
		holds.ended(c, cl.UserID, cl.SessionID)
		if viaCookie(c) {
			jar.clear(c)
		}
		return c.SendStatus(fiber.StatusNoContent)
	}
}
