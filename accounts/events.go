package accounts

import (
	"context"
	"errors"

	"boxoffice/audit"
)

// limitReasons name the throttle windows in the audit vocabulary (audit.LoginLock).
var limitReasons = map[string]string{
	kindIP:        "network",
	kindAccountIP: "account",
	kindAccount:   "account_global",
	kindDevice:    "device",
}

// record hands an event to Service.Audit, if any.
func (s *Service) record(ctx context.Context, e audit.Event) {
	if s.Audit != nil {
		s.Audit.Record(ctx, e)
	}
}

// loginTrace is what a sign-in learned that its audit event needs.
type loginTrace struct {
	userID string // the account, once looked up and found
	canon  string // the canonical username, "" when the name is not one
	stale  bool   // the password was right, but a password change replaced it meanwhile
}

// recordLogin records the outcome of a sign-in: authn_login_success, authn_login_fail (a
// wrong password, an unknown user, a password changed meanwhile) or authn_login_lock (a spent
// throttle window; Repeat unless it is the window's first refusal, so that the stores keep one
// per window and subject). Failures of the service itself (Redis, hashing capacity) are not the
// credentials' outcome and record nothing. The attempted username is never recorded: it may
// be a password typed in the wrong field; an unknown user leaves UserID empty.
func (s *Service) recordLogin(ctx context.Context, in LoginInput, t loginTrace, g Grant, err error) {
	e := audit.Event{Type: audit.LoginSuccess, UserID: t.userID, IP: in.IP, UserAgent: in.UserAgent}
	var te *ThrottledError
	switch {
	case err == nil:
		e.UserID, e.SessionID = g.Session.UserID, g.Session.ID
	case errors.As(err, &te):
		e.Type, e.Outcome, e.Reason = audit.LoginLock, audit.Failure, limitReasons[te.limit]
		e.Repeat = te.repeat // the window's first refusal is kept; the others are only logged and counted
		if te.limit == kindIP {
			e.UserID = "" // about the network, not the account
		} else if e.UserID == "" && t.canon != "" {
			if u, err := s.Users.UserByUsername(ctx, t.canon); err == nil {
				e.UserID = u.ID
			}
		}
	case errors.Is(err, ErrInvalidCredentials) && t.userID == "":
		e.Type, e.Outcome, e.Reason = audit.LoginFail, audit.Failure, "unknown_user"
	case errors.Is(err, ErrInvalidCredentials) && t.stale:
		e.Type, e.Outcome, e.Reason = audit.LoginFail, audit.Failure, "password_changed"
	case errors.Is(err, ErrInvalidCredentials):
		e.Type, e.Outcome, e.Reason = audit.LoginFail, audit.Failure, "bad_password"
	default:
		return
	}
	s.record(ctx, e)
}

// msgIncorrect is the FieldErrors message of a wrong current password.
const msgIncorrect = "is incorrect"

// recordPasswordChange records a password change (authn_password_change): its success, or a
// failure for a wrong current password or a concurrent change. Other refusals (invalid new
// password, throttle, a session gone) and the service's own failures record nothing; the
// sessions the change revoked are recorded by the session store.
func (s *Service) recordPasswordChange(ctx context.Context, in PasswordInput, g Grant, err error) {
	e := audit.Event{Type: audit.PasswordChange, UserID: in.UserID, SessionID: in.SessionID, IP: in.IP}
	var fe FieldErrors
	switch {
	case err == nil:
		e.SessionID, e.Target = g.Session.ID, in.SessionID
	case errors.As(err, &fe) && fe["current_password"] == msgIncorrect:
		e.Outcome, e.Reason = audit.Failure, "bad_password"
	case errors.Is(err, ErrPasswordChanged):
		e.Outcome, e.Reason = audit.Failure, "password_changed"
	default:
		return
	}
	s.record(ctx, e)
}
