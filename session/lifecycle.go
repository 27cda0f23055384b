package session

import (
	"context"
	"errors"
	"strconv"
	"time"

	"boxoffice/auth"

	"github.com/redis/go-redis/v9"
)

// NewSession describes a session to create at login.
type NewSession struct {
	ID, UserID      string
	DeviceName      string
	IP, UserAgent   string
	RefreshHash     string    // auth.RefreshToken.Hash of the first refresh token
	AccessExpiresAt time.Time // expiry of the access token issued with it
}

// Create stores a new session whose idle deadline is now+IdleTTL and whose absolute deadline
// is now+AbsoluteTTL, and adds it to the user's index. It returns ErrUnavailable when Redis
// cannot be reached.
func (s *Store) Create(ctx context.Context, n NewSession) (Session, error) {
	now := s.nowMS()
	ae := now + s.cfg.AbsoluteTTL.Milliseconds()
	ie := min(now+s.cfg.IdleTTL.Milliseconds(), ae)
	args := []any{now, n.ID, ie, n.RefreshHash,
		"uid", n.UserID, "ct", now, "ls", now, "ie", ie, "ae", ae,
		"dn", n.DeviceName, "ip", n.IP, "ua", n.UserAgent, "v", 0,
		"rh", n.RefreshHash, "atx", ms(n.AccessExpiresAt)}
	r, err := s.run(ctx, "create", s.sc.create,
		[]string{s.keys.session(n.UserID, n.ID), s.keys.index(n.UserID)}, args...)
	if err != nil {
		return Session{}, err
	}
	if r.status != "ok" {
		return Session{}, errors.New("session: id collision on create")
	}
	return r.sessionAt(0, n.ID)
}

// Get authenticates session sid of user uid and returns it, sliding its idle deadline at most
// once per TouchInterval. One Redis round trip. It returns ErrRevoked, ErrExpired or
// ErrUnavailable.
func (s *Store) Get(ctx context.Context, uid, sid string) (Session, error) {
	r, err := s.get(ctx, uid, sid, false)
	if err != nil {
		return Session{}, err
	}
	return r.sessionAt(0, sid)
}

// GetWithUser is Get that also returns the session's user, in the same round trip. It returns
// auth.ErrUserNotFound when the account is gone, besides Get's errors.
func (s *Store) GetWithUser(ctx context.Context, uid, sid string) (Session, auth.User, error) {
	r, err := s.get(ctx, uid, sid, true)
	if err != nil {
		return Session{}, auth.User{}, err
	}
	sess, err := r.sessionAt(0, sid)
	if err != nil {
		return Session{}, auth.User{}, err
	}
	um, err := r.flat(1)
	if err != nil {
		return Session{}, auth.User{}, err
	}
	u, err := decodeUser(um)
	return sess, u, err
}

func (s *Store) get(ctx context.Context, uid, sid string, withUser bool) (reply, error) {
	flag := "0"
	if withUser {
		flag = "1"
	}
	r, err := s.run(ctx, "get", s.sc.get,
		[]string{s.keys.session(uid, sid), s.keys.revoked(uid, sid), s.keys.index(uid), s.keys.user(uid)},
		s.nowMS(), s.cfg.IdleTTL.Milliseconds(), s.cfg.TouchInterval.Milliseconds(), sid, flag)
	if err != nil {
		return reply{}, err
	}
	if r.status != "ok" {
		return reply{}, r.gone()
	}
	return r, nil
}

// Rotation asks to exchange a presented refresh token for its successor.
type Rotation struct {
	UserID, SessionID string
	PresentedHash     string // hash of the token the client presented
	SuccessorHash     string // hash of its deterministic successor
	RequestID         string // unique per HTTP request; makes a retried script idempotent
	AccessExpiresAt   time.Time
}

// Rotate makes SuccessorHash the session's current refresh token if PresentedHash is current.
// If PresentedHash was current just before and the successor is current, it succeeds again
// without rotating (a retry inside the grace window) and reports grace. Any other presented
// hash means a rotated token came back: the session is revoked and ErrRefreshReused returned.
// Also returns ErrRevoked, ErrExpired or ErrUnavailable.
func (s *Store) Rotate(ctx context.Context, r Rotation) (sess Session, grace bool, err error) {
	uid, sid := r.UserID, r.SessionID
	rep, err := s.run(ctx, "rotate", s.sc.rotate,
		[]string{s.keys.session(uid, sid), s.keys.revoked(uid, sid), s.keys.index(uid)},
		s.nowMS(), s.cfg.IdleTTL.Milliseconds(), sid, r.PresentedHash, r.SuccessorHash,
		r.RequestID, s.cfg.RefreshGrace.Milliseconds(), ms(r.AccessExpiresAt), s.cfg.RevocationPad.Milliseconds())
	if err != nil {
		return Session{}, false, err
	}
	switch rep.status {
	case "ok", "grace":
		sess, err = rep.sessionAt(0, sid)
		return sess, rep.status == "grace", err
	case "reused":
		return Session{}, false, ErrRefreshReused
	}
	return Session{}, false, rep.gone()
}

// run executes a script and parses its status reply, classifying Redis failures.
func (s *Store) run(ctx context.Context, op string, script *redis.Script, keys []string, args ...any) (reply, error) {
	v, err := script.Run(ctx, s.rdb, keys, args...).Result()
	if err != nil {
		return reply{}, classify(op, err)
	}
	return parseReply(v)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
