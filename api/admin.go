package api

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"boxoffice/auth"
	"boxoffice/session"
)

// requireAdmin lets the request through only when the caller's live session belongs to a user
// with the admin role (403 forbidden otherwise).
func requireAdmin(sessions *session.Store) fiber.Handler {
	return func(c *fiber.Ctx) error {
		cl := claims(c)
		_, u, err := sessions.GetWithUser(c.UserContext(), cl.UserID, cl.SessionID)
		if errors.Is(err, auth.ErrUserNotFound) {
			return session.ErrExpired
		}
		if err != nil {
			return err
		}
		if !u.HasRole(auth.RoleAdmin) {
			return errForbidden
		}
		return c.Next()
	}
}

// targetUser returns the :id path parameter when it names an existing user (404 otherwise).
func targetUser(c *fiber.Ctx, users auth.UserStore) (string, error) {
	id := strings.Clone(c.Params("id"))
	if !auth.ValidID(id) {
		return "", errNotFound
	}
	if _, err := users.UserByID(c.UserContext(), id); errors.Is(err, auth.ErrUserNotFound) {
		return "", errNotFound
	} else if err != nil {
		return "", err
	}
	return id, nil
}

// handleAdminListSessions lists one page of any user's live sessions, newest first, without
// their data, with the same limit and cursor parameters (and 422s) as handleListSessions.
// The parameters are checked after the caller's role and the target user (403, 404 first).
func handleAdminListSessions(sessions *session.Store, users auth.UserStore) fiber.Handler {
	return func(c *fiber.Ctx) error {
		uid, err := targetUser(c, users)
		if err != nil {
			return err
		}
		page, err := listPage(c)
		if err != nil {
			return err
		}
		list, next, err := sessions.List(c.UserContext(), uid, "", page)
		if err != nil {
			return listError(err)
		}
		return writeJSON(c, fiber.MIMEApplicationJSON, viewSessionPage(list, next, claims(c).SessionID))
	}
}

// handleAdminRevokeSessions revokes every session of any user and releases their holds: 204.
func handleAdminRevokeSessions(sessions *session.Store, users auth.UserStore, holds sessionHolds) fiber.Handler {
	return func(c *fiber.Ctx) error {
		uid, err := targetUser(c, users)
		if err != nil {
			return err
		}
		if _, err := sessions.RevokeAll(c.UserContext(), uid, "", session.ReasonAdmin); err != nil {
			return err
		}
		holds.ended(c, uid)
		return c.SendStatus(fiber.StatusNoContent)
	}
}

// handleAdminRevokeSession revokes one session of any user and releases its holds: 204, 404
// when it is not theirs.
func handleAdminRevokeSession(sessions *session.Store, users auth.UserStore, holds sessionHolds) fiber.Handler {
	return func(c *fiber.Ctx) error {
		uid, err := targetUser(c, users)
		if err != nil {
			return err
		}
		sid := strings.Clone(c.Params("sid"))
		if !auth.ValidID(sid) {
			return errNotFound
		}
		if err := sessions.Revoke(c.UserContext(), uid, "", sid, session.ReasonAdmin); err != nil {
			return err
		}
		holds.ended(c, "", sid)
		return c.SendStatus(fiber.StatusNoContent)
	}
}
