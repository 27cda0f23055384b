package api

import (
	"log/slog"

	"github.com/gofiber/fiber/v2"

	"boxoffice/session"
	"boxoffice/tickets"
)

// requireSession lets the request through only when the caller's session is live (one Redis
// round trip, which also records the activity), and exposes the session's deadlines. Routes
// whose handler does not consult the session store itself need it: a valid signature alone
// is not enough.
func requireSession(sessions *session.Store) fiber.Handler {
	return func(c *fiber.Ctx) error {
		cl := claims(c)
		s, err := sessions.Get(c.UserContext(), cl.UserID, cl.SessionID)
		if err != nil {
			return err
		}
		setSessionHeaders(c, s)
		return c.Next()
	}
}

// owner is who makes and owns holds: the caller's user and session.
func owner(c *fiber.Ctx) tickets.Owner {
	cl := claims(c)
	return tickets.Owner{UserID: cl.UserID, SessionID: cl.SessionID}
}

// handleCreateHold holds seats of a screening for the caller's session, replacing the
// caller's previous hold on it: 201 with the hold and its Location. The body names the seats
// ("seat_ids") or asks for the best "count" seats, optionally of one "category" and only
// wheelchair spaces ("accessible"); tickets.Service.Hold has the rules and their errors.
func handleCreateHold(t *tickets.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := pathID(c, "id", screeningID)
		if err != nil {
			return err
		}
		b, err := readBody(c, "seat_ids", "count", "category", "accessible")
		if err != nil {
			return err
		}
		sel := tickets.Selection{SeatIDs: b.strs("seat_ids", false), Count: int(b.integer("count", false)),
			Category: b.str("category", false), Accessible: b.boolean("accessible")}
		if b.present("category") && !slugID.MatchString(sel.Category) {
			b.fail("category", "must be a seat category: 1-64 lowercase letters, digits or '-'")
		}
		if b.present("count") && sel.Count < 1 {
			b.fail("count", "must be at least 1")
		}
		if err := b.err(); err != nil {
			return err
		}
		h, err := t.Hold(c.UserContext(), owner(c), id, sel)
		if err != nil {
			return err
		}
		c.Location("/v1/holds/" + h.ID)
		c.Status(fiber.StatusCreated)
		return writeJSON(c, fiber.MIMEApplicationJSON, viewHold(h))
	}
}

// handleGetHold returns one of the caller's holds, with its status as of now; another user's
// hold is 404.
func handleGetHold(t *tickets.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := pathID(c, "id", holdID)
		if err != nil {
			return err
		}
		h, err := t.GetHold(c.UserContext(), owner(c), id)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.MIMEApplicationJSON, viewHold(h))
	}
}

// handleDeleteHold releases one of the caller's holds and frees its seats: 204, also for a
// hold that has already ended; another user's hold is 404.
func handleDeleteHold(t *tickets.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := pathID(c, "id", holdID)
		if err != nil {
			return err
		}
		if err := t.ReleaseHold(c.UserContext(), owner(c), id); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	}
}

// sessionHolds keeps holds with the sessions that made them: the session handlers call it
// after a session ended or moved. The session change has happened by then, so this is best
// effort: a failure is logged and changes no answer, and the hold janitor (tickets.Janitor)
// releases what is left within seconds.
type sessionHolds struct {
	tickets *tickets.Service
	log     *slog.Logger
}

// ended releases the holds of the sessions named and, with userID, of the user's sessions
// that are no longer live (tickets.Service.SessionsEnded).
func (h sessionHolds) ended(c *fiber.Ctx, userID string, sessionIDs ...string) {
	if err := h.tickets.SessionsEnded(c.UserContext(), userID, sessionIDs...); err != nil {
		h.log.Warn("releasing the holds of ended sessions failed; the hold janitor retries",
			"request_id", requestID(c), "user_id", userID, "sessions", sessionIDs, "err", err)
	}
}

// moved gives the holds of session from to session to (a password change moves its caller
// to a new session id).
func (h sessionHolds) moved(c *fiber.Ctx, from, to string) {
	if from == to {
		return
	}
	if err := h.tickets.MoveSession(c.UserContext(), from, to); err != nil {
		h.log.Warn("moving holds to the new session failed; the old session's holds will be released",
			"request_id", requestID(c), "from", from, "to", to, "err", err)
	}
}
