package accounts

import (
	"context"
	"errors"

	"boxoffice/auth"
	"boxoffice/session"
)

// PasswordInput asks to change the signed-in user's password.
type PasswordInput struct {
	UserID, SessionID string // the caller's verified access token
	Current, New      string
	IP                string
}

// ChangePassword replaces the caller's password. It checks New (FieldErrors), verifies Current
// (throttled like a sign-in from this network, and per session; a wrong one is FieldErrors
// {"current_password"}), and then in one atomic step stores the new hash, moves the caller's
// session to a new id with fresh tokens (returned) and revokes every other session of the user
// — including any that a sign-in racing this change creates afterwards with the old password.
//
// A client that lost the answer (a timeout, a 503 while a replica acknowledged) may send the
// same request again with its old access token: when its session was moved by this change and
// New is now the password, it gets the new session's tokens again (as long as they have not
// been used; such a repeat records nothing). The change, or its refusal for a wrong current
// password, is recorded (Audit: see recordPasswordChange). It returns FieldErrors,
// *ThrottledError, ErrPasswordChanged, session.ErrRevoked, session.ErrExpired,
// session.ErrUnavailable or auth.ErrHashBusy.
func (s *Service) ChangePassword(ctx context.Context, in PasswordInput) (Grant, error) {
	g, resumed, err := s.changePassword(ctx, in)
	if !resumed {
		s.recordPasswordChange(ctx, in, g, err)
	}
	return g, err
}

// changePassword is ChangePassword without its audit event; resumed tells a repeated change
// (see resume) from a new one.
func (s *Service) changePassword(ctx context.Context, in PasswordInput) (Grant, bool, error) {
	if err := checkNewPassword(in.Current, in.New); err != nil {
		return Grant{}, false, err
	}
	_, u, err := s.Sessions.GetWithUser(ctx, in.UserID, in.SessionID)
	switch {
	case errors.Is(err, auth.ErrUserNotFound):
		return Grant{}, false, session.ErrExpired // the account is gone, so is the session
	case errors.Is(err, session.ErrRevoked):
		g, err := s.resume(ctx, in, err)
		return g, true, err
	case err != nil:
		return Grant{}, false, err
	}
	if pc, _ := auth.CanonicalUsername(in.New); pc == u.Username {
		return Grant{}, false, FieldErrors{"new_password": "must not be the username"}
	}
	if err := s.verify(ctx, u, in, in.Current); err != nil {
		if errors.Is(err, auth.ErrPasswordMismatch) {
			return Grant{}, false, FieldErrors{"current_password": msgIncorrect}
		}
		return Grant{}, false, err
	}
	hash, err := s.Passwords.Hash(ctx, in.New)
	if err != nil {
		return Grant{}, false, err
	}
	nsid := auth.NewID()
	rt, err := s.RefreshTokens.Reissued(u.ID, in.SessionID, nsid, hash)
	if err != nil {
		return Grant{}, false, err
	}
	access, exp, err := s.Tokens.Issue(u.ID, nsid)
	if err != nil {
		return Grant{}, false, err
	}
	sess, _, err := s.Sessions.ChangePassword(ctx, session.PasswordChange{
		UserID: u.ID, SessionID: in.SessionID, OldHash: u.PasswordHash, NewHash: hash,
		NewSessionID: nsid, RefreshHash: rt.Hash(), AccessExpiresAt: exp,
	})
	if errors.Is(err, session.ErrCredentialChanged) {
		return Grant{}, false, ErrPasswordChanged
	}
	if err != nil {
		return Grant{}, false, err
	}
	return Grant{AccessToken: access, AccessExpiresAt: exp, RefreshToken: s.RefreshTokens.Encode(rt), Session: sess}, false, nil
}

// resume answers a repeated password change whose session a completed change already moved:
// the caller proves it made that change by presenting the password now stored as New. Anything
// else gets revoked, the error the session check gave.
func (s *Service) resume(ctx context.Context, in PasswordInput, revoked error) (Grant, error) {
	nsid, err := s.Sessions.Resumable(ctx, in.UserID, in.SessionID)
	if err != nil {
		return Grant{}, err
	}
	if nsid == "" {
		return Grant{}, revoked
	}
	u, err := s.Users.UserByID(ctx, in.UserID)
	if errors.Is(err, auth.ErrUserNotFound) {
		return Grant{}, revoked
	}
	if err != nil {
		return Grant{}, err
	}
	if err := s.verify(ctx, u, in, in.New); err != nil {
		if errors.Is(err, auth.ErrPasswordMismatch) {
			return Grant{}, revoked
		}
		return Grant{}, err
	}
	rt, err := s.RefreshTokens.Reissued(u.ID, in.SessionID, nsid, u.PasswordHash)
	if err != nil {
		return Grant{}, err
	}
	access, exp, err := s.Tokens.Issue(u.ID, nsid)
	if err != nil {
		return Grant{}, err
	}
	sess, err := s.Sessions.Resume(ctx, u.ID, nsid, rt.Hash(), exp)
	if err != nil {
		return Grant{}, err
	}
	return Grant{AccessToken: access, AccessExpiresAt: exp, RefreshToken: s.RefreshTokens.Encode(rt), Session: sess}, nil
}

// verify checks pw against the user's hash under the password-change throttle: this network,
// this account on this network, and this session. A wrong password keeps its attempts counted
// and returns auth.ErrPasswordMismatch.
func (s *Service) verify(ctx context.Context, u auth.User, in PasswordInput, pw string) error {
	l := s.limits()
	network := Network(in.IP)
	taken, err := s.reserve(ctx,
		bucket{kindIP, network, l.PerIP},
		bucket{kindAccountIP, u.Username + "\x00" + network, l.PerAccount},
		bucket{kindSession, u.ID + "\x00" + in.SessionID, l.PerAccount})
	if err != nil {
		return err
	}
	_, err = s.Passwords.Verify(ctx, u.PasswordHash, pw)
	if errors.Is(err, auth.ErrPasswordMismatch) {
		return err
	}
	if err != nil {
		s.release(ctx, taken, false)
		return err
	}
	return s.release(ctx, taken, true)
}

// checkNewPassword validates a new password against the rules and the current one.
func checkNewPassword(current, next string) error {
	fe := FieldErrors{}
	if current == "" {
		fe["current_password"] = "is required"
	}
	switch {
	case next == "":
		fe["new_password"] = "is required"
	case auth.CheckPassword(next) != nil:
		fe["new_password"] = auth.CheckPassword(next).Error()
	case next == current:
		fe["new_password"] = "must differ from the current password"
	}
	if len(fe) > 0 {
		return fe
	}
	return nil
}
