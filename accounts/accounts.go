// Package accounts signs users in, rotates their refresh tokens and changes their passwords:
// the flows that take a throttle, the user store, the password hasher and the session store
// together, in plain Go that tests drive without HTTP.
package accounts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"boxoffice/audit"
	"boxoffice/auth"
	"boxoffice/session"
)

// Sentinel errors. Besides these, the flows return session.ErrRevoked, session.ErrExpired,
// session.ErrUnavailable, auth.ErrRefreshInvalid, session.ErrRefreshReused,
// *session.RotationBusyError and auth.ErrHashBusy as documented on each method.
var (
	// ErrInvalidCredentials: unknown user or wrong password (deliberately the same), or a
	// password that a concurrent password change has just replaced.
	ErrInvalidCredentials = errors.New("accounts: invalid credentials")
	// ErrPasswordChanged: another request changed the password since this one verified it.
	ErrPasswordChanged = errors.New("accounts: password changed concurrently")
	// ErrInvalidInput is matched by FieldErrors.
	ErrInvalidInput = errors.New("accounts: invalid input")
	// ErrThrottled is matched by *ThrottledError.
	ErrThrottled = errors.New("accounts: too many attempts")
)

// ThrottledError refuses an attempt because a limit is spent; another is allowed after
// RetryAfter. It matches ErrThrottled.
type ThrottledError struct {
	RetryAfter time.Duration
	limit      string // the throttle kind whose window is spent
	repeat     bool   // not the window's first refusal (session.Reservation.First)
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many attempts; retry after %s", e.RetryAfter)
}

// Is makes errors.Is(err, ErrThrottled) true.
func (e *ThrottledError) Is(target error) bool { return target == ErrThrottled }

// FieldErrors reports invalid input, one message per field; the messages are safe to show.
type FieldErrors map[string]string

func (e FieldErrors) Error() string { return fmt.Sprintf("invalid fields: %v", map[string]string(e)) }

// Is makes errors.Is(err, ErrInvalidInput) true.
func (e FieldErrors) Is(target error) bool { return target == ErrInvalidInput }

// SessionStore is what the flows need of session.Store.
type SessionStore interface {
	Create(ctx context.Context, n session.NewSession) (session.Session, error)
	GetWithUser(ctx context.Context, uid, sid string) (session.Session, auth.User, error)
	Rotate(ctx context.Context, r session.Rotation) (session.Rotated, error)
	ChangePassword(ctx context.Context, c session.PasswordChange) (session.Session, int, error)
	Resumable(ctx context.Context, uid, sid string) (string, error)
	Resume(ctx context.Context, uid, sid, refreshHash string, accessExpiresAt time.Time) (session.Session, error)
	KnownNetwork(ctx context.Context, uid, network string) (bool, error)
}

// Throttle counts attempts per subject in fixed windows, atomically across instances
// (session.Throttle).
type Throttle interface {
	// Reserve takes one attempt; when the window is spent it refuses it, with the time until
	// the window ends and whether this is the window's first refusal.
	Reserve(ctx context.Context, kind, subject string, limit int, window time.Duration) (session.Reservation, error)
	// Release gives a reserved attempt back, or with reset clears the subject's window.
	Release(ctx context.Context, kind, subject string, reset bool) error
}

// Hasher hashes and verifies passwords (auth.Passwords).
type Hasher interface {
	Hash(ctx context.Context, pw string) (string, error)
	Verify(ctx context.Context, encoded, pw string) (needsRehash bool, err error)
}

// Limits bound failed sign-ins in fixed windows. Zero values take the defaults, per 15 minutes:
// 10 for one account from one network (an IPv4 address or an IPv6 /64), 100 for one account
// from all networks together, 50 for one network over all accounts. The account-wide limit is
// the one an attacker guessing from many networks spends; when it is spent, sign-ins from a
// device (device token) or network the user signed in from before still go through, each
// under its own limit of PerAccount, so the attacker cannot lock the owner out.
type Limits struct {
	PerAccount       int
	PerAccountGlobal int
	PerIP            int
	Window           time.Duration
}

// Defaults of Limits' zero fields.
const (
	DefaultPerAccount       = 10
	DefaultPerAccountGlobal = 100
	DefaultPerIP            = 50
	DefaultWindow           = 15 * time.Minute
)

func (l Limits) withDefaults() Limits {
	if l.PerAccount <= 0 {
		l.PerAccount = DefaultPerAccount
	}
	if l.PerAccountGlobal <= 0 {
		l.PerAccountGlobal = DefaultPerAccountGlobal
	}
	if l.PerIP <= 0 {
		l.PerIP = DefaultPerIP
	}
	if l.Window <= 0 {
		l.Window = DefaultWindow
	}
	return l
}

// Service runs the account flows. Every field but Log, Now and Audit is required.
type Service struct {
	Users         auth.UserStore
	Sessions      SessionStore
	Throttle      Throttle
	Passwords     Hasher
	Tokens        *auth.Tokens
	RefreshTokens *auth.RefreshTokens
	Devices       *auth.DeviceTokens
	Limits        Limits
	Log           *slog.Logger     // default: discard
	Now           func() time.Time // default time.Now
	// Audit records sign-ins, refused sign-ins and password changes (audit.LoginSuccess,
	// LoginFail, LoginLock, PasswordChange; refresh-token reuse is recorded by the session
	// store); nil records nothing.
	Audit audit.Recorder
}

// Grant is what a sign-in, refresh or password change hands to the client.
type Grant struct {
	AccessToken     string
	AccessExpiresAt time.Time
	RefreshToken    string
	Session         session.Session
	// DeviceToken (sign-in only) marks this device as known to the user at later sign-ins.
	DeviceToken string
}

func (s *Service) limits() Limits { return s.Limits.withDefaults() }

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}
