package api

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"boxoffice/auth"
	"boxoffice/session"
)

// userView is the public representation of an account.
type userView struct {
	ID          string    `json:"id"`
	Username    string    `json:"username"`
	DisplayName string    `json:"display_name"`
	CreatedAt   time.Time `json:"created_at"`
}

func viewUser(u auth.User) userView {
	return userView{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, CreatedAt: u.CreatedAt}
}

// sessionSummaryView is a session in a list: its metadata without its data (the data of up to
// 100 sessions would make lists large; GET /v1/session has the current session's).
type sessionSummaryView struct {
	ID                string    `json:"id"`
	UserID            string    `json:"user_id"`
	CreatedAt         time.Time `json:"created_at"`
	LastSeenAt        time.Time `json:"last_seen_at"`
	IdleExpiresAt     time.Time `json:"idle_expires_at"`
	AbsoluteExpiresAt time.Time `json:"absolute_expires_at"`
	DeviceName        string    `json:"device_name"`
	IP                string    `json:"ip"`
	UserAgent         string    `json:"user_agent"`
	Current           bool      `json:"current"`
}

func viewSessionSummary(s session.Session, currentID string) sessionSummaryView {
	return sessionSummaryView{
		ID: s.ID, UserID: s.UserID, CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt,
		IdleExpiresAt: s.IdleExpiresAt, AbsoluteExpiresAt: s.AbsoluteExpiresAt,
		DeviceName: s.DeviceName, IP: s.IP, UserAgent: s.UserAgent,
		Current: s.ID == currentID,
	}
}

// sessionView is the public representation of a session: its summary and its data.
type sessionView struct {
	sessionSummaryView
	Data map[string]json.RawMessage `json:"data"`
}

func viewSession(s session.Session, currentID string) sessionView {
	data := s.Data
	if data == nil {
		data = map[string]json.RawMessage{}
	}
	return sessionView{viewSessionSummary(s, currentID), data}
}

// sessionPageView answers the session lists: one page, newest first, and the cursor of the
// next page (null on the last page).
type sessionPageView struct {
	Items      []sessionSummaryView `json:"items"`
	NextCursor *string              `json:"next_cursor"`
}

func viewSessionPage(list []session.Session, next, currentID string) sessionPageView {
	v := sessionPageView{Items: make([]sessionSummaryView, 0, len(list))}
	for _, s := range list {
		v.Items = append(v.Items, viewSessionSummary(s, currentID))
	}
	if next != "" {
		v.NextCursor = &next
	}
	return v
}

// tokenResponse answers login and refresh.
type tokenResponse struct {
	Transport    string      `json:"transport"` // "bearer", the discriminator of SessionGrant
	AccessToken  string      `json:"access_token"`
	TokenType    string      `json:"token_type"`
	ExpiresIn    int64       `json:"expires_in"`
	RefreshToken string      `json:"refresh_token"`
	SessionID    string      `json:"session_id"`
	Session      sessionView `json:"session"`
	DeviceToken  string      `json:"device_token,omitempty"` // sign-in only
}

// cookieSessionResponse answers a cookie-transport login or refresh: the tokens are in
// HttpOnly cookies, never in the body.
type cookieSessionResponse struct {
	Transport   string      `json:"transport"`
	ExpiresIn   int64       `json:"expires_in"`
	SessionID   string      `json:"session_id"`
	Session     sessionView `json:"session"`
	CSRFToken   string      `json:"csrf_token"`
	DeviceToken string      `json:"device_token,omitempty"` // sign-in only
}

// etag is the strong entity tag of a session's data version.
func etag(s session.Session) string { return `"` + strconv.FormatInt(s.Version, 10) + `"` }

// sendSession writes a session with its ETag and deadline headers.
func sendSession(c *fiber.Ctx, status int, s session.Session, currentID string) error {
	setSessionHeaders(c, s)
	c.Set(fiber.HeaderETag, etag(s))
	c.Status(status)
	b, err := appendSessionJSON(make([]byte, 0, 512), s, currentID)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(b)
}

// headerTime is RFC 3339 with milliseconds, the precision of the body's fields.
const headerTime = "2006-01-02T15:04:05.000Z07:00"

// setSessionHeaders exposes the session's deadlines to clients on every authenticated answer.
func setSessionHeaders(c *fiber.Ctx, s session.Session) {
	c.Set("Session-Idle-Expires-At", s.IdleExpiresAt.UTC().Format(headerTime))
	c.Set("Session-Absolute-Expires-At", s.AbsoluteExpiresAt.UTC().Format(headerTime))
}
