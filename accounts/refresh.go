package accounts

import (
	"context"
	"fmt"

	"boxoffice/auth"
	"boxoffice/session"
)

// Refresh exchanges a parsed refresh token for new tokens. The current token is rotated to its
// derived successor; a token rotated away within the grace window (a retry, a parallel tab, a
// request that was in flight during several rotations) gets the current token again and a new
// access token, without rotating; any other rotated token revokes the session as stolen
// (session.ErrRefreshReused). requestID must be unique per HTTP request: it makes a script
// that go-redis runs twice idempotent. A reuse is recorded by the session store (with the
// revocation it causes, also when the replicas lag and this returns ErrUnavailable). It returns
// session.ErrRefreshReused, *session.RotationBusyError, session.ErrRevoked, session.ErrExpired or
// session.ErrUnavailable.
func (s *Service) Refresh(ctx context.Context, rt auth.RefreshToken, requestID string) (Grant, error) {
	next := s.RefreshTokens.Next(rt)
	access, exp, err := s.Tokens.Issue(rt.UserID, rt.SessionID)
	if err != nil {
		return Grant{}, err
	}
	r, err := s.Sessions.Rotate(ctx, session.Rotation{
		UserID: rt.UserID, SessionID: rt.SessionID,
		PresentedHash: rt.Hash(), SuccessorHash: next.Hash(),
		RequestID: requestID, AccessExpiresAt: exp,
	})
	if err != nil {
		return Grant{}, err
	}
	cur := next
	if r.Steps > 0 {
		cur = s.RefreshTokens.Successor(rt, r.Steps)
		if cur.Hash() != r.CurrentHash {
			return Grant{}, fmt.Errorf("accounts: refresh chain of session %s does not reach its current token", rt.SessionID)
		}
	}
	return Grant{AccessToken: access, AccessExpiresAt: exp, RefreshToken: s.RefreshTokens.Encode(cur), Session: r.Session}, nil
}
