package session

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// Throttle limits attempts per subject in fixed windows, atomically across every instance
// sharing the Redis (one script per attempt, no read-modify-write in Go). It is ours rather
// than Fiber's limiter middleware because that one is not atomic across instances and fails
// open when its storage errors; this one fails closed with ErrUnavailable.
type Throttle struct {
	rdb  redis.UniversalClient
	keys keys
	sc   scripts
}

// Throttle returns the attempt limiter sharing s's client and key prefix.
func (s *Store) Throttle() *Throttle { return &Throttle{rdb: s.rdb, keys: s.keys, sc: s.sc} }

// Reservation is the throttle's answer to one attempt.
type Reservation struct {
	OK         bool          // the attempt may proceed
	RetryAfter time.Duration // when refused, how long until the window ends
	// First is set on the first refusal of the subject's window; the later ones are repeats
	// (what they record need not be kept again).
	First bool
}

// Reserve takes one attempt for subject (hashed before use in a key) in kind's window of at
// most limit attempts (below 10^9). It returns ErrUnavailable when Redis cannot be consulted,
// and the caller must refuse the attempt.
func (t *Throttle) Reserve(ctx context.Context, kind, subject string, limit int, window time.Duration) (Reservation, error) {
	res, err := t.sc.throttle.Run(ctx, t.rdb, []string{t.keys.throttle(kind, subject)}, limit, window.Milliseconds()).Int64Slice()
	if err != nil {
		return Reservation{}, classify("throttle", err)
	}
	if len(res) != 3 {
		return Reservation{}, errors.New("session: malformed throttle reply")
	}
	return Reservation{OK: res[0] == 1, RetryAfter: time.Duration(res[1]) * time.Millisecond, First: res[2] == 1}, nil
}

// Release gives back a reserved attempt after it succeeded: reset clears the subject's window
// (an account that logged in), otherwise one attempt is returned (a shared IP).
func (t *Throttle) Release(ctx context.Context, kind, subject string, reset bool) error {
	mode := "one"
	if reset {
		mode = "reset"
	}
	return classify("release", t.sc.release.Run(ctx, t.rdb, []string{t.keys.throttle(kind, subject)}, mode).Err())
}
