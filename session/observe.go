package session

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// CommandObserver learns of every command a Redis client sends (metrics.Metrics is one).
type CommandObserver interface {
	// ObserveRedisCommand reports one command: its lower-case name ("pipeline" for a pipeline
	// or a MULTI/EXEC transaction), how long it took as the client saw it (retries included)
	// and whether it failed. A nil reply (redis.Nil) is not a failure. Keys are never passed.
	ObserveRedisCommand(name string, d time.Duration, failed bool)
}

// Observe adds a hook to rdb that reports every command and pipeline to o.
func Observe(rdb redis.UniversalClient, o CommandObserver) {
	rdb.AddHook(observeHook{o})
}

type observeHook struct{ o CommandObserver }

func (h observeHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (h observeHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmd)
		h.o.ObserveRedisCommand(cmd.Name(), time.Since(start), failed(err))
		return err
	}
}

func (h observeHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmds)
		bad := failed(err)
		for _, c := range cmds {
			bad = bad || failed(c.Err())
		}
		h.o.ObserveRedisCommand("pipeline", time.Since(start), bad)
		return err
	}
}

// failed reports whether err is a failure: redis.Nil ("no such key") is an answer.
func failed(err error) bool { return err != nil && !errors.Is(err, redis.Nil) }

// PoolStats is a snapshot of a Redis client's connection pool (summed over the nodes of a
// Cluster). Hits, Misses, Timeouts and StaleConns count since the client was made.
type PoolStats struct {
	Hits, Misses, Timeouts, StaleConns uint32
	TotalConns, IdleConns              uint32
}

// Pool returns rdb's pool statistics; the zero PoolStats for a client that keeps none.
func Pool(rdb redis.UniversalClient) PoolStats {
	s := rdb.PoolStats()
	if s == nil {
		return PoolStats{}
	}
	return PoolStats{Hits: s.Hits, Misses: s.Misses, Timeouts: s.Timeouts, StaleConns: s.StaleConns,
		TotalConns: s.TotalConns, IdleConns: s.IdleConns}
}

// sessionSamples is how many random keys EstimateSessions looks at.
const sessionSamples = 100

// EstimateSessions estimates how many sessions Redis holds without scanning the keyspace: the
// share of session hashes among sessionSamples random keys (RANDOMKEY) times the number of
// keys (DBSIZE), in two round trips. Every key counts, including those of other applications
// sharing the database; the estimate's standard error is about 5% of DBSIZE. In a Cluster,
// DBSIZE sums every primary and the random keys come from random nodes. It returns
// ErrUnavailable when Redis cannot be asked.
func (s *Store) EstimateSessions(ctx context.Context) (float64, error) {
	total, err := s.rdb.DBSize(ctx).Result()
	if err != nil {
		return 0, classify("dbsize", err)
	}
	if total == 0 {
		return 0, nil
	}
	cmds, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for range sessionSamples {
			p.RandomKey(ctx)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) { // Nil: the keys expired meanwhile
		return 0, classify("randomkey", err)
	}
	var seen, hits int
	for _, c := range cmds {
		k, err := c.(*redis.StringCmd).Result()
		if err != nil {
			continue
		}
		seen++
		if s.isSessionKey(k) {
			hits++
		}
	}
	if seen == 0 {
		return 0, nil
	}
	return float64(total) * float64(hits) / float64(seen), nil
}

// isSessionKey reports whether k is a session hash: <prefix>{u:<uid>}:s:<sid>.
func (s *Store) isSessionKey(k string) bool {
	rest, ok := strings.CutPrefix(k, s.keys.prefix+"{u:")
	if !ok {
		return false
	}
	_, sid, ok := strings.Cut(rest, "}:s:")
	return ok && sid != "" && !strings.Contains(sid, ":")
}
