package session

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// runDurable runs a script that revokes or rotates and, when Config.RevocationReplicas is set,
// waits on the same connection (WAIT) until that many replicas hold its writes, so that an
// acknowledged logout survives a failover to a replica. Fewer acknowledgements within
// RevocationWait give ErrUnavailable, with the script's reply (what it did stands on the
// primary, and is recorded): the client retries, and every such script is idempotent. Without
// replicas configured it is run.
func (s *Store) runDurable(ctx context.Context, op string, sc *redis.Script, keys []string, args ...any) (reply, error) {
	if s.cfg.RevocationReplicas <= 0 {
		return s.run(ctx, op, sc, keys, args...)
	}
	var conn redis.Cmdable = s.rdb
	if cc, ok := s.rdb.(*redis.ClusterClient); ok { // WAIT has no key: send it to the key's primary
		node, err := cc.MasterForKey(ctx, keys[0])
		if err != nil {
			return reply{}, classify(op, err)
		}
		conn = node
	}
	var ev *redis.Cmd
	var acks *redis.Cmd
	_, err := conn.Pipelined(ctx, func(p redis.Pipeliner) error {
		ev = sc.Eval(ctx, p, keys, args...) // EVAL: a pipeline cannot fall back from NOSCRIPT
		acks = p.Do(ctx, "WAIT", s.cfg.RevocationReplicas, s.cfg.RevocationWait.Milliseconds())
		return nil
	})
	s.dropCached(keys)
	if err != nil && !errors.Is(err, redis.Nil) {
		return reply{}, classify(op, err)
	}
	r, err := parseReply(ev.Val())
	if err != nil {
		return reply{}, err
	}
	if n, _ := acks.Int64(); n < int64(s.cfg.RevocationReplicas) {
		// The script ran on the primary: its reply goes back with the error, so that what it
		// did is recorded (audit) although the client is told to retry.
		return r, fmt.Errorf("%w: %s acknowledged by %d of %d replicas", ErrUnavailable, op, n, s.cfg.RevocationReplicas)
	}
	return r, nil
}
