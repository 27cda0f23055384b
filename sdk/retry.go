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
// after a failure at the transport, a 5xx answer or a status of also: at most attempts tries,
// waiting backoff after the first failure and twice as long after each next one, or what
// Retry-After asks for when that is longer, at most MaxRetryWait. With an attemptTimeout, each
// attempt is cut off after that long. With a budget, no attempt after the first is in progress
// later than budget after the first was sent: each is cut off then (sooner than its
// attemptTimeout if need be), and one that would start with less than minAttemptTime left is
// not made (the retries end with the last attempt's error).
type retryPolicy struct {
	attempts       int
	backoff        time.Duration
	budget         time.Duration // 0: none
	attemptTimeout time.Duration // 0: none
	also           []int         // statuses below 500 that are retried too
}

// do calls send until it returns no error, an error that is final (a 4xx answer not in p.also,
// ctx's end, or an ended session), or the attempts or the budget run out. send gets the
// attempt's context and returns the answer it got, if any, for its Retry-After header; it must
// be done with the answer's body when it returns.
func do[T any](ctx context.Context, p retryPolicy, what string, send func(ctx context.Context) (T, *http.Response, error)) (T, error) {
	wait := p.backoff
	first := time.Now() // no later than the first attempt is sent
	timeout := p.attemptTimeout
	for attempt := 1; ; attempt++ {
		v, resp, err := try(ctx, timeout, send)
		if err == nil || p.final(ctx, err) {
			return v, err
		}
		if attempt >= p.attempts {
			return v, fmt.Errorf("boxoffice: %s failed %d times, the last with: %w", what, attempt, err)
		}
		pause := min(max(wait, retryAfter(resp)), MaxRetryWait)
		if next := time.Since(first) + pause; p.budget > 0 && next > p.budget-minAttemptTime {
			return v, p.spent(what, attempt, next, err)
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return v, fmt.Errorf("boxoffice: %s: %w (after %d attempts, the last with: %v)", what, ctx.Err(), attempt, err)
		}
		wait *= 2
		if p.budget > 0 {
			left := p.budget - time.Since(first)
			if left < minAttemptTime { // the wait ended late
				return v, p.spent(what, attempt, p.budget-left, err)
			}
			if timeout = p.attemptTimeout; timeout <= 0 || timeout > left {
				timeout = left // the attempt ends with the budget
			}
		}
	}
}

// minAttemptTime is the least time left in a retry budget for which an attempt is made.
const minAttemptTime = 100 * time.Millisecond

// spent is the error of retries that ended because the next attempt, starting at next after the
// first, would have less than minAttemptTime of the budget left; last is the last attempt's.
func (p retryPolicy) spent(what string, attempts int, next time.Duration, last error) error {
	return fmt.Errorf("boxoffice: %s failed %d times, not tried again: the next attempt would start %s after the first, "+
		"too late for the retry budget of %s; the last with: %w", what, attempts, next.Round(time.Millisecond), p.budget, last)
}

// try makes one attempt, cut off after timeout (0: none).
func try[T any](ctx context.Context, timeout time.Duration, send func(ctx context.Context) (T, *http.Response, error)) (T, *http.Response, error) {
	if timeout <= 0 {
		return send(ctx)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return send(ctx)
}

// final reports whether err ends the retries: the context ended, the session is over, or the
// server gave a 4xx answer whose status is not in p.also. Failures at the transport (an
// attempt's timeout included), 5xx answers and unreadable answers can be retried.
func (p retryPolicy) final(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, ErrSignedOut) {
		return true
	}
	status := 0
	var pr *Problem
	var s *StatusError
	switch {
	case errors.As(err, &pr):
		status = pr.Status
	case errors.As(err, &s):
		status = s.StatusCode
	default:
		return false
	}
	for _, a := range p.also {
		if status == a {
			return false
		}
	}
	return status < 500
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
