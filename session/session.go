// Package session keeps boxoffice's shared state in Redis: sessions with their refresh state,
// data and revocations, the per-user session index, user accounts and login throttles.
package session

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"boxoffice/audit"
)

// Session is one signed-in device of a user.
type Session struct {
	ID                string
	UserID            string
	CreatedAt         time.Time
	LastSeenAt        time.Time
	IdleExpiresAt     time.Time // slides with activity and refresh, never past AbsoluteExpiresAt
	AbsoluteExpiresAt time.Time // fixed at creation
	DeviceName        string
	IP                string
	UserAgent         string
	Version           int64                      // data version, bumped by every change to Data
	Data              map[string]json.RawMessage // top-level key -> compact JSON value
}

// Sentinel errors. Every method returns one of these (possibly wrapped) or an internal error.
var (
	// ErrRevoked: the session was revoked (logout, revoke, reuse detection) and its
	// revocation marker is still alive.
	ErrRevoked = errors.New("session: revoked")
	// ErrExpired: the session does not exist: it expired, was never created, or its
	// revocation marker has lapsed.
	ErrExpired = errors.New("session: expired")
	// ErrNotFound: the target session of a revoke is not one of the user's live sessions.
	ErrNotFound = errors.New("session: not found")
	// ErrRefreshReused: a rotated refresh token was presented outside the grace window; the
	// session has been revoked.
	ErrRefreshReused = errors.New("session: refresh token reused")
	// ErrPrecondition: If-Match named a data version that is no longer current.
	ErrPrecondition = errors.New("session: data version mismatch")
	// ErrConflict: concurrent writers kept changing the same data key; retrying may succeed.
	ErrConflict = errors.New("session: concurrent update conflict")
	// ErrBadCursor: a List cursor is malformed: not the canonical unpadded base64url of a
	// position (creation time and session id) in the list order.
	ErrBadCursor = errors.New("session: malformed list cursor")
	// ErrStaleCredential: a login's password was verified under a credential that a password
	// change replaced before the session could be created; no session was created.
	ErrStaleCredential = errors.New("session: credential changed since it was verified")
	// ErrCredentialChanged: a password change found the stored password hash changed by another
	// request since it was verified; nothing was changed.
	ErrCredentialChanged = errors.New("session: password changed concurrently")
	// ErrUnavailable: Redis could not be consulted (down, slow, loading, out of memory,
	// failing over). Callers must not treat the session as valid or invalid.
	ErrUnavailable = errors.New("session: store unavailable")
)

// DataLimitError reports session data that would exceed a configured limit: the session's own
// (keys, bytes) or the sum over all of the user's sessions (UserBytes, when non-zero). It
// matches errors.Is(err, ErrDataTooLarge).
type DataLimitError struct {
	Keys, Bytes       int
	MaxKeys, MaxBytes int
	UserBytes         int
	MaxUserBytes      int
}

// ErrDataTooLarge is the sentinel matched by *DataLimitError.
var ErrDataTooLarge = errors.New("session: data too large")

func (e *DataLimitError) Error() string {
	if e.UserBytes > 0 {
		return fmt.Sprintf("the data of all your sessions would hold %d bytes; the limit is %d bytes",
			e.UserBytes, e.MaxUserBytes)
	}
	return fmt.Sprintf("session data would hold %d keys and %d bytes; the limits are %d keys and %d bytes",
		e.Keys, e.Bytes, e.MaxKeys, e.MaxBytes)
}

// Is makes errors.Is(err, ErrDataTooLarge) true.
func (e *DataLimitError) Is(target error) bool { return target == ErrDataTooLarge }

// ErrRotatingTooFast is matched by *RotationBusyError.
var ErrRotatingTooFast = errors.New("session: refresh token rotated too often")

// RotationBusyError refuses a refresh that would rotate a session more than MaxRotations times
// within one grace window (no client needs that; remembering more would be unbounded). Nothing
// changed; the refresh may be retried after RetryAfter. It matches ErrRotatingTooFast.
type RotationBusyError struct{ RetryAfter time.Duration }

func (e *RotationBusyError) Error() string { return "session: refresh token rotated too often" }

// Is makes errors.Is(err, ErrRotatingTooFast) true.
func (e *RotationBusyError) Is(target error) bool { return target == ErrRotatingTooFast }

// MaxRotations bounds the rotations remembered within a grace window (see Store.Rotate).
const MaxRotations = 16

// Config holds the store's policy. Use DefaultConfig and override fields.
type Config struct {
	Prefix        string        // key prefix; default "bx:"
	IdleTTL       time.Duration // idle timeout; default 7 days
	AbsoluteTTL   time.Duration // absolute cap from creation; default 30 days
	RefreshGrace  time.Duration // window in which a rotated token returns the same successor; default 10s, 0 disables
	TouchInterval time.Duration // minimum time between idle-deadline writes on reads; default 1m
	RevocationPad time.Duration // added to a revocation marker's lifetime (clock skew, leeway); default 10s
	// RevocationReplicas, when positive, makes every revocation and rotation wait (WAIT) until
	// that many replicas hold it, answering ErrUnavailable otherwise; default 0 (no wait).
	RevocationReplicas int
	RevocationWait     time.Duration // how long to wait for them; default 200ms
	MaxDataKeys        int           // default 64
	MaxDataBytes       int           // sum of key and value bytes; default 16 KiB
	MaxUserDataBytes   int           // data bytes of all of one user's sessions together; default 256 KiB
	// MaxSessions bounds the live sessions of one user; creating one more revokes the least
	// recently used (reason ReasonSessionLimit). Default 50.
	MaxSessions int
	// KnownNetworkTTL is how long a network a user signed in from is remembered (see
	// KnownNetwork); default 90 days.
	KnownNetworkTTL time.Duration
	Now             func() time.Time
	// Audit records an audit.SessionRevoked event for every session a call revokes; nil
	// records nothing.
	Audit audit.Recorder
}

// Defaults of Config, as DefaultConfig sets them (exported so that configuration loaders and
// their documentation state the same values).
const (
	DefaultIdleTTL          = 7 * 24 * time.Hour
	DefaultAbsoluteTTL      = 30 * 24 * time.Hour
	DefaultRefreshGrace     = 10 * time.Second
	DefaultTouchInterval    = time.Minute
	DefaultRevocationWait   = 200 * time.Millisecond
	DefaultMaxDataKeys      = 64
	DefaultMaxDataBytes     = 16 << 10
	DefaultMaxUserDataBytes = 256 << 10
	DefaultMaxSessions      = 50
)

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		Prefix:           "bx:",
		IdleTTL:          DefaultIdleTTL,
		AbsoluteTTL:      DefaultAbsoluteTTL,
		RefreshGrace:     DefaultRefreshGrace,
		TouchInterval:    DefaultTouchInterval,
		RevocationPad:    10 * time.Second,
		RevocationWait:   DefaultRevocationWait,
		MaxDataKeys:      DefaultMaxDataKeys,
		MaxDataBytes:     DefaultMaxDataBytes,
		MaxUserDataBytes: DefaultMaxUserDataBytes,
		MaxSessions:      DefaultMaxSessions,
		KnownNetworkTTL:  90 * 24 * time.Hour,
		Now:              time.Now,
	}
}

// Store keeps sessions in Redis. It is safe for concurrent use.
type Store struct {
	rdb  redis.UniversalClient
	cfg  Config
	keys keys
	sc   scripts

	touches  chan struct{}  // slots for background touches
	inflight sync.WaitGroup // background touches in flight

	cache *cache // nil unless StartCache was called
	link  *link
}

// New returns a Store over rdb. It returns an error when cfg is unusable.
func New(rdb redis.UniversalClient, cfg Config) (*Store, error) {
	switch {
	case cfg.IdleTTL < time.Second || cfg.AbsoluteTTL < time.Second:
		return nil, errors.New("session: idle and absolute TTLs must be at least 1s")
	case cfg.RefreshGrace < 0 || cfg.TouchInterval < 0:
		return nil, errors.New("session: refresh grace and touch interval must not be negative")
	case cfg.RevocationPad < time.Second:
		return nil, errors.New("session: revocation pad must be at least 1s")
	case cfg.MaxDataKeys < 1 || cfg.MaxDataBytes < 1 || cfg.MaxUserDataBytes < cfg.MaxDataBytes:
		return nil, errors.New("session: data limits must be positive, the user's at least the session's")
	case cfg.MaxSessions < 1 || cfg.KnownNetworkTTL < time.Second:
		return nil, errors.New("session: the session cap and the known-network lifetime must be positive")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Store{rdb: rdb, cfg: cfg, keys: keys{prefix: cfg.Prefix}, sc: loadScripts(),
		touches: make(chan struct{}, maxBackgroundTouches)}, nil
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func (s *Store) nowMS() int64 { return ms(s.cfg.Now()) }
