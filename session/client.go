package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ClientConfig chooses the Redis topology and sizes the client for an authentication hot path.
// Exactly one of URL, ClusterAddrs or SentinelAddrs is set. Zero durations take the defaults,
// which replace go-redis' multi-second ones.
type ClientConfig struct {
	URL           string   // single node: redis://[user:pass@]host:port/db or rediss://...
	ClusterAddrs  []string // Redis Cluster: host:port seeds
	SentinelAddrs []string // Sentinel: host:port of the sentinels...
	MasterName    string   // ...and the name of the master they watch
	Username      string   // Cluster and Sentinel: ACL user of the data nodes (URL carries its own)
	Password      string   // Cluster and Sentinel: password of the data nodes

	DialTimeout  time.Duration // default 500ms
	ReadTimeout  time.Duration // default DefaultRedisTimeout
	WriteTimeout time.Duration // default DefaultRedisTimeout
	PoolTimeout  time.Duration // wait for a free connection; default DefaultRedisTimeout
	PoolSize     int           // default go-redis' 10 per CPU
	MaxRetries   int           // retries of a failed command; default 1 (-1 disables)
}

// DefaultRedisTimeout is the read, write and pool-wait timeout of NewClient's clients when
// ClientConfig leaves them zero.
const DefaultRedisTimeout = 300 * time.Millisecond

// NewClient returns one go-redis client for the configured topology — a plain client, a
// Cluster client or a Sentinel failover client, all as redis.UniversalClient — with hot-path
// timeouts, context deadlines honoured and bounded retries. It does not connect; the first
// command does.
func NewClient(cfg ClientConfig) (redis.UniversalClient, error) {
	def := func(v, d time.Duration) time.Duration {
		if v <= 0 {
			return d
		}
		return v
	}
	dial, read, write, pool := def(cfg.DialTimeout, 500*time.Millisecond), def(cfg.ReadTimeout, DefaultRedisTimeout),
		def(cfg.WriteTimeout, DefaultRedisTimeout), def(cfg.PoolTimeout, DefaultRedisTimeout)
	retries := cfg.MaxRetries
	if retries == 0 {
		retries = 1
	}
	// go-redis defaults to 5 dial attempts 100ms apart per command; with Redis down a request
	// would take a second to fail.
	const dialRetries, dialRetryWait = 1, 20 * time.Millisecond
	const minBackoff, maxBackoff = 8 * time.Millisecond, 64 * time.Millisecond
	switch {
	case len(cfg.ClusterAddrs) > 0:
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: cfg.ClusterAddrs, Username: cfg.Username, Password: cfg.Password,
			DialTimeout: dial, ReadTimeout: read, WriteTimeout: write, PoolTimeout: pool, PoolSize: cfg.PoolSize,
			ContextTimeoutEnabled: true, MaxRetries: retries, MinRetryBackoff: minBackoff, MaxRetryBackoff: maxBackoff,
			DialerRetries: dialRetries, DialerRetryTimeout: dialRetryWait, DisableIdentity: true,
			// go-redis re-reads the slot map every 60 s, or on MOVED; a dead primary answers
			// nothing, so after a failover requests would keep going to it for up to a minute.
			ClusterStateReloadInterval: 2 * time.Second,
		}), nil
	case len(cfg.SentinelAddrs) > 0:
		if cfg.MasterName == "" {
			return nil, errors.New("session: Sentinel needs the master name")
		}
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName: cfg.MasterName, SentinelAddrs: cfg.SentinelAddrs, Username: cfg.Username, Password: cfg.Password,
			DialTimeout: dial, ReadTimeout: read, WriteTimeout: write, PoolTimeout: pool, PoolSize: cfg.PoolSize,
			ContextTimeoutEnabled: true, MaxRetries: retries, MinRetryBackoff: minBackoff, MaxRetryBackoff: maxBackoff,
			DialerRetries: dialRetries, DialerRetryTimeout: dialRetryWait, DisableIdentity: true,
		}), nil
	}
	opt, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("session: REDIS_URL: %w", err)
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout, opt.PoolTimeout = dial, read, write, pool
	opt.ContextTimeoutEnabled = true
	opt.MaxRetries, opt.MinRetryBackoff, opt.MaxRetryBackoff = retries, minBackoff, maxBackoff
	opt.DialerRetries, opt.DialerRetryTimeout = dialRetries, dialRetryWait
	opt.DisableIdentity = true // no CLIENT SETINFO round trips on every new connection
	if cfg.PoolSize > 0 {
		opt.PoolSize = cfg.PoolSize
	}
	return redis.NewClient(opt), nil
}

// Ping reports whether Redis answers; ErrUnavailable when it does not.
func (s *Store) Ping(ctx context.Context) error {
	return classify("ping", s.rdb.Ping(ctx).Err())
}
