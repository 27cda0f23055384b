package sdk

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// retryPolicy is how a retry-safe exchange (a refresh, a logout, a password change) is repeated
// after a failure at the transport or a 5xx answer: at most attempts tries, waiting backoff after
// the first failure and twice as long after each next one, or what Retry-After asks for when
// that is longer, at most MaxRetryWait.
type retryPolicy struct {
	attempts int
	backoff  time.Duration
}

// do calls send until it returns no error, an error that is final (a 4xx answer, ctx's end, or
// an ended session), or the attempts run out. send returns the answer it got, if any, for its
// Retry-After header.
func do[T any](ctx context.Context, p retryPolicy, what string, send func() (T, *http.Response, error)) (T, error) {
	wait := p.backoff
	for attempt := 1; ; attempt++ {
		v, resp, err := send()
		if err == nil || final(ctx, err) {
			return v, err
		}
		if attempt >= p.attempts {
			return v, fmt.Errorf("boxoffice: %s failed %d times, the last with: %w", what, attempt, err)
		}
		pause := min(max(wait, retryAfter(resp)), MaxRetryWait)
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return v, fmt.Errorf("boxoffice: %s: %w (after %d attempts, the last with: %v)", what, ctx.Err(), attempt, err)
		}
		wait *= 2
	}
}

// final reports whether err ends the retries: the context ended, the session is over, or the
// server gave a 4xx answer. Failures at the transport, 5xx answers and unreadable answers can
// be retried.
func final(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, ErrSignedOut) {
		return true
	}
	var p *Problem
	if errors.As(err, &p) {
		return p.Status < 500
	}
	var s *StatusError
	if errors.As(err, &s) {
		return s.StatusCode < 500
	}
	return false
}

// retryAfter is the wait resp's Retry-After header asks for (seconds or an HTTP date); 0 when
// there is none.
func retryAfter(resp *http.Response) time.Duration {
	if resp == nil {
		return 0
	}
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}
