// Package redisaudit keeps audit events in Redis Streams, bounded in count and age: each
// user's newest events under the user's hash tag, and every event in one global stream.
package redisaudit

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"boxoffice/audit"
)

//go:embed append.lua
var appendLua string

// Config bounds what is kept. Zero values take the defaults.
type Config struct {
	Prefix     string        // key prefix; default "bx:"
	MaxPerUser int           // events kept per user (exactly); default DefaultMaxPerUser
	MaxEvents  int           // events kept in the global stream (approximately: see Store); default DefaultMaxEvents
	Retention  time.Duration // no event older than this is kept or returned; default DefaultRetention
	// ScanLimit bounds how many events one page filtered by type reads; default 1000.
	ScanLimit int
	Now       func() time.Time // the application clock; default time.Now
}

// Defaults of Config's zero fields (exported so that configuration loaders and their
// documentation state the same values).
const (
	DefaultMaxPerUser = 100
	DefaultMaxEvents  = 100000
	DefaultRetention  = 90 * 24 * time.Hour
)

func (c Config) withDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = "bx:"
	}
	if c.MaxPerUser <= 0 {
		c.MaxPerUser = DefaultMaxPerUser
	}
	if c.MaxEvents <= 0 {
		c.MaxEvents = DefaultMaxEvents
	}
	if c.Retention <= 0 {
		c.Retention = DefaultRetention
	}
	if c.ScanLimit <= 0 {
		c.ScanLimit = 1000
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Store is an audit.Store over Redis (6.2 or later: XTRIM MINID). Keys:
//
//	<p>{u:<uid>}:audit  stream  the user's newest events (MaxPerUser, trimmed exactly), expiring
//	                            Retention after the last one
//	<p>audit            stream  every event (MaxEvents, trimmed approximately: Redis removes
//	                            whole nodes of about 100 entries, so it may hold that many more)
//
// Each entry is "eid" (the event ID), "e" (the event as JSON, without its ID) and, for the
// events coalesced (see coalesce), "k"; entry ids are "<ms>-<seq>" from the application
// clock. Entries older than Retention are trimmed at each
// append (exactly per user, approximately globally) and never returned. It is safe for
// concurrent use.
type Store struct {
	rdb    redis.UniversalClient
	cfg    Config
	script *redis.Script
}

var _ audit.Store = (*Store)(nil)

// New returns a Store over rdb.
func New(rdb redis.UniversalClient, cfg Config) *Store {
	return &Store{rdb: rdb, cfg: cfg.withDefaults(), script: redis.NewScript(appendLua)}
}

func (s *Store) userKey(uid string) string { return s.cfg.Prefix + "{u:" + uid + "}:audit" }
func (s *Store) globalKey() string         { return s.cfg.Prefix + "audit" }

// Append adds e to its user's stream (when e.UserID is set) and to the global stream, in one
// round trip (two when Redis lost its script cache). e.ID must be set: it makes a retried
// append a no-op. It returns audit.ErrUnavailable when Redis cannot be reached.
func (s *Store) Append(ctx context.Context, e audit.Event) error {
	if e.ID == "" {
		return errors.New("redisaudit: event without an ID")
	}
	id := e.ID
	e.ID = ""
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	now := s.cfg.Now().UnixMilli()
	oldest := now - s.cfg.Retention.Milliseconds()
	type call struct {
		key   string
		max   int
		exact string
		ttl   int64
		k     string // coalescing key
		cmd   *redis.Cmd
	}
	calls := []*call{{key: s.globalKey(), max: s.cfg.MaxEvents, exact: "0", k: coalesceGlobal(e)}}
	if e.UserID != "" {
		calls = append(calls, &call{key: s.userKey(e.UserID), max: s.cfg.MaxPerUser, exact: "1",
			ttl: s.cfg.Retention.Milliseconds(), k: coalesce(e)})
	}
	since := now - coalesceWindow.Milliseconds()
	args := func(c *call) []any {
		return []any{now, c.max, c.exact, oldest, c.ttl, id, body, c.k, since}
	}
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, c := range calls {
			c.cmd = s.script.EvalSha(ctx, p, []string{c.key}, args(c)...)
		}
		return nil
	})
	if err == nil {
		return nil
	}
	// After a script-cache flush (a restart), run each again with EVAL fallback: an append
	// that did go through is found by its event ID and not repeated.
	for _, c := range calls {
		if c.cmd.Err() == nil {
			continue
		}
		if !redis.HasErrorPrefix(c.cmd.Err(), "NOSCRIPT") {
			return classify("append", c.cmd.Err())
		}
		if err := s.script.Run(ctx, s.rdb, []string{c.key}, args(c)...).Err(); err != nil {
			return classify("append", err)
		}
	}
	return nil
}

// coalesceWindow is how recent an entry must be for an event to be coalesced with it: a burst
// shows once, a new burst later shows again.
const coalesceWindow = time.Hour

// coalesce returns the key under which events that others can cause at will are coalesced in
// the user's stream: such an event is left out of it while one of the 8 newest entries, at
// most coalesceWindow old, has the same key, so that neither a password guesser nor the thief
// of a session can flood the user's view or push its older events out. The keys: failed and
// refused sign-ins by type and reason (5 keys reach a user's stream), uses and refusals of
// the administrative operations by type alone (authz_admin, authz_fail: keyed by their 12
// operations, a caller cycling through 9 of them would never be coalesced), and failed
// password changes (a session thief guessing the current password). These 8 keys stay within
// the 8 entries checked. The global stream keeps every one of them but authz_fail (see
// coalesceGlobal).
func coalesce(e audit.Event) string {
	switch e.Type {
	case audit.LoginFail, audit.LoginLock:
		return string(e.Type) + "|" + e.Reason
	case audit.AuthzAdmin, audit.AuthzFail:
		return string(e.Type)
	case audit.PasswordChange:
		if e.Outcome == audit.Failure { // a session thief guessing the current password
			return string(e.Type) + "|failure"
		}
	}
	return ""
}

// coalesceGlobal returns the key under which events one account can cause at will are
// coalesced in the global stream: the refusals of an administrative operation (authz_fail),
// per user, so that one account cannot flood it. (Refused sign-ins are kept once per throttle
// window already: the Keeper does not keep repeats.)
func coalesceGlobal(e audit.Event) string {
	if e.Type == audit.AuthzFail && e.UserID != "" {
		return string(e.Type) + "|" + e.UserID
	}
	return ""
}

// classify turns a go-redis error into audit.ErrUnavailable unless it is a reply that means a
// bug (a wrong-type key, a script error).
func classify(op string, err error) error {
	var reply redis.Error
	if errors.As(err, &reply) && !errors.Is(err, redis.ErrPoolTimeout) && !errors.Is(err, redis.ErrClosed) {
		msg := reply.Error()
		for _, p := range []string{"LOADING", "OOM", "READONLY", "CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN",
			"BUSY", "MISCONF", "NOAUTH", "WRONGPASS", "NOPERM"} {
			if strings.HasPrefix(msg, p) {
				return fmt.Errorf("%w: %s: %v", audit.ErrUnavailable, op, err)
			}
		}
		return fmt.Errorf("redisaudit: %s: %w", op, err)
	}
	return fmt.Errorf("%w: %s: %v", audit.ErrUnavailable, op, err)
}

// position parses a stream entry id "<ms>-<seq>".
func position(id string) (audit.Cursor, bool) {
	ms, seq, ok := strings.Cut(id, "-")
	if !ok {
		return audit.Cursor{}, false
	}
	m, err1 := strconv.ParseInt(ms, 10, 64)
	n, err2 := strconv.ParseUint(seq, 10, 64)
	return audit.Cursor{MS: m, Seq: n}, err1 == nil && err2 == nil && m >= 0
}

// before is the stream id just before c (an inclusive XREVRANGE end that excludes c), and
// false when c is the first position.
func before(c audit.Cursor) (string, bool) {
	switch {
	case c.Seq > 0:
		return strconv.FormatInt(c.MS, 10) + "-" + strconv.FormatUint(c.Seq-1, 10), true
	case c.MS > 0:
		return strconv.FormatInt(c.MS-1, 10) + "-18446744073709551615", true
	}
	return "", false
}
