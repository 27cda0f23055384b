package api

import (
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"

	"boxoffice/audit"
	"boxoffice/auth"
	"boxoffice/session"
)

// handleCreateUser registers an account: 201 with the user, 409 username_taken, 422 with a
// message per invalid field. The new account is recorded (audit.UserCreated).
func handleCreateUser(users auth.UserStore, passwords *auth.Passwords, now func() time.Time, rec audit.Recorder) fiber.Handler {
	return func(c *fiber.Ctx) error {
		b, err := readBody(c, "username", "password", "display_name")
		if err != nil {
			return err
		}
		username := b.str("username", true)
		password := b.str("password", true)
		display := b.str("display_name", false)
		canon, err := auth.CanonicalUsername(username)
		if err != nil && username != "" {
			b.fail("username", err.Error())
		}
		if err := auth.CheckPassword(password); err != nil && password != "" {
			b.fail("password", err.Error())
		} else if canon != "" && password != "" {
			if pc, _ := auth.CanonicalUsername(password); pc == canon {
				b.fail("password", "must not be the username")
			}
		}
		if display, err = auth.CleanDisplayName(display); err != nil {
			b.fail("display_name", err.Error())
		}
		if err := b.err(); err != nil {
			return err
		}
		if display == "" {
			display = canon
		}
		ctx := c.UserContext()
		// Cheap early answer for a taken name; CreateUser decides races atomically.
		if _, err := users.UserByUsername(ctx, canon); err == nil {
			return auth.ErrUsernameTaken
		} else if !errors.Is(err, auth.ErrUserNotFound) {
			return err
		}
		hash, err := passwords.Hash(ctx, password)
		if err != nil {
			return err
		}
		u := auth.User{
			ID: auth.NewID(), Username: canon, DisplayName: display, PasswordHash: hash,
			CreatedAt: now().UTC().Truncate(time.Millisecond),
		}
		if err := users.CreateUser(ctx, u); err != nil {
			return err
		}
		rec.Record(ctx, audit.Event{Type: audit.UserCreated, UserID: u.ID})
		c.Status(fiber.StatusCreated)
		return writeJSON(c, fiber.MIMEApplicationJSON, viewUser(u))
	}
}

// handleMe returns the signed-in user, checking the session and reading the account in one
// Redis round trip.
func handleMe(sessions *session.Store) fiber.Handler {
	return func(c *fiber.Ctx) error {
		cl := claims(c)
		sess, u, err := sessions.GetWithUser(c.UserContext(), cl.UserID, cl.SessionID)
		if errors.Is(err, auth.ErrUserNotFound) {
			return session.ErrExpired // the account is gone, so is the session
		}
		if err != nil {
			return err
		}
		setSessionHeaders(c, sess)
		return writeJSON(c, fiber.MIMEApplicationJSON, viewUser(u))
	}
}
