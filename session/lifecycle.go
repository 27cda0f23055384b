package session

import (
	"context"
	"errors"
	"strings"
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
	// CredentialEpoch is the user's auth.User.CredentialEpoch read together with the password
	// hash that the login verified.
	CredentialEpoch int64
	// Network, when set, is remembered as a network the user signed in from (see
	// KnownNetwork); it is stored only as a SHA-256 digest.
	Network string
}

// Create stores a new session whose idle deadline is now+IdleTTL and whose absolute deadline
// is now+AbsoluteTTL, and adds it to the user's index, in one atomic step that also
//   - refuses with ErrStaleCredential when the user's credential epoch is no longer
//     n.CredentialEpoch (a password change landed after the login verified the password), and
//   - revokes the user's least recently used sessions (reason ReasonLimit) so that at most
//     Config.MaxSessions stay live.
//
// It returns ErrUnavailable when Redis cannot be reached, and ErrRevoked when a retried create
// finds the session revoked meanwhile.
func (s *Store) Create(ctx context.Context, n NewSession) (Session, error) {
	now := s.nowMS()
	ae := now + s.cfg.AbsoluteTTL.Milliseconds()
	ie := min(now+s.cfg.IdleTTL.Milliseconds(), ae)
	network := ""
	if n.Network != "" {
		network = digest(n.Network)
	}
	args := []any{now, n.ID, ie, n.RefreshHash, n.CredentialEpoch, s.cfg.MaxSessions, s.keys.tag(n.UserID),
		s.cfg.RevocationPad.Milliseconds(), network, s.cfg.KnownNetworkTTL.Milliseconds(),
		"ct", now, "ls", now, "ie", ie, "ae", ae,
		"dn", n.DeviceName, "ip", n.IP, "ua", n.UserAgent, "v", 0,
		"rh", n.RefreshHash, "atx", ms(n.AccessExpiresAt)}
	r, err := s.runDurable(ctx, "create", s.sc.create, []string{
		s.keys.session(n.UserID, n.ID), s.keys.index(n.UserID), s.keys.revoked(n.UserID, n.ID),
		s.keys.user(n.UserID), s.keys.nets(n.UserID)}, args...)
	if r.status == "ok" { // with err too: the replicas lag, the evictions are done
		s.revokedEvents(ctx, n.UserID, ReasonLimit, r.strings(1)...)
	}
	if err != nil {
		return Session{}, err
	}
	switch r.status {
	case "ok":
	case "exists":
		return Session{}, errors.New("session: id collision on create")
	case "stale":
		return Session{}, ErrStaleCredential
	default:
		return Session{}, r.gone()
	}
	return r.sessionAt(0, n.UserID, n.ID)
}

// KnownNetwork reports whether user uid has created a session from network (as given in
// NewSession.Network) within Config.KnownNetworkTTL; the 32 most recent networks are kept.
// It returns ErrUnavailable when Redis cannot be reached.
func (s *Store) KnownNetwork(ctx context.Context, uid, network string) (bool, error) {
	err := s.rdb.ZScore(ctx, s.keys.nets(uid), digest(network)).Err()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, classify("known network", err)
	}
	return true, nil
}

// Get authenticates session sid of user uid and returns it: the session must exist and be
// within both deadlines. It costs one Redis round trip (HGETALL), none when the session cache
// holds the session (see StartCache); telling a revoked session from an expired one costs a
// second. When the last recorded activity is older than TouchInterval, the idle deadline is
// slid in the background (see touch) and the returned session already shows the slid values.
// The returned Data must not be modified: it may be shared with the cache. It returns
// ErrRevoked, ErrExpired or ErrUnavailable.
func (s *Store) Get(ctx context.Context, uid, sid string) (Session, error) {
	sess, _, err := s.read(ctx, uid, sid, false)
	return sess, err
}

// GetWithUser is Get that also returns the session's user, in the same round trip (the account
// shares the session's hash tag), or from the cache. It returns auth.ErrUserNotFound when the
// account is gone, besides Get's errors.
func (s *Store) GetWithUser(ctx context.Context, uid, sid string) (Session, auth.User, error) {
	sess, u, err := s.read(ctx, uid, sid, true)
	if err != nil {
		return Session{}, auth.User{}, err
	}
	return sess, *u, nil
}

// read is the hot path. A session the cache holds is answered from memory while the
// invalidation link is current. Otherwise reads need no atomicity, so they are a plain HGETALL
// (pipelined with the account's when asked) rather than a Lua script, which measured about
// 40µs cheaper per request; every write still goes through a script that re-checks the
// session, so no read can lead to resurrecting one. Only when the session is missing is the
// revocation marker read, in a second round trip, to tell revoked from expired.
func (s *Store) read(ctx context.Context, uid, sid string, withUser bool) (Session, *auth.User, error) {
	now := s.cfg.Now()
	var gen uint64
	if c := s.cache; c != nil {
		if s.link.serving(now) {
			if cs, u, ok := c.get(uid, sid, withUser); ok {
				return s.fromCache(now, uid, cs, u)
			}
		}
		gen = c.gen(uid) // before Redis is read: see cache.put
	}
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
	sess, err := decodeSession(uid, sid, m)
	if err != nil {
		return Session{}, nil, err
	}
	if !now.Before(sess.IdleExpiresAt) || !now.Before(sess.AbsoluteExpiresAt) {
		return Session{}, nil, ErrExpired // Redis' TTL removes it; the index is pruned by writes
	}
	var u *auth.User
	if withUser {
		du, err := decodeUser(um)
		if err != nil {
			return Session{}, nil, err
		}
		u = &du
	}
	if s.cache != nil {
		s.cache.put(gen, uid, sess, u)
	}
	if now.Sub(sess.LastSeenAt) >= s.cfg.TouchInterval && s.touch(uid, sid) {
		sess.LastSeenAt = now.UTC()
		sess.IdleExpiresAt = minTime(now.Add(s.cfg.IdleTTL), sess.AbsoluteExpiresAt).UTC()
	}
	return sess, u, nil
}

// fromCache answers a read from a cached session: the deadlines are enforced here, from the
// cached values, and the idle deadline is slid in the background at most once per
// TouchInterval per instance (the touch's write then invalidates the entry everywhere).
func (s *Store) fromCache(now time.Time, uid string, cs *cachedSession, u *auth.User) (Session, *auth.User, error) {
	sess := cs.sess
	if !now.Before(sess.IdleExpiresAt) || !now.Before(sess.AbsoluteExpiresAt) {
		return Session{}, nil, ErrExpired
	}
	if now.Sub(sess.LastSeenAt) >= s.cfg.TouchInterval {
		nowMS, last := now.UnixMilli(), cs.touched.Load()
		if nowMS-last >= s.cfg.TouchInterval.Milliseconds() && cs.touched.CompareAndSwap(last, nowMS) &&
			s.touch(uid, sess.ID) {
			sess.LastSeenAt = now.UTC()
			sess.IdleExpiresAt = minTime(now.Add(s.cfg.IdleTTL), sess.AbsoluteExpiresAt).UTC()
		}
	}
	return sess, u, nil
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

// PasswordChange asks to replace a user's password while keeping the caller signed in.
type PasswordChange struct {
	UserID, SessionID string // the caller
	OldHash, NewHash  string // the password hash the caller verified, and its replacement
	NewSessionID      string // the id the caller's session moves to
	RefreshHash       string // hash of the new session's first refresh token
	AccessExpiresAt   time.Time
}

// ChangePassword replaces the password hash, moves the caller's live session to a new id with
// a new refresh token (keeping its data, device and deadlines; the absolute deadline never
// moves) and revokes every other session of the user, all in one atomic step. It also bumps
// the user's credential epoch, so logins that verified the old password and have not created
// their session yet fail with ErrStaleCredential. The caller's old id is revoked with a marker
// naming the new id (see Resumable). It returns the new session and how many sessions it
// revoked, or ErrCredentialChanged (the stored hash is no longer OldHash; nothing changed),
// ErrRevoked, ErrExpired or ErrUnavailable. Running it twice changes nothing more.
func (s *Store) ChangePassword(ctx context.Context, c PasswordChange) (Session, int, error) {
	uid := c.UserID
	rep, err := s.runDurable(ctx, "change_password", s.sc.changePassword, []string{
		s.keys.user(uid), s.keys.session(uid, c.SessionID), s.keys.revoked(uid, c.SessionID),
		s.keys.session(uid, c.NewSessionID), s.keys.index(uid),
	}, s.nowMS(), s.keys.tag(uid), c.SessionID, c.NewSessionID, c.OldHash, c.NewHash, c.RefreshHash,
		ms(c.AccessExpiresAt), s.cfg.IdleTTL.Milliseconds(), s.cfg.RevocationPad.Milliseconds())
	if rep.status == "ok" { // with err too: the replicas lag, the revocations are done
		s.revokedEvents(ctx, uid, ReasonPassword, rep.strings(2)...)
	}
	if err != nil {
		return Session{}, 0, err
	}
	switch rep.status {
	case "ok":
	case "changed":
		return Session{}, 0, ErrCredentialChanged
	default:
		return Session{}, 0, rep.gone()
	}
	sess, err := rep.sessionAt(0, uid, c.NewSessionID)
	n, _ := rep.int(1)
	return sess, int(n), err
}

// passwordMarker starts the revocation marker of a session moved by a password change; the new
// session id follows it.
const passwordMarker = ReasonPassword + ":"

// Resumable returns the id that session sid of user uid was moved to by a password change, for
// as long as its revocation marker lives; "" when it was not moved (or is live, or long gone).
// It returns ErrUnavailable when Redis cannot be reached.
func (s *Store) Resumable(ctx context.Context, uid, sid string) (string, error) {
	v, err := s.rdb.Get(ctx, s.keys.revoked(uid, sid)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", classify("resumable", err)
	}
	next, ok := strings.CutPrefix(v, passwordMarker)
	if !ok || !auth.ValidID(next) {
		return "", nil
	}
	return next, nil
}

// Resume returns session sid of user uid, created by ChangePassword with the refresh token
// whose hash is refreshHash, to a client that lost ChangePassword's answer, and records the
// expiry of the access token issued with it. It succeeds only while that first refresh token
// has not been used: otherwise (or when the session is gone) it returns ErrRevoked; also
// ErrExpired or ErrUnavailable.
func (s *Store) Resume(ctx context.Context, uid, sid, refreshHash string, accessExpiresAt time.Time) (Session, error) {
	rep, err := s.run(ctx, "resume", s.sc.resume,
		[]string{s.keys.session(uid, sid), s.keys.revoked(uid, sid), s.keys.index(uid)},
		s.nowMS(), sid, refreshHash, ms(accessExpiresAt))
	if err != nil {
		return Session{}, err
	}
	switch rep.status {
	case "ok":
		return rep.sessionAt(0, uid, sid)
	case "used":
		return Session{}, ErrRevoked
	}
	return Session{}, rep.gone()
}

// Rotation asks to exchange a presented refresh token for its successor.
type Rotation struct {
	UserID, SessionID string
	PresentedHash     string // hash of the token the client presented
	SuccessorHash     string // hash of its deterministic successor
	RequestID         string // unique per HTTP request; makes a retried script idempotent
	AccessExpiresAt   time.Time
}

// Rotated is the outcome of a successful Rotate.
type Rotated struct {
	Session Session
	// Steps is 0 when the presented token was current and has been rotated to SuccessorHash.
	// Otherwise nothing rotated: the presented token was current Steps rotations ago and is
	// still inside its grace window (or this is a retry of the same request); the current token
	// is the presented one's Steps-th successor, and its hash is CurrentHash.
	Steps       int
	CurrentHash string
}

// Rotate makes SuccessorHash the session's current refresh token if PresentedHash is current,
// sliding the idle deadline (never the absolute one). A token rotated away no longer than
// Config.RefreshGrace ago — timed from when Redis applied that rotation, by the later of the
// instance's and Redis' clocks — is answered without rotating (see Rotated.Steps), however many
// rotations followed it; so is a retry of the same request. Any other presented hash means a
// rotated token came back: the session is revoked and ErrRefreshReused returned. At most
// MaxRotations rotations are remembered per grace window; one more gives *RotationBusyError.
// Also returns ErrRevoked, ErrExpired or ErrUnavailable.
func (s *Store) Rotate(ctx context.Context, r Rotation) (Rotated, error) {
	uid, sid := r.UserID, r.SessionID
	rep, err := s.runDurable(ctx, "rotate", s.sc.rotate,
		[]string{s.keys.session(uid, sid), s.keys.revoked(uid, sid), s.keys.index(uid)},
		s.nowMS(), s.cfg.IdleTTL.Milliseconds(), sid, r.PresentedHash, r.SuccessorHash,
		r.RequestID, s.cfg.RefreshGrace.Milliseconds(), ms(r.AccessExpiresAt), s.cfg.RevocationPad.Milliseconds(),
		MaxRotations)
	if rep.status == "reused" { // with err too: the replicas lag, the revocation is done
		s.reuseEvents(ctx, uid, sid)
	}
	if err != nil {
		return Rotated{}, err
	}
	switch rep.status {
	case "ok", "grace":
		m, err := rep.flat(0)
		if err != nil {
			return Rotated{}, err
		}
		sess, err := decodeSession(uid, sid, m)
		if err != nil {
			return Rotated{}, err
		}
		steps, _ := rep.int(1)
		return Rotated{Session: sess, Steps: int(steps), CurrentHash: m["rh"]}, nil
	case "busy":
		wait, _ := rep.int(0)
		return Rotated{}, &RotationBusyError{RetryAfter: time.Duration(wait) * time.Millisecond}
	case "reused":
		return Rotated{}, ErrRefreshReused
	}
	return Rotated{}, rep.gone()
}

// run executes a script and parses its status reply, classifying Redis failures.
func (s *Store) run(ctx context.Context, op string, script *redis.Script, keys []string, args ...any) (reply, error) {
	v, err := script.Run(ctx, s.rdb, keys, args...).Result()
	s.dropCached(keys)
	if err != nil {
		return reply{}, classify(op, err)
	}
	return parseReply(v)
}
