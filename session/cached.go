package session

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrCacheUnsupported: StartCache needs a single Redis node or a Sentinel-managed primary; a
// Redis Cluster would need one invalidation link per primary, which is not built yet.
var ErrCacheUnsupported = errors.New("session: the session cache needs a single node or Sentinel, not Cluster")

// StartCache turns on the per-instance session cache: Get and GetWithUser answer a session
// this instance read before from memory, with no Redis round trip, for as long as nothing
// changed it. Any change to a session's or account's key — by this or any instance, a script,
// the admin CLI, expiry or eviction — is reported by Redis itself on an invalidation link
// (CLIENT TRACKING in broadcast mode, see link) and drops the entry on every instance. The
// cache serves only while the link has proved, by an echoed heartbeat, that it was current at
// most cfg.Staleness ago, and no invalidation waits unread on its socket; otherwise reads go to
// Redis as without it. Deadlines are enforced from the cached values, and idle deadlines still
// slide (see fromCache). Its background work runs until ctx is done; the returned wait blocks
// until it has stopped (call it after cancelling ctx, before closing the Redis client). log
// receives the link's state changes (nil discards them).
//
// Call it before the store serves reads (it is not synchronised with them). It returns
// ErrCacheUnsupported for a Cluster client, or an error when cfg is unusable. Calling it twice
// is an error.
func (s *Store) StartCache(ctx context.Context, cfg CacheConfig, log *slog.Logger) (wait func(), err error) {
	rdb, ok := s.rdb.(*redis.Client)
	switch {
	case !ok:
		return nil, ErrCacheUnsupported
	case s.cache != nil:
		return nil, errors.New("session: the cache is already started")
	}
	if cfg.MaxEntries == 0 {
		cfg.MaxEntries = DefaultCacheMaxEntries
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultCacheMaxBytes
	}
	if cfg.Staleness == 0 {
		cfg.Staleness = DefaultCacheStaleness
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = cfg.Staleness / 5
	}
	if cfg.MaxEntries < 0 || cfg.MaxBytes < 0 || cfg.Staleness < 10*time.Millisecond ||
		cfg.Heartbeat <= 0 || cfg.Heartbeat > cfg.Staleness/2 {
		return nil, errors.New("session: cache limits must be positive, staleness at least 10ms, heartbeat at most half of it")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	opt := *rdb.Options()
	if cfg.LinkDialer != nil {
		opt.Dialer = cfg.LinkDialer
	}
	c := newCache(cfg.MaxEntries, cfg.MaxBytes)
	s.link = &link{opt: &opt, base: time.Now(), rdb: rdb, prefix: s.cfg.Prefix, now: s.cfg.Now,
		staleness: cfg.Staleness, heartbeat: cfg.Heartbeat, log: log, cache: c, up: make(chan struct{}, 1),
		hbPrefix: s.cfg.Prefix + heartbeatTag + hex.EncodeToString(id[:]) + ":"}
	s.link.fd.Store(-1)
	s.cache = c // after the link: a read that sees the cache uses it
	var wg sync.WaitGroup
	wg.Go(func() { s.link.run(ctx) })
	wg.Go(func() { s.link.beat(ctx) })
	return wg.Wait, nil
}

// heartbeatTag starts the heartbeat keys; '~' never appears in a user id, so they are no
// user's keys, yet under the tracked prefix.
const heartbeatTag = "{u:~cache}:hb:"

// CacheStats reports what the cache did; the zero value when it is off.
func (s *Store) CacheStats() CacheStats {
	if s.cache == nil {
		return CacheStats{}
	}
	st := s.cache.stats()
	st.Serving = s.link.serving(s.cfg.Now())
	return st
}

// dropCached drops what the cache holds for the users whose keys a script of this instance was
// given, whatever its outcome, so this instance never answers from a copy older than its own
// write (the link reports the write to the other instances).
func (s *Store) dropCached(keys []string) {
	if s.cache == nil {
		return
	}
	for _, k := range keys {
		rest, ok := strings.CutPrefix(k, s.cfg.Prefix+"{u:")
		if !ok {
			continue
		}
		if uid, _, ok := strings.Cut(rest, "}"); ok {
			s.cache.dropUser(uid)
		}
	}
}
