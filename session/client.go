package session

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ClientConfig sizes the Redis client for an authentication hot path. Zero values take the
// defaults, which replace go-redis' multi-second ones.
type ClientConfig struct {
	URL          string        // redis://[user:pass@]host:port/db or rediss://...
	DialTimeout  time.Duration // default 500ms
	ReadTimeout  time.Duration // default 300ms
	WriteTimeout time.Duration // default 300ms
	PoolTimeout  time.Duration // wait for a free connection; default 300ms
	PoolSize     int           // default go-redis' 10 per CPU
	MaxRetries   int           // retries of a failed command; default 1 (-1 disables)
}

// NewClient returns a go-redis client for cfg.URL with hot-path timeouts, context deadlines
// honoured and bounded retries. It does not connect; the first command does.
func NewClient(cfg ClientConfig) (redis.UniversalClient, error) {
	opt, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("session: REDIS_URL: %w", err)
	}
	def := func(v, d time.Duration) time.Duration {
		if v <= 0 {
			return d
		}
		return v
	}
	opt.DialTimeout = def(cfg.DialTimeout, 500*time.Millisecond)
	opt.ReadTimeout = def(cfg.ReadTimeout, 300*time.Millisecond)
	opt.WriteTimeout = def(cfg.WriteTimeout, 300*time.Millisecond)
	opt.PoolTimeout = def(cfg.PoolTimeout, 300*time.Millisecond)
	opt.ContextTimeoutEnabled = true
	opt.MaxRetries = cfg.MaxRetries
	if opt.MaxRetries == 0 {
		opt.MaxRetries = 1
	}
	opt.MinRetryBackoff = 8 * time.Millisecond
	opt.MaxRetryBackoff = 64 * time.Millisecond
	opt.DialerRetries = 1 // go-redis defaults to 5 dial attempts 100ms apart per command
	opt.DialerRetryTimeout = 20 * time.Millisecond
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
