package session

import (
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"boxoffice/auth"
)

// CacheConfig sizes the per-instance session cache (see Store.StartCache).
type CacheConfig struct {
	MaxEntries int // sessions and accounts kept; default DefaultCacheMaxEntries
	MaxBytes   int // their estimated size in bytes; default DefaultCacheMaxBytes
	// Staleness bounds how old the cache's proof of being current may be: a cached session is
	// served only while the invalidation link has delivered the echo of a heartbeat written at
	// most this long ago. Default DefaultCacheStaleness.
	Staleness time.Duration
	Heartbeat time.Duration // how often the heartbeat is written; default Staleness/5
	// LinkDialer opens the invalidation link's connection; default the Redis client's own
	// dialer (TLS and Sentinel included). Tests put a proxy on the link alone with it.
	LinkDialer func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Defaults of CacheConfig's zero fields, as StartCache applies them (exported so that
// configuration loaders and their documentation state the same values).
const (
	DefaultCacheMaxEntries = 100_000
	DefaultCacheMaxBytes   = 64 << 20 // 64 MiB
	DefaultCacheStaleness  = time.Second
)

// CacheStats counts what the cache did since it started.
type CacheStats struct {
	Hits, Misses  uint64 // reads answered from memory, and reads that went to Redis
	Invalidations uint64 // keys of sessions or accounts the link reported changed
	Flushes       uint64 // times everything was dropped (link lost, FLUSHALL)
	Entries       int    // sessions and accounts held now
	Bytes         int    // their estimated size
	Serving       bool   // the link is current: cached entries may be served
}

// cacheShards spreads users over independently locked maps; a power of two.
const cacheShards = 256

// cache holds sessions and accounts by user. Every entry was read from Redis after the link
// subscribed, and is dropped when the link reports its key changed; an entry is inserted only
// when no report about its user arrived while it was being read (the shard's generation).
type cache struct {
	shards               [cacheShards]cacheShard
	maxEntries, maxBytes int // per shard
	hits, misses         atomic.Uint64
	invalidations        atomic.Uint64
	flushes              atomic.Uint64
}

type cacheShard struct {
	mu      sync.RWMutex
	gen     uint64 // bumped by every invalidation of one of the shard's users, and by flushes
	users   map[string]*cachedUser
	entries int
	bytes   int
	_       [16]byte // keep neighbouring shards' locks off one cache line
}

type cachedUser struct {
	user     *auth.User // nil when the account is not held
	size     int
	sessions map[string]*cachedSession
}

type cachedSession struct {
	sess    Session
	size    int
	touched atomic.Int64 // Unix ms when this instance last started a touch from the cached copy
}

func newCache(maxEntries, maxBytes int) *cache {
	c := &cache{maxEntries: max(maxEntries/cacheShards, 1), maxBytes: max(maxBytes/cacheShards, 1)}
	for i := range c.shards {
		c.shards[i].users = map[string]*cachedUser{}
	}
	return c
}

// shard picks uid's shard (FNV-1a).
func (c *cache) shard(uid string) *cacheShard {
	h := uint32(2166136261)
	for i := 0; i < len(uid); i++ {
		h = (h ^ uint32(uid[i])) * 16777619
	}
	return &c.shards[h&(cacheShards-1)]
}

// get returns the cached session sid of uid and, when withUser, its account; ok is false
// when either is not held.
func (c *cache) get(uid, sid string, withUser bool) (*cachedSession, *auth.User, bool) {
	sh := c.shard(uid)
	sh.mu.RLock()
	cu := sh.users[uid]
	var cs *cachedSession
	var u *auth.User
	if cu != nil {
		cs, u = cu.sessions[sid], cu.user
	}
	sh.mu.RUnlock()
	if cs == nil || (withUser && u == nil) {
		c.misses.Add(1)
		return nil, nil, false
	}
	c.hits.Add(1)
	return cs, u, true
}

// gen returns the generation of uid's shard; read it before reading Redis and pass it to put.
func (c *cache) gen(uid string) uint64 {
	sh := c.shard(uid)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	return sh.gen
}

// put stores a session (and the account, when u is not nil) read from Redis, unless an
// invalidation of the user's shard arrived since gen was read: the value may then predate it.
func (c *cache) put(gen uint64, uid string, sess Session, u *auth.User) {
	size := sessionSize(sess)
	sh := c.shard(uid)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.gen != gen {
		return
	}
	cu := sh.users[uid]
	if cu == nil {
		cu = &cachedUser{sessions: map[string]*cachedSession{}}
		sh.users[uid] = cu
	}
	if old := cu.sessions[sess.ID]; old != nil {
		sh.entries--
		sh.bytes -= old.size
	}
	cu.sessions[sess.ID] = &cachedSession{sess: sess, size: size}
	sh.entries++
	sh.bytes += size
	if u != nil {
		if cu.user != nil {
			sh.entries--
			sh.bytes -= cu.size
		}
		cu.user, cu.size = u, userSize(u)
		sh.entries++
		sh.bytes += cu.size
	}
	for (sh.entries > c.maxEntries || sh.bytes > c.maxBytes) && len(sh.users) > 1 {
		for id, other := range sh.users { // map order is random: evict an arbitrary other user
			if id != uid {
				sh.dropLocked(id, other)
				break
			}
		}
	}
}

// invalidateKey drops what key (a Redis key named by the link) holds, if it is a session's or
// an account's, and bumps its shard's generation. Other keys are ignored.
func (c *cache) invalidateKey(prefix, key string) {
	rest, ok := strings.CutPrefix(key, prefix+"{u:")
	if !ok {
		return
	}
	uid, field, ok := strings.Cut(rest, "}:")
	if !ok {
		return
	}
	sid, isSession := strings.CutPrefix(field, "s:")
	if !isSession && field != "user" {
		return
	}
	c.invalidations.Add(1)
	sh := c.shard(uid)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.gen++
	cu := sh.users[uid]
	if cu == nil {
		return
	}
	if !isSession {
		if cu.user != nil {
			sh.entries--
			sh.bytes -= cu.size
			cu.user = nil
		}
	} else if cs := cu.sessions[sid]; cs != nil {
		delete(cu.sessions, sid)
		sh.entries--
		sh.bytes -= cs.size
	}
	if cu.user == nil && len(cu.sessions) == 0 {
		delete(sh.users, uid)
	}
}

// dropUser drops everything held for uid and bumps its shard's generation: this instance just
// wrote the user's keys.
func (c *cache) dropUser(uid string) {
	sh := c.shard(uid)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.gen++
	if cu := sh.users[uid]; cu != nil {
		sh.dropLocked(uid, cu)
	}
}

func (sh *cacheShard) dropLocked(uid string, cu *cachedUser) {
	for _, cs := range cu.sessions {
		sh.entries--
		sh.bytes -= cs.size
	}
	if cu.user != nil {
		sh.entries--
		sh.bytes -= cu.size
	}
	delete(sh.users, uid)
}

// flush drops everything and bumps every generation, so reads in flight do not insert.
func (c *cache) flush() {
	c.flushes.Add(1)
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		sh.gen++
		clear(sh.users)
		sh.entries, sh.bytes = 0, 0
		sh.mu.Unlock()
	}
}

func (c *cache) stats() CacheStats {
	st := CacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Invalidations: c.invalidations.Load(),
		Flushes: c.flushes.Load()}
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.RLock()
		st.Entries += sh.entries
		st.Bytes += sh.bytes
		sh.mu.RUnlock()
	}
	return st
}

// entryOverhead estimates the bytes of an entry beyond its strings: the structs, the map slots
// and the times.
const entryOverhead = 256

func sessionSize(s Session) int {
	n := entryOverhead + len(s.ID) + len(s.UserID) + len(s.DeviceName) + len(s.IP) + len(s.UserAgent)
	for k, v := range s.Data {
		n += len(k) + len(v) + 64
	}
	return n
}

func userSize(u *auth.User) int {
	n := entryOverhead + len(u.ID) + len(u.Username) + len(u.DisplayName) + len(u.PasswordHash)
	for _, r := range u.Roles {
		n += len(r) + 16
	}
	return n
}
