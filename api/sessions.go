package api

import (
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"boxoffice/auth"
	"boxoffice/session"
)

// errBadIfMatch reports an If-Match header that is not a list of entity tags.
var errBadIfMatch = errors.New("malformed If-Match")

// handleGetSession returns the current session with its ETag: one Redis round trip.
func handleGetSession(sessions *session.Store) fiber.Handler {
	return func(c *fiber.Ctx) error {
		cl := claims(c)
		s, err := sessions.Get(c.UserContext(), cl.UserID, cl.SessionID)
		if err != nil {
			return err
		}
		return sendSession(c, fiber.StatusOK, s, cl.SessionID)
	}
}

// handlePatchSessionData applies a JSON Merge Patch (RFC 7396) to the session's data, honouring
// If-Match. 400 for malformed JSON, 422 for a non-object, 412 for a stale ETag, 413 past the
// limits.
func handlePatchSessionData(sessions *session.Store) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := requireJSON(c, "application/merge-patch+json", "application/json"); err != nil {
			return err
		}
		patch, err := parseObject(rawBody(c))
		if errors.Is(err, errNotObject) {
			return session.ErrInvalidData
		}
		if err != nil {
			return err
		}
		cl := claims(c)
		ctx := c.UserContext()
		tags, wildcard, err := parseIfMatch(c.Get(fiber.HeaderIfMatch))
		if err != nil {
			return err
		}
		var ifMatch *int64
		switch {
		case wildcard || tags == nil: // no precondition beyond the session existing
		case len(tags) == 1:
			ifMatch = &tags[0]
		default: // a list: find the current version in it, then patch against that version
			cur, err := sessions.Get(ctx, cl.UserID, cl.SessionID)
			if err != nil {
				return err
			}
			for i := range tags {
				if tags[i] == cur.Version {
					ifMatch = &tags[i]
				}
			}
			if ifMatch == nil {
				return session.ErrPrecondition
			}
		}
		s, err := sessions.PatchData(ctx, cl.UserID, cl.SessionID, patch, ifMatch)
		if err != nil {
			return err
		}
		return sendSession(c, fiber.StatusOK, s, cl.SessionID)
	}
}

// parseIfMatch parses an If-Match value: "" gives nil tags, "*" gives any, otherwise the
// versions of the strong tags listed. Weak tags can never match (RFC 9110 uses strong
// comparison for If-Match), so a list of only weak tags yields an empty, non-nil slice.
func parseIfMatch(h string) (tags []int64, wildcard bool, err error) {
	h = strings.TrimSpace(h)
	if h == "" {
		return nil, false, nil
	}
	if h == "*" {
		return nil, true, nil
	}
	tags = []int64{}
	for _, part := range strings.Split(h, ",") {
		part = strings.TrimSpace(part)
		weak := strings.HasPrefix(part, "W/")
		part = strings.TrimPrefix(part, "W/")
		if len(part) < 2 || part[0] != '"' || part[len(part)-1] != '"' || strings.ContainsAny(part[1:len(part)-1], "\" ") {
			return nil, false, errBadIfMatch
		}
		text := part[1 : len(part)-1]
		v, perr := strconv.ParseInt(text, 10, 64)
		if weak || perr != nil || v < 0 || strconv.FormatInt(v, 10) != text {
			continue // a valid tag that is not exactly one of ours ("+0", "00") never matches
		}
		tags = append(tags, v)
	}
	if len(tags) == 0 {
		tags = []int64{-1}
	}
	return tags, false, nil
}

// handleListSessions returns the user's live sessions, the current one marked.
func handleListSessions(sessions *session.Store) fiber.Handler {
	return func(c *fiber.Ctx) error {
		cl := claims(c)
		list, err := sessions.List(c.UserContext(), cl.UserID, cl.SessionID)
		if err != nil {
			return err
		}
		items := make([]sessionView, 0, len(list))
		for _, s := range list {
			if s.ID == cl.SessionID {
				setSessionHeaders(c, s)
			}
			items = append(items, viewSession(s, cl.SessionID))
		}
		return writeJSON(c, fiber.MIMEApplicationJSON, struct {
			Items []sessionView `json:"items"`
		}{items})
	}
}

// handleDeleteSession revokes one of the user's sessions: 204; 404 for an id that is not one
// of the user's sessions (another user's id included).
func handleDeleteSession(sessions *session.Store) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id := strings.Clone(c.Params("id"))
		if !auth.ValidID(id) {
			return errNotFound
		}
		cl := claims(c)
		reason := session.ReasonRevoked
		if id == cl.SessionID {
			reason = session.ReasonLogout
		}
		if err := sessions.Revoke(c.UserContext(), cl.UserID, cl.SessionID, id, reason); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	}
}
