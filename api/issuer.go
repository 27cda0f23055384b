package api

import (
	"context"
	"time"

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

// start creates a session for u and returns its first tokens.
func (is issuer) start(ctx context.Context, u auth.User, cl client) (tokenResponse, error) {
	sid := auth.NewID()
	rt, err := is.refresh.New(u.ID, sid)
	if err != nil {
		return tokenResponse{}, err
	}
	access, exp, err := is.tokens.Issue(u.ID, sid)
	if err != nil {
		return tokenResponse{}, err
	}
	sess, err := is.sessions.Create(ctx, session.NewSession{
		ID: sid, UserID: u.ID, DeviceName: cl.device, IP: cl.ip, UserAgent: cl.userAgent,
		RefreshHash: rt.Hash(), AccessExpiresAt: exp,
	})
	if err != nil {
		return tokenResponse{}, err
	}
	return is.response(access, exp, is.refresh.Encode(rt), sess), nil
}

// rotate exchanges a presented refresh token for its successor; requestID makes a retried
// Redis script idempotent.
func (is issuer) rotate(ctx context.Context, rt auth.RefreshToken, requestID string) (tokenResponse, error) {
	next := is.refresh.Next(rt)
	access, exp, err := is.tokens.Issue(rt.UserID, rt.SessionID)
	if err != nil {
		return tokenResponse{}, err
	}
	sess, _, err := is.sessions.Rotate(ctx, session.Rotation{
		UserID: rt.UserID, SessionID: rt.SessionID,
		PresentedHash: rt.Hash(), SuccessorHash: next.Hash(),
		RequestID: requestID, AccessExpiresAt: exp,
	})
	if err != nil {
		return tokenResponse{}, err
	}
	return is.response(access, exp, is.refresh.Encode(next), sess), nil
}

func (is issuer) response(access string, exp time.Time, refresh string, s session.Session) tokenResponse {
	return tokenResponse{
		AccessToken:  access,
		TokenType:    "Bearer",
		ExpiresIn:    max(int64(exp.Sub(is.now()).Round(time.Second)/time.Second), 0),
		RefreshToken: refresh,
		SessionID:    s.ID,
		Session:      viewSession(s, s.ID),
	}
}
