package session

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"
)

// Ref names a session and its user.
type Ref struct{ UserID, SessionID string }

// Alive reports, for each session in order, whether it still exists: not revoked, signed out
// or expired. It costs one pipelined EXISTS per session (one round trip per node in Cluster).
// It returns ErrUnavailable when Redis cannot be consulted, never a guess.
func (s *Store) Alive(ctx context.Context, refs []Ref) ([]bool, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.IntCmd, len(refs))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, r := range refs {
			cmds[i] = p.Exists(ctx, s.keys.session(r.UserID, r.SessionID))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, classify("alive", err)
	}
	out := make([]bool, len(refs))
	for i, c := range cmds {
		out[i] = c.Val() == 1
	}
	return out, nil
}
