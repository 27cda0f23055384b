package api

import (
	"errors"
	"log/slog"

	"github.com/gofiber/fiber/v2"

	"boxoffice/auth"
	"boxoffice/session"
)

// errPasswordChanged reports a password changed concurrently by another request (409).
var errPasswordChanged = errors.New("password changed concurrently")

// handleChangePassword checks the current password (throttled like a login), stores the new
// one, moves the current session to a new id with fresh tokens and revokes every other session
// of the user. It answers with a token response in the transport the request came with.
func handleChangePassword(sessions *session.Store, users auth.UserStore, passwords *auth.Passwords,
	throttle *session.Throttle, limits LoginLimits, is issuer, jar cookieJar, log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		b, err := readBody(c, "current_password", "new_password")
		if err != nil {
			return err
		}
		current := b.str("current_password", true)
		next := b.str("new_password", true)
		if next != "" {
			if err := auth.CheckPassword(next); err != nil {
				b.fail("new_password", err.Error())
			} else if next == current {
				b.fail("new_password", "must differ from the current password")
			}
		}
		if err := b.err(); err != nil {
			return err
		}
		cl := claims(c)
		ctx := c.UserContext()
		_, u, err := sessions.GetWithUser(ctx, cl.UserID, cl.SessionID)
		if errors.Is(err, auth.ErrUserNotFound) {
			return session.ErrExpired
		}
		if err != nil {
			return err
		}
		if pc, _ := auth.CanonicalUsername(next); pc == u.Username {
			return &validationError{map[string]string{"new_password": "must not be the username"}}
		}
		ip := clientIP(c)
		if err := reserveLogin(ctx, throttle, limits, ip, u.Username); err != nil {
			return err
		}
		if _, err := passwords.Verify(ctx, u.PasswordHash, current); err != nil {
			if errors.Is(err, auth.ErrPasswordMismatch) {
				return &validationError{map[string]string{"current_password": "is incorrect"}}
			}
			releaseLogin(ctx, throttle, limits, ip, u.Username, false)
			return err
		}
		if err := releaseLogin(ctx, throttle, limits, ip, u.Username, true); err != nil {
			return err
		}
		hash, err := passwords.Hash(ctx, next)
		if err != nil {
			return err
		}
		ok, err := users.SetPasswordHash(ctx, u.ID, u.PasswordHash, hash)
		if err != nil {
			return err
		}
		if !ok {
			return errPasswordChanged
		}
		t, err := is.reissue(ctx, cl.UserID, cl.SessionID)
		if err != nil {
			return err
		}
		if _, err := sessions.RevokeAll(ctx, cl.UserID, "", session.ReasonPassword, t.session.ID); err != nil {
			log.Warn("password changed but other sessions not all revoked", "request_id", requestID(c), "err", err)
			return err
		}
		return is.answer(c, jar, viaCookie(c), t)
	}
}
