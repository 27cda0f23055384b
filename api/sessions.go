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

// handleListSessions returns one page of the user's live sessions, newest first, without their
// data, the current one marked (and its deadlines in the Session-*-Expires-At headers when it
// is on the page). Query: limit (1 to 100, default 50) and cursor (the next_cursor of the
// previous page); 422 validation_failed when either is invalid. Two Redis round trips (see
// session.Store.List).
func handleListSessions(sessions *session.Store) fiber.Handler {
	return func(c *fiber.Ctx) error {
		page, err := listPage(c)
		if err != nil {
			return err
		}
		cl := claims(c)
		list, next, err := sessions.List(c.UserContext(), cl.UserID, cl.SessionID, page)
		if err != nil {
			return listError(err)
		}
		for _, s := range list {
			if s.ID == cl.SessionID {
				setSessionHeaders(c, s)
			}
		}
		return writeJSON(c, fiber.MIMEApplicationJSON, viewSessionPage(list, next, cl.SessionID))
	}
}

// listPage reads the limit and cursor query parameters of a session list. Each may be given at
// most once; limit must be an integer from 1 to session.MaxPageLimit (absent:
// session.DefaultPageLimit) and cursor a next_cursor the API returned. It returns a
// *validationError naming every invalid parameter.
func listPage(c *fiber.Ctx) (session.Page, error) {
	args := c.Context().QueryArgs()
	var page session.Page
	errs := map[string]string{}
	switch vals := args.PeekMulti("limit"); {
	case len(vals) > 1:
		errs["limit"] = "must be given once"
	case len(vals) == 1:
		text := string(vals[0])
		n, err := strconv.Atoi(text)
		if err != nil || strings.ContainsAny(text, "+-") || n < 1 || n > session.MaxPageLimit {
			errs["limit"] = "must be an integer from 1 to " + strconv.Itoa(session.MaxPageLimit)
		}
		page.Limit = n
	}
	switch vals := args.PeekMulti("cursor"); {
	case len(vals) > 1:
		errs["cursor"] = "must be given once"
	case len(vals) == 1:
		page.Cursor = string(vals[0]) // a copy: it outlives Fiber's buffers in errors and logs
		if !session.ValidCursor(page.Cursor) {
			errs["cursor"] = "must be the next_cursor of a previous page"
		}
	}
	if len(errs) > 0 {
		return session.Page{}, &validationError{errs}
	}
	return page, nil
}

// listError reports a cursor the store refused like one listPage refused.
func listError(err error) error {
	if errors.Is(err, session.ErrBadCursor) {
		return &validationError{map[string]string{"cursor": "must be the next_cursor of a previous page"}}
	}
	return err
}

// handleDeleteSession revokes one of the user's sessions and releases its holds: 204; 404 for
// an id that is not one of the user's sessions (another user's id included).
func handleDeleteSession(sessions *session.Store, holds sessionHolds) fiber.Handler {
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
		holds.ended(c, "", id)
		return c.SendStatus(fiber.StatusNoContent)
	}
}
