package session

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"boxoffice/auth"
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
// cannot be reached, and ErrRevoked when a retried create finds the session revoked meanwhile.
func (s *Store) Create(ctx context.Context, n NewSession) (Session, error) {
	now := s.nowMS()
	ae := now + s.cfg.AbsoluteTTL.Milliseconds()
	ie := min(now+s.cfg.IdleTTL.Milliseconds(), ae)
	args := []any{now, n.ID, ie, n.RefreshHash,
		"uid", n.UserID, "ct", now, "ls", now, "ie", ie, "ae", ae,
		"dn", n.DeviceName, "ip", n.IP, "ua", n.UserAgent, "v", 0,
		"rh", n.RefreshHash, "atx", ms(n.AccessExpiresAt)}
	r, err := s.run(ctx, "create", s.sc.create,
		[]string{s.keys.session(n.UserID, n.ID), s.keys.index(n.UserID), s.keys.revoked(n.UserID, n.ID)}, args...)
	if err != nil {
		return Session{}, err
	}
	switch r.status {
	case "ok":
	case "exists":
		return Session{}, errors.New("session: id collision on create")
	default:
		return Session{}, r.gone()
	}
	return r.sessionAt(0, n.ID)
}

// Get authenticates session sid of user uid and returns it: the session must exist and be
// within both deadlines. It costs one Redis round trip (HGETALL); telling a revoked session
// from an expired one costs a second. When the last recorded activity is older than TouchInterval, the idle
// deadline is slid in the background (see touch) and the returned session already shows the
// slid values. It returns ErrRevoked, ErrExpired or ErrUnavailable.
func (s *Store) Get(ctx context.Context, uid, sid string) (Session, error) {
	sess, _, err := s.read(ctx, uid, sid, false)
	return sess, err
}

// GetWithUser is Get that also returns the session's user, in the same round trip (the account
// shares the session's hash tag). It returns auth.ErrUserNotFound when the account is gone,
// besides Get's errors.
func (s *Store) GetWithUser(ctx context.Context, uid, sid string) (Session, auth.User, error) {
	sess, um, err := s.read(ctx, uid, sid, true)
	if err != nil {
		return Session{}, auth.User{}, err
	}
	u, err := decodeUser(um)
	return sess, u, err
}

// read is the hot path. Reads need no atomicity, so they are a plain HGETALL (pipelined with
// the account's when asked) rather than a Lua script, which measured about 40µs cheaper per
// request; every write still goes through a script that re-checks the session, so no read can
// lead to resurrecting one. Only when the session is missing is the revocation marker read, in
// a second round trip, to tell revoked from expired.
func (s *Store) read(ctx context.Context, uid, sid string, withUser bool) (Session, map[string]string, error) {
	var m, um map[string]string
	var err error
	if withUser {
		var hs, user *redis.MapStringStringCmd
		_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			hs = p.HGetAll(ctx, s.keys.session(uid, sid))
			user = p.HGetAll(ctx, s.keys.user(uid))
			return nil
		})
		m, um = hs.Val(), user.Val()
	} else {
		m, err = s.rdb.HGetAll(ctx, s.keys.session(uid, sid)).Result()
	}
	if err != nil {
		return Session{}, nil, classify("get", err)
	}
	if len(m) == 0 {
		return Session{}, nil, s.why(ctx, uid, sid)
	}
	sess, err := decodeSession(sid, m)
	if err != nil {
		return Session{}, nil, err
	}
	now := s.cfg.Now()
	if !now.Before(sess.IdleExpiresAt) || !now.Before(sess.AbsoluteExpiresAt) {
		return Session{}, nil, ErrExpired // Redis' TTL removes it; the index is pruned by writes
	}
	if now.Sub(sess.LastSeenAt) >= s.cfg.TouchInterval && s.touch(uid, sid) {
		sess.LastSeenAt = now.UTC()
		sess.IdleExpiresAt = minTime(now.Add(s.cfg.IdleTTL), sess.AbsoluteExpiresAt).UTC()
	}
	return sess, um, nil
}

// why tells a revoked session (its marker lives) from an expired one.
func (s *Store) why(ctx context.Context, uid, sid string) error {
	n, err := s.rdb.Exists(ctx, s.keys.revoked(uid, sid)).Result()
	if err != nil {
		return classify("get", err)
	}
	if n == 1 {
		return ErrRevoked
	}
	return ErrExpired
}

// maxBackgroundTouches bounds the touches in flight; when it is reached, reads skip the touch
// and a later read does it.
const maxBackgroundTouches = 64

// touch slides the session's idle deadline without making the request wait for it. It reports
// whether a touch was started. Failures are ignored: the next read past the throttle retries.
func (s *Store) touch(uid, sid string) bool {
	select {
	case s.touches <- struct{}{}:
	default:
		return false
	}
	s.inflight.Add(1)
	now := s.nowMS()
	go func() {
		defer func() { <-s.touches; s.inflight.Done() }()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = s.sc.touch.Run(ctx, s.rdb, []string{s.keys.session(uid, sid), s.keys.index(uid)},
			now, s.cfg.IdleTTL.Milliseconds(), s.cfg.TouchInterval.Milliseconds(), sid).Err()
	}()
	return true
}

// Wait blocks until the background touches in flight have finished. Call it before closing the
// Redis client.
func (s *Store) Wait() { s.inflight.Wait() }

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Reissue asks to move a session to a new id and refresh token.
type Reissue struct {
	UserID, OldSessionID, NewSessionID string
	RefreshHash                        string // hash of the new session's first refresh token
	AccessExpiresAt                    time.Time
	Reason                             string // recorded in the old id's revocation marker
}

// Reissue moves a live session to a new id with a new refresh token, keeping its data, device
// and deadlines (the absolute one never moves), and revokes the old id: every token issued for
// it stops working. It returns the new session, or ErrRevoked, ErrExpired or ErrUnavailable.
func (s *Store) Reissue(ctx context.Context, r Reissue) (Session, error) {
	uid := r.UserID
	rep, err := s.runDurable(ctx, "reissue", s.sc.reissue, []string{
		s.keys.session(uid, r.OldSessionID), s.keys.revoked(uid, r.OldSessionID),
		s.keys.session(uid, r.NewSessionID), s.keys.index(uid),
	}, s.nowMS(), r.OldSessionID, r.NewSessionID, r.RefreshHash, ms(r.AccessExpiresAt),
		s.cfg.IdleTTL.Milliseconds(), s.cfg.RevocationPad.Milliseconds(), r.Reason)
	if err != nil {
		return Session{}, err
	}
	if rep.status != "ok" {
		return Session{}, rep.gone()
	}
	return rep.sessionAt(0, r.NewSessionID)
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
	rep, err := s.runDurable(ctx, "rotate", s.sc.rotate,
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
