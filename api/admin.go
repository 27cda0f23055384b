package api

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"boxoffice/audit"
	"boxoffice/auth"
	"boxoffice/session"
)

// requireAdmin lets the request through only when the caller's live session belongs to a user
// with the admin role (403 forbidden otherwise). Both are recorded: a refusal as authz_fail, a
// use as authz_admin once the operation ran (outcome failure when it answered an error), each
// with the operation (adminOperation) as reason and the :id it acted on as target. Events the
// operation records carry the administrator as their actor.
func requireAdmin(sessions *session.Store, rec audit.Recorder) fiber.Handler {
	return func(c *fiber.Ctx) error {
		cl := claims(c)
		ctx := c.UserContext()
		_, u, err := sessions.GetWithUser(ctx, cl.UserID, cl.SessionID)
		if errors.Is(err, auth.ErrUserNotFound) {
			return session.ErrExpired
		}
		if err != nil {
			return err
		}
		e := audit.Event{Type: audit.AuthzAdmin, UserID: u.ID, ActorID: u.ID, SessionID: cl.SessionID,
			Reason: adminOperation(c), Target: adminTarget(c)}
		if !u.HasRole(auth.RoleAdmin) {
			e.Type, e.ActorID, e.Outcome = audit.AuthzFail, "", audit.Failure
			rec.Record(ctx, e)
			return errForbidden
		}
		r := audit.RequestFrom(ctx)
		r.ActorID = u.ID
		c.SetUserContext(audit.WithRequest(ctx, r))
		err = c.Next()
		if err != nil || c.Response().StatusCode() >= 400 {
			e.Outcome = audit.Failure
		}
		rec.Record(ctx, e)
		return err
	}
}

// adminOperations name the administrative routes in audit events (their reason).
var adminOperations = map[string]string{
	"GET /v1/admin/users/:id/sessions":         "list_sessions",
	"DELETE /v1/admin/users/:id/sessions":      "revoke_sessions",
	"DELETE /v1/admin/users/:id/sessions/:sid": "revoke_session",
	"PUT /v1/admin/movies/:id":                 "put_movie",
	"PUT /v1/admin/cinemas/:id":                "put_cinema",
	"PUT /v1/admin/halls/:id":                  "put_hall",
	"POST /v1/admin/screenings":                "create_screening",
	"POST /v1/admin/screenings/:id/cancel":     "cancel_screening",
	"POST /v1/admin/screenings/:id/block":      "block_seats",
	"POST /v1/admin/screenings/:id/unblock":    "unblock_seats",
	"GET /v1/admin/screenings/:id/refunds":     "refund_report",
	"GET /v1/admin/audit":                      "audit_query",
}

// adminOperation names the administrative route of c ("other" for one not named above).
func adminOperation(c *fiber.Ctx) string {
	m := c.Method()
	if m == fiber.MethodHead {
		m = fiber.MethodGet
	}
	if op, ok := adminOperations[m+" "+c.Route().Path]; ok {
		return op
	}
	return "other"
}

// adminTarget is the :id path parameter an administrative operation acts on, when it looks
// like an id (at most 64 letters, digits, '-' and '_'), else "".
func adminTarget(c *fiber.Ctx) string {
	id := c.Params("id")
	if len(id) == 0 || len(id) > 64 {
		return ""
	}
	for i := 0; i < len(id); i++ {
		ch := id[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
			return ""
		}
	}
	return strings.Clone(id)
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
