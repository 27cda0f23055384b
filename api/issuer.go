package api

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"boxoffice/auth"
	"boxoffice/session"
)

// issuer starts and rotates sessions and builds the token responses for them.
type issuer struct {
	sessions *session.Store
	tokens   *auth.Tokens
	refresh  *auth.RefreshTokens
	now      func() time.Time
}

// client describes where a login comes from.
type client struct{ device, ip, userAgent string }

// issued is what a login or refresh hands to the client.
type issued struct {
	access    string
	accessExp time.Time
	refresh   string
	session   session.Session
}

// start creates a session for u and returns its first tokens.
func (is issuer) start(ctx context.Context, u auth.User, cl client) (issued, error) {
	sid := auth.NewID()
	rt, err := is.refresh.New(u.ID, sid)
	if err != nil {
		return issued{}, err
	}
	access, exp, err := is.tokens.Issue(u.ID, sid)
	if err != nil {
		return issued{}, err
	}
	sess, err := is.sessions.Create(ctx, session.NewSession{
		ID: sid, UserID: u.ID, DeviceName: cl.device, IP: cl.ip, UserAgent: cl.userAgent,
		RefreshHash: rt.Hash(), AccessExpiresAt: exp,
	})
	if err != nil {
		return issued{}, err
	}
	return issued{access, exp, is.refresh.Encode(rt), sess}, nil
}

// rotate exchanges a presented refresh token for its successor; requestID makes a retried
// Redis script idempotent.
func (is issuer) rotate(ctx context.Context, rt auth.RefreshToken, requestID string) (issued, error) {
	next := is.refresh.Next(rt)
	access, exp, err := is.tokens.Issue(rt.UserID, rt.SessionID)
	if err != nil {
		return issued{}, err
	}
	sess, _, err := is.sessions.Rotate(ctx, session.Rotation{
		UserID: rt.UserID, SessionID: rt.SessionID,
		PresentedHash: rt.Hash(), SuccessorHash: next.Hash(),
		RequestID: requestID, AccessExpiresAt: exp,
	})
	if err != nil {
		return issued{}, err
	}
	return issued{access, exp, is.refresh.Encode(next), sess}, nil
}

// reissue moves session sid of user uid to a new id with fresh tokens (password change).
func (is issuer) reissue(ctx context.Context, uid, sid string) (issued, error) {
	nsid := auth.NewID()
	rt, err := is.refresh.New(uid, nsid)
	if err != nil {
		return issued{}, err
	}
	access, exp, err := is.tokens.Issue(uid, nsid)
	if err != nil {
		return issued{}, err
	}
	sess, err := is.sessions.Reissue(ctx, session.Reissue{UserID: uid, OldSessionID: sid, NewSessionID: nsid,
		RefreshHash: rt.Hash(), AccessExpiresAt: exp, Reason: session.ReasonPassword})
	if err != nil {
		return issued{}, err
	}
	return issued{access, exp, is.refresh.Encode(rt), sess}, nil
}

// answer sends the tokens: in the JSON body (bearer transport), or only in HttpOnly cookies
// with a body that carries no token (cookie transport).
func (is issuer) answer(c *fiber.Ctx, jar cookieJar, cookie bool, t issued) error {
	expiresIn := max(int64(t.accessExp.Sub(is.now()).Round(time.Second)/time.Second), 0)
	if cookie {
		jar.set(c, t.access, t.refresh, t.session.ID, t.session.AbsoluteExpiresAt)
		return writeJSON(c, fiber.MIMEApplicationJSON, cookieSessionResponse{
			Transport: "cookie", ExpiresIn: expiresIn, SessionID: t.session.ID,
			Session: viewSession(t.session, t.session.ID), CSRFToken: jar.csrf.Token(t.session.ID),
		})
	}
	return writeJSON(c, fiber.MIMEApplicationJSON, tokenResponse{
		AccessToken: t.access, TokenType: "Bearer", ExpiresIn: expiresIn, RefreshToken: t.refresh,
		SessionID: t.session.ID, Session: viewSession(t.session, t.session.ID),
	})
}
