package accounts

import (
	"context"
	"errors"

	"boxoffice/auth"
	"boxoffice/session"
)

// LoginInput is a sign-in attempt.
type LoginInput struct {
	Username, Password string
	DeviceName         string // already cleaned (auth.CleanDisplayName)
	IP                 string // the client's address
	UserAgent          string // already cleaned (auth.CleanUserAgent)
	DeviceToken        string // from an earlier sign-in on this device; optional
}

// Login verifies the credentials and starts a session:
//
//  1. throttle: one attempt is reserved from the network's and the account-on-this-network
//     windows, then from the account-wide one. When the account-wide window is spent, the
//     attempt still goes on if it comes from a device (DeviceToken) or network this user signed
//     in from before — under that device's own window — so failures from elsewhere never lock
//     the owner out;
//  2. the user is looked up and the password verified (an unknown user costs the same: a dummy
//     hash is verified);
//  3. the session is created under the credential epoch read with the verified hash, so a
//     password change that lands in between makes this sign-in fail rather than leave it a
//     session the change did not revoke.
//
// Reserved attempts are given back after a success (the account's window for this network is
// cleared) and after failures that were not a wrong password. The outcome is recorded (Audit:
// see recordLogin). It returns ErrInvalidCredentials, *ThrottledError, session.ErrUnavailable
// or auth.ErrHashBusy.
func (s *Service) Login(ctx context.Context, in LoginInput) (Grant, error) {
	var t loginTrace
	g, err := s.login(ctx, in, &t)
	s.recordLogin(ctx, in, t, g, err)
	return g, err
}

// login is Login without its audit event, telling t what the event needs.
func (s *Service) login(ctx context.Context, in LoginInput, t *loginTrace) (Grant, error) {
	l := s.limits()
	canon, cerr := auth.CanonicalUsername(in.Username)
	account := canon
	if cerr != nil {
		account = "invalid:" + in.Username
	} else {
		t.canon = canon
	}
	network := Network(in.IP)
	taken, err := s.reserve(ctx,
		bucket{kindIP, network, l.PerIP},
		bucket{kindAccountIP, account + "\x00" + network, l.PerAccount})
	if err != nil {
		return Grant{}, err
	}
	var u auth.User
	looked := false
	lookup := func() error {
		if looked || cerr != nil {
			return nil
		}
		looked = true
		var err error
		if u, err = s.Users.UserByUsername(ctx, canon); errors.Is(err, auth.ErrUserNotFound) {
			err = nil
		}
		t.userID = u.ID
		return err
	}
	r, err := s.Throttle.Reserve(ctx, kindAccount, account, l.PerAccountGlobal, l.Window)
	switch {
	case err != nil:
	case r.OK:
		taken = append(taken, bucket{kindAccount, account, l.PerAccountGlobal})
	default:
		var own []bucket
		if err = lookup(); err == nil {
			own, err = s.known(ctx, u, in, network, r)
		}
		if err == nil {
			if own, err = s.reserve(ctx, own...); err == nil {
				taken = append(taken, own...)
			}
		}
	}
	if err == nil {
		err = lookup()
	}
	if err != nil {
		s.release(ctx, taken, false)
		return Grant{}, err
	}
	rehash, err := s.Passwords.Verify(ctx, u.PasswordHash, in.Password) // "" verifies a dummy
	if errors.Is(err, auth.ErrPasswordMismatch) {
		return Grant{}, ErrInvalidCredentials // the reserved attempts stay counted
	}
	if err != nil {
		s.release(ctx, taken, false)
		return Grant{}, err
	}
	if err := s.release(ctx, taken, true); err != nil {
		return Grant{}, err
	}
	if rehash {
		s.upgradeHash(ctx, u, in.Password)
	}
	g, err := s.start(ctx, u, in, network)
	if errors.Is(err, session.ErrStaleCredential) {
		t.stale = true
		return Grant{}, ErrInvalidCredentials
	}
	return g, err
}

// known decides whether an attempt refused by the spent account-wide window may go on: it must
// come from a device token issued to this user, or from a network the user created a session
// from, and it then draws from that device's own window (returned; a network's own window is the
// account-on-this-network one, already reserved). Otherwise it returns a *ThrottledError with
// the account window's refusal r.
func (s *Service) known(ctx context.Context, u auth.User, in LoginInput, network string, r session.Reservation) ([]bucket, error) {
	refused := &ThrottledError{RetryAfter: r.RetryAfter, limit: kindAccount, repeat: !r.First}
	if u.ID == "" {
		return nil, refused
	}
	if uid, ok := s.Devices.User(in.DeviceToken); ok && uid == u.ID {
		return []bucket{{kindDevice, in.DeviceToken, s.limits().PerAccount}}, nil
	}
	ok, err := s.Sessions.KnownNetwork(ctx, u.ID, network)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, refused
	}
	return nil, nil
}

// start creates the session and its first tokens.
func (s *Service) start(ctx context.Context, u auth.User, in LoginInput, network string) (Grant, error) {
	sid := auth.NewID()
	rt, err := s.RefreshTokens.New(u.ID, sid)
	if err != nil {
		return Grant{}, err
	}
	access, exp, err := s.Tokens.Issue(u.ID, sid)
	if err != nil {
		return Grant{}, err
	}
	sess, err := s.Sessions.Create(ctx, session.NewSession{
		ID: sid, UserID: u.ID, DeviceName: in.DeviceName, IP: in.IP, UserAgent: in.UserAgent,
		RefreshHash: rt.Hash(), AccessExpiresAt: exp, CredentialEpoch: u.CredentialEpoch, Network: network,
	})
	if err != nil {
		return Grant{}, err
	}
	device := in.DeviceToken
	if uid, ok := s.Devices.User(device); !ok || uid != u.ID {
		if device, err = s.Devices.Issue(u.ID); err != nil {
			return Grant{}, err
		}
	}
	return Grant{AccessToken: access, AccessExpiresAt: exp, RefreshToken: s.RefreshTokens.Encode(rt),
		Session: sess, DeviceToken: device}, nil
}

// upgradeHash re-hashes a password whose stored parameters are outdated. Failure is logged,
// not fatal: the next sign-in tries again. A concurrent password change wins (compare and set).
func (s *Service) upgradeHash(ctx context.Context, u auth.User, pw string) {
	h, err := s.Passwords.Hash(ctx, pw)
	if err == nil {
		_, err = s.Users.SetPasswordHash(ctx, u.ID, u.PasswordHash, h)
	}
	if err != nil {
		s.log().Warn("password rehash failed", "user_id", u.ID, "err", err)
	}
}
