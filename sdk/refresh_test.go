package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"boxoffice/sdk"
)

// TestTokenExpiredRefreshesAndRetries uses a server whose access tokens live 1 s, and a client
// that resumes a session without knowing when its access token expires, so it never refreshes
// early: once the server rejects the token as expired (after its lifetime and the server's
// leeway, waited for by asking the server), a call gets 401 token_expired, refreshes once and
// succeeds on its retry with the new token.
func TestTokenExpiredRefreshesAndRetries(t *testing.T) {
	ctx := context.Background()
	srv := startTestServer(t, map[string]string{"BOXOFFICE_ACCESS_TTL": "1s"})
	first := newClient(t, srv.URL)
	name, pw := newUser(t, first)
	g := login(t, first, name, pw)
	if g.ExpiresIn > 1 {
		t.Fatalf("expires_in = %d with BOXOFFICE_ACCESS_TTL=1s", g.ExpiresIn)
	}
	rec := newRecorder()
	c := newClient(t, srv.URL, sdk.WithHTTPClient(rec.client()),
		sdk.WithTokens(sdk.Tokens{AccessToken: g.AccessToken, RefreshToken: g.RefreshToken})) // expiry unknown
	waitUntilExpired(t, srv.URL, g.AccessToken)

	s, err := c.Session(ctx)
	if err != nil || s.Id != g.SessionId {
		t.Fatalf("session with an expired access token: %+v %v", s, err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if n := rec.counts["GET /v1/session"]; n != 2 {
		t.Errorf("GET /v1/session sent %d times, want 2 (401 token_expired, then the retry)", n)
	}
	if n := rec.counts["POST /v1/auth/refresh"]; n != 1 {
		t.Errorf("%d refreshes, want 1", n)
	}
	if a := rec.auth["GET /v1/session"]; len(a) != 2 || a[0] != "Bearer "+g.AccessToken || a[1] == a[0] {
		t.Errorf("the retry did not carry a new access token: %q", a)
	}
}

// waitUntilExpired polls the server at base until it answers 401 token_expired to access.
func waitUntilExpired(t *testing.T, base, access string) {
	t.Helper()
	deadline := time.Now().Add(guard)
	for {
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/session", nil)
		req.Header.Set("Authorization", "Bearer "+access)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var p sdk.Problem
		_ = json.NewDecoder(resp.Body).Decode(&p)
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized && p.Code == sdk.CodeTokenExpired {
			return
		}
		if resp.StatusCode != http.StatusOK || time.Now().After(deadline) {
			t.Fatalf("waiting for the access token to expire: %d %s", resp.StatusCode, p.Code)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestRefreshAnswerLost cuts off the first refresh at the transport after the server rotated
// the token: the client retries with the same refresh token, and the server's grace rule
// answers with the session's current tokens, which work for the next refresh.
func TestRefreshAnswerLost(t *testing.T) {
	ctx := context.Background()
	rec := newRecorder()
	c := newClient(t, "", sdk.WithHTTPClient(rec.client()))
	name, pw := newUser(t, c)
	g := login(t, c, name, pw)

	before := refreshesAt(t, metricsURL)
	rec.reset()
	rec.mu.Lock()
	rec.loseNext = 1
	rec.mu.Unlock()
	r, err := c.Refresh(ctx)
	if err != nil {
		t.Fatal("refresh after a lost answer:", err)
	}
	if n := refreshesAt(t, metricsURL) - before; n != 2 {
		t.Errorf("the server answered %v refreshes, want 2", n)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	want := `{"refresh_token":"` + g.RefreshToken + `"}`
	if len(rec.refreshes) != 2 || rec.refreshes[0] != want || rec.refreshes[1] != want {
		t.Fatalf("refresh requests %q, want twice %s", rec.refreshes, want)
	}
	var lost sdk.TokenResponse
	if len(rec.lost) != 1 || json.Unmarshal([]byte(rec.lost[0]), &lost) != nil || lost.RefreshToken == g.RefreshToken {
		t.Fatalf("lost answers: %q", rec.lost)
	}
	if r.RefreshToken != lost.RefreshToken || c.Tokens().RefreshToken != lost.RefreshToken {
		t.Errorf("the retry got refresh token %s, the client keeps %s; want the current one, %s", r.RefreshToken, c.Tokens().RefreshToken, lost.RefreshToken)
	}
}

// TestRefreshAnswerLostThenRefreshAgain: the tokens a retried refresh got are the session's
// current ones: they refresh again and authenticate.
func TestRefreshAnswerLostThenRefreshAgain(t *testing.T) {
	ctx := context.Background()
	rec := newRecorder()
	c := newClient(t, "", sdk.WithHTTPClient(rec.client()))
	name, pw := newUser(t, c)
	login(t, c, name, pw)
	rec.mu.Lock()
	rec.loseNext = 1
	rec.mu.Unlock()
	r, err := c.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := c.Refresh(ctx)
	if err != nil || r2.RefreshToken == r.RefreshToken {
		t.Fatalf("refresh with the token the retry got: %+v %v", r2, err)
	}
	if _, err := c.Session(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestRefreshRetriedAfter503: a refresh answered 503 with Retry-After: 1 (by the transport, so
// the token is not spent) is sent again with the same token, no sooner than a second later.
func TestRefreshRetriedAfter503(t *testing.T) {
	ctx := context.Background()
	rec := newRecorder()
	c := newClient(t, "", sdk.WithHTTPClient(rec.client()))
	name, pw := newUser(t, c)
	g := login(t, c, name, pw)
	before := refreshesAt(t, metricsURL)
	rec.mu.Lock()
	rec.unavailable = 1
	rec.mu.Unlock()
	r, err := c.Refresh(ctx)
	if err != nil || r.RefreshToken == g.RefreshToken {
		t.Fatalf("refresh after a 503: %+v %v", r, err)
	}
	if n := refreshesAt(t, metricsURL) - before; n != 1 {
		t.Errorf("the server answered %v refreshes, want 1", n)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.refreshes) != 2 || rec.refreshes[0] != rec.refreshes[1] {
		t.Fatalf("refresh requests %q, want the same twice", rec.refreshes)
	}
	if gap := rec.refreshedAt[1].Sub(rec.refreshedAt[0]); gap < time.Second {
		t.Errorf("retried after %s, before the Retry-After of 1 s", gap)
	}
}

// TestRefreshEndsSession: a refresh token of a signed-out session gets session_revoked, and the
// client drops its tokens (telling WithOnTokens) and returns ErrSignedOut with the problem.
func TestRefreshEndsSession(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, "")
	name, pw := newUser(t, c)
	login(t, c, name, pw)
	old := c.Tokens()
	if err := c.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	old.Expiry = time.Now() // due: the first call refreshes
	var told []sdk.Tokens
	resumed := newClient(t, "", sdk.WithTokens(old), sdk.WithOnTokens(func(tk sdk.Tokens) { told = append(told, tk) }))
	_, err := resumed.Me(ctx)
	var p *sdk.Problem
	if !errors.Is(err, sdk.ErrSignedOut) || !errors.As(err, &p) || p.Code != sdk.CodeSessionRevoked {
		t.Fatalf("me with a revoked session's due tokens: %v", err)
	}
	if resumed.Tokens() != (sdk.Tokens{}) || len(told) != 1 || told[0] != (sdk.Tokens{}) {
		t.Errorf("tokens %+v, told %+v", resumed.Tokens(), told)
	}
	if _, err := resumed.Refresh(ctx); !errors.Is(err, sdk.ErrSignedOut) {
		t.Errorf("refresh when signed out: %v", err)
	}
}

// TestLogoutWaitsForRefresh runs a logout together with calls that need a (slowed down)
// refresh: the refresh and the logout must never be in flight together, there is one refresh,
// and every call either succeeds or finds the client signed out.
func TestLogoutWaitsForRefresh(t *testing.T) {
	ctx := context.Background()
	rec, clk := newRecorder(), newClock()
	c := newClient(t, "", sdk.WithHTTPClient(rec.client()), sdk.WithClock(clk.Now))
	name, pw := newUser(t, c)
	login(t, c, name, pw)
	clk.Add(time.Hour)
	rec.reset()
	rec.mu.Lock()
	rec.slowRefresh = 200 * time.Millisecond
	rec.mu.Unlock()

	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Go(func() {
			<-start
			if i == 0 {
				errs[i] = c.Logout(ctx)
				return
			}
			if _, err := c.Session(ctx); err != nil && !errors.Is(err, sdk.ErrSignedOut) {
				errs[i] = err
			}
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.overlapped {
		t.Error("a logout was sent while a refresh was in flight")
	}
	if n := rec.counts["POST /v1/auth/refresh"]; n != 1 {
		t.Errorf("%d refreshes, want 1", n)
	}
	if n := rec.counts["POST /v1/auth/logout"]; n != 1 || c.Tokens() != (sdk.Tokens{}) {
		t.Errorf("%d logouts; tokens %+v", n, c.Tokens())
	}
}
