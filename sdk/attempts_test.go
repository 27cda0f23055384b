package sdk_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"boxoffice/sdk"
)

// The tests of this file check how long the attempts of a refresh and of a session change may
// go on: a refresh token must never reach the server after the grace window of its first use.

// slowDial is a transport whose first refresh reaches the server, which rotates the token, but
// whose answer is lost; every later refresh is written only at late after the first was sent
// (a slow dial), unless the attempt is given up before. It records, for each later refresh,
// the deadline of its attempt and, when it was written, when.
type slowDial struct {
	late time.Duration

	mu        sync.Mutex
	first     time.Time
	deadlines []time.Time // of the attempts after the first; zero: none
	written   []time.Duration
}

func (s *slowDial) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Path != "/v1/auth/refresh" {
		return http.DefaultTransport.RoundTrip(req)
	}
	s.mu.Lock()
	if s.first.IsZero() {
		s.first = time.Now()
		s.mu.Unlock()
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		resp.Body.Close() // applied, but the answer is lost
		return nil, errors.New("slowDial: connection reset before the answer arrived")
	}
	dl, _ := req.Context().Deadline()
	s.deadlines = append(s.deadlines, dl)
	at := s.first.Add(s.late)
	s.mu.Unlock()
	select {
	case <-time.After(time.Until(at)):
	case <-req.Context().Done():
		return nil, req.Context().Err() // given up before it was written
	}
	s.mu.Lock()
	s.written = append(s.written, time.Since(s.first))
	s.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

// TestRetryCutOffAtBudget: with a grace window of 1 s (a retry budget of 800 ms), a refresh
// whose first answer is lost is retried, but the retry is given up when the budget is spent,
// before its slow dial would write it after the grace window (at 1.2 s), where the server
// would take it for a reuse and revoke the session. The refresh fails without signing out and
// the Client keeps its tokens.
func TestRetryCutOffAtBudget(t *testing.T) {
	const grace, budget = time.Second, 800 * time.Millisecond
	srv := startTestServer(t, map[string]string{"BOXOFFICE_REFRESH_GRACE": "1s"})
	sd := &slowDial{late: grace + 200*time.Millisecond}
	c := newClient(t, srv.URL, sdk.WithHTTPClient(&http.Client{Transport: sd, Timeout: guard}),
		sdk.WithRefreshGrace(grace), sdk.WithRefreshRetry(4, 100*time.Millisecond))
	name, pw := newUser(t, c)
	login(t, c, name, pw)
	before := c.Tokens()

	_, err := c.Refresh(context.Background())
	if err == nil || errors.Is(err, sdk.ErrSignedOut) {
		t.Fatalf("refresh whose retries could not be written in time: %v; want a failure that keeps the session", err)
	}
	if c.Tokens() != before {
		t.Errorf("the failed refresh changed the tokens")
	}
	sd.mu.Lock()
	defer sd.mu.Unlock()
	if len(sd.written) > 0 {
		t.Errorf("retries written %v after the first, past the retry budget of %s", sd.written, budget)
	}
	for i, dl := range sd.deadlines {
		if dl.IsZero() || dl.After(sd.first.Add(budget)) {
			t.Errorf("attempt %d may go on until %s after the first, past the retry budget of %s", i+2, dl.Sub(sd.first), budget)
		}
	}
}

// TestWaitersGetFailedInlineRefresh: a ChangePassword whose token is due refreshes first, and
// every refresh answer is lost (the server rotates the token each time, within its grace
// window of 1 s). A Me that waited for the ChangePassword gets the refresh's failure: it does not
// send the same refresh token again with a retry budget of its own, which would reach the
// server after the grace window and revoke the session. No refresh is sent later than the
// retry budget after the first.
func TestWaitersGetFailedInlineRefresh(t *testing.T) {
	const budget = 800 * time.Millisecond
	srv := startTestServer(t, map[string]string{"BOXOFFICE_REFRESH_GRACE": "1s"})
	rec, clk := newRecorder(), newClock()
	rec.next = newGate()
	c := newClient(t, srv.URL, sdk.WithHTTPClient(rec.client()), sdk.WithClock(clk.Now),
		sdk.WithRefreshGrace(time.Second), sdk.WithRefreshRetry(4, 100*time.Millisecond))
	waiting := make(chan struct{}, 8)
	sdk.SetOnWait(c, func() { waiting <- struct{}{} })
	name, pw := newUser(t, c)
	login(t, c, name, pw)
	before := c.Tokens()
	clk.Add(time.Hour) // due
	rec.mu.Lock()
	rec.loseNext = 100
	rec.mu.Unlock()
	reached, release := rec.next.(*gate).hold(t, "POST /v1/auth/refresh")

	changed := make(chan error, 1)
	go func() {
		_, err := c.ChangePassword(context.Background(), pw, pw+" changed")
		changed <- err
	}()
	<-reached // the ChangePassword's refresh
	done := goMe(c)
	<-waiting // Me waits for the ChangePassword
	release()
	changeErr, r := <-changed, <-done

	if changeErr == nil || errors.Is(changeErr, sdk.ErrSignedOut) {
		t.Errorf("password change whose refresh failed: %v; want the refresh's failure", changeErr)
	}
	if r.err == nil || errors.Is(r.err, sdk.ErrSignedOut) {
		t.Errorf("me that waited for the failed refresh: %+v %v; want the refresh's failure", r.user, r.err)
	}
	if c.Tokens() != before {
		t.Errorf("the failed refresh changed the tokens")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for i, at := range rec.refreshedAt {
		if d := at.Sub(rec.refreshedAt[0]); d > budget {
			t.Errorf("refresh %d of %d sent %s after the first, past the retry budget of %s", i+1, len(rec.refreshedAt), d, budget)
		}
	}
	if n := rec.counts["POST /v1/auth/password"]; n != 0 {
		t.Errorf("the password change was sent %d times without a fresh token", n)
	}
}

// TestSessionChangeAttemptTimeout: every attempt of Logout, LogoutAll and ChangePassword is
// cut off after sdk.SessionChangeAttemptTimeout.
func TestSessionChangeAttemptTimeout(t *testing.T) {
	var mu sync.Mutex
	deadlines := map[string]time.Duration{}
	rt := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if dl, ok := req.Context().Deadline(); ok {
			mu.Lock()
			deadlines[req.URL.Path] = time.Until(dl)
			mu.Unlock()
		}
		return http.DefaultTransport.RoundTrip(req)
	})
	ctx := context.Background()
	c := newClient(t, "", sdk.WithHTTPClient(&http.Client{Transport: rt}))
	name, pw := newUser(t, c)
	login(t, c, name, pw)
	if _, err := c.ChangePassword(ctx, pw, pw+" changed"); err != nil {
		t.Fatal(err)
	}
	if err := c.LogoutAll(ctx); err != nil {
		t.Fatal(err)
	}
	login(t, c, name, pw+" changed")
	if err := c.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, path := range []string{"/v1/auth/password", "/v1/auth/logout-all", "/v1/auth/logout"} {
		if d, ok := deadlines[path]; !ok || d > sdk.SessionChangeAttemptTimeout {
			t.Errorf("POST %s: attempt deadline in %v (set: %v), want at most %s", path, d, ok, sdk.SessionChangeAttemptTimeout)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
