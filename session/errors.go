package session

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// transientReplies are Redis error prefixes that mean "cannot answer now" (or, for the
// authentication errors, "cannot be consulted as configured"), not "bad request": either way
// sessions cannot be checked, which clients must see as 503, never as 401.
var transientReplies = []string{
	"LOADING", "OOM", "READONLY", "CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN", "NOREPLICAS",
	"BUSY", "MISCONF", "NOSCRIPT", "NOAUTH", "WRONGPASS", "NOPERM",
}

// classify turns a go-redis error into ErrUnavailable when Redis could not be consulted
// (network failures, timeouts, a full pool, a closed client, or a transient server reply) and
// into an internal error otherwise (a script bug, a wrong-type key). It never returns the
// error text to clients; the API layer logs it.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var reply redis.Error
	if errors.As(err, &reply) && !errors.Is(err, redis.ErrPoolTimeout) && !errors.Is(err, redis.ErrClosed) {
		msg := reply.Error()
		for _, p := range transientReplies {
			if strings.HasPrefix(msg, p) {
				return fmt.Errorf("%w: %s: %v", ErrUnavailable, op, err)
			}
		}
		return fmt.Errorf("session: %s: %w", op, err)
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("session: %s: %w", op, err)
	}
	return fmt.Errorf("%w: %s: %v", ErrUnavailable, op, err)
}
