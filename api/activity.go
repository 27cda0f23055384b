package api

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"boxoffice/audit"
	"boxoffice/auth"
	"boxoffice/session"
)

// handleMyActivity returns one page of the caller's own security events (sign-ins, refused
// sign-ins, password changes, revocations, refresh-token reuse, orders), newest first, the
// events of the caller's current session marked. Query: limit (1 to 100, default 50) and
// cursor (the next_cursor of the previous page); 422 validation_failed when either is invalid.
// Two Redis round trips: the session check, then the user's event stream.
func handleMyActivity(sessions *session.Store, events audit.Reader) fiber.Handler {
	return func(c *fiber.Ctx) error {
		cl := claims(c)
		ctx := c.UserContext()
		if _, err := sessions.Get(ctx, cl.UserID, cl.SessionID); err != nil {
			return err
		}
		q, err := auditQuery(c, false)
		if err != nil {
			return err
		}
		p, err := events.UserEvents(ctx, cl.UserID, q.Page)
		if err != nil {
			return auditError(err)
		}
		v := activityPageView{Items: make([]activityView, 0, len(p.Events)), NextCursor: optionalCursor(p.Next)}
		for _, e := range p.Events {
			v.Items = append(v.Items, viewActivity(e, cl.SessionID))
		}
		return writeJSON(c, fiber.MIMEApplicationJSON, v)
	}
}

// handleAdminAudit returns one page of every user's kept events, newest first, filtered by
// user_id (that user's own stream) and/or type; limit and cursor as handleMyActivity. A page
// filtered by type reads a bounded number of events and may hold fewer than limit, even none,
// with a next_cursor to go on. Every invalid parameter gets 422 validation_failed. It runs
// after requireAdmin.
func handleAdminAudit(events audit.Reader) fiber.Handler {
	return func(c *fiber.Ctx) error {
		q, err := auditQuery(c, true)
		if err != nil {
			return err
		}
		p, err := events.Events(c.UserContext(), q)
		if err != nil {
			return auditError(err)
		}
		v := auditPageView{Items: make([]auditView, 0, len(p.Events)), NextCursor: optionalCursor(p.Next)}
		for _, e := range p.Events {
			v.Items = append(v.Items, viewAudit(e))
		}
		return writeJSON(c, fiber.MIMEApplicationJSON, v)
	}
}

// auditQuery reads limit and cursor, and with filters user_id and type, each at most once. It
// returns a *validationError naming every invalid parameter.
func auditQuery(c *fiber.Ctx, filters bool) (audit.Query, error) {
	args := c.Context().QueryArgs()
	var q audit.Query
	errs := map[string]string{}
	one := func(name string) (string, bool) {
		vals := args.PeekMulti(name)
		if len(vals) > 1 {
			errs[name] = "must be given once"
			return "", false
		}
		if len(vals) == 0 {
			return "", false
		}
		return string(vals[0]), true // a copy: it outlives Fiber's buffers
	}
	if text, ok := one("limit"); ok {
		n, err := strconv.Atoi(text)
		if err != nil || strings.ContainsAny(text, "+-") || n < 1 || n > audit.MaxPageLimit {
			errs["limit"] = "must be an integer from 1 to " + strconv.Itoa(audit.MaxPageLimit)
		}
		q.Limit = n
	}
	if text, ok := one("cursor"); ok {
		q.Cursor = text
		if !audit.ValidCursor(text) {
			errs["cursor"] = "must be the next_cursor of a previous page"
		}
	}
	if filters {
		if text, ok := one("user_id"); ok {
			q.UserID = text
			if !auth.ValidID(text) {
				errs["user_id"] = "must be a user id"
			}
		}
		if text, ok := one("type"); ok {
			q.Type = audit.Type(text)
			if !q.Type.Known() {
				errs["type"] = "must be an event type"
			}
		}
	}
	if len(errs) > 0 {
		return audit.Query{}, &validationError{errs}
	}
	return q, nil
}

// auditError reports a cursor the store refused like one auditQuery refused.
func auditError(err error) error {
	if errors.Is(err, audit.ErrBadCursor) {
		return &validationError{map[string]string{"cursor": "must be the next_cursor of a previous page"}}
	}
	return err
}

func optionalCursor(next string) *string {
	if next == "" {
		return nil
	}
	return &next
}

// activityView is one of the caller's events: what happened, when, from where; never who
// else acted (an administrator) nor internal ids. The IP and user agent are shown only for
// what the user did: an event another person caused (ActorID set: an administrator revoking
// a session, cancelling a screening) carries that person's, which the user must not see.
type activityView struct {
	ID             string    `json:"id"`
	Type           string    `json:"type"`
	At             time.Time `json:"at"`
	Outcome        string    `json:"outcome"`
	Reason         string    `json:"reason,omitempty"`
	IP             string    `json:"ip,omitempty"`
	UserAgent      string    `json:"user_agent,omitempty"`
	SessionID      string    `json:"session_id,omitempty"`
	CurrentSession bool      `json:"current_session"`
	Target         string    `json:"target,omitempty"`
}

func viewActivity(e audit.Event, currentSID string) activityView {
	v := activityView{ID: e.ID, Type: string(e.Type), At: e.At.UTC().Truncate(time.Millisecond),
		Outcome: string(e.Outcome), Reason: e.Reason, IP: e.IP, UserAgent: e.UserAgent, SessionID: e.SessionID,
		CurrentSession: e.SessionID != "" && e.SessionID == currentSID, Target: e.Target}
	if e.ActorID != "" && e.ActorID != e.UserID {
		v.IP, v.UserAgent = "", ""
	}
	return v
}

type activityPageView struct {
	Items      []activityView `json:"items"`
	NextCursor *string        `json:"next_cursor"`
}

// auditView is an event as administrators see it: every field.
type auditView struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	At        time.Time `json:"at"`
	Outcome   string    `json:"outcome"`
	Reason    string    `json:"reason,omitempty"`
	UserID    string    `json:"user_id,omitempty"`
	SessionID string    `json:"session_id,omitempty"`
	ActorID   string    `json:"actor_id,omitempty"`
	Target    string    `json:"target,omitempty"`
	IP        string    `json:"ip,omitempty"`
	UserAgent string    `json:"user_agent,omitempty"`
	RequestID string    `json:"request_id,omitempty"`
	TraceID   string    `json:"trace_id,omitempty"`
}

func viewAudit(e audit.Event) auditView {
	return auditView{ID: e.ID, Type: string(e.Type), At: e.At.UTC().Truncate(time.Millisecond),
		Outcome: string(e.Outcome), Reason: e.Reason, UserID: e.UserID, SessionID: e.SessionID,
		ActorID: e.ActorID, Target: e.Target, IP: e.IP, UserAgent: e.UserAgent, RequestID: e.RequestID,
		TraceID: e.TraceID}
}

type auditPageView struct {
	Items      []auditView `json:"items"`
	NextCursor *string     `json:"next_cursor"`
}

// noActivity is the audit.Reader of a server without one: every read is unavailable.
type noActivity struct{}

func (noActivity) UserEvents(context.Context, string, audit.Page) (audit.EventPage, error) {
	return audit.EventPage{}, audit.ErrUnavailable
}

func (noActivity) Events(context.Context, audit.Query) (audit.EventPage, error) {
	return audit.EventPage{}, audit.ErrUnavailable
}
