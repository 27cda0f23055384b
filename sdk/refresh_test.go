package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
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

// lossyProxy is a reverse proxy before a server that forwards every request; the answers of the
// first lose refreshes it forwards are lost: the server acts on the request and answers, but
// the proxy keeps the answer and holds the connection until the client hangs up.
type lossyProxy struct {
	URL string

	mu       sync.Mutex
	lose     int
	statuses []int    // the server's statuses for the refreshes, in order
	lost     []string // the answers the client never got
}

func newLossyProxy(t *testing.T, base string, lose int) *lossyProxy {
	t.Helper()
	target, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	forward := httputil.NewSingleHostReverseProxy(target)
	stop := make(chan struct{})
	p := &lossyProxy{lose: lose}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/auth/refresh" {
			forward.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		forward.ServeHTTP(rec, r)
		p.mu.Lock()
		p.statuses = append(p.statuses, rec.Code)
		lose := p.lose > 0
		if lose {
			p.lose--
			p.lost = append(p.lost, rec.Body.String())
		}
		p.mu.Unlock()
		if lose {
			select {
			case <-r.Context().Done(): // the client gave up
			case <-stop:
			}
			return
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) }) // before srv.Close, which waits for the handlers
	p.URL = srv.URL
	return p
}

// TestRefreshAnswerNeverComes runs a server with its default grace window (10 s) behind a proxy
// that forwards the first refresh and then never answers, and a Client with New's defaults: the
// attempt is given up after DefaultRefreshAttemptTimeout and retried with the same token inside
// the grace window, so the server answers with the session's current tokens (not
// refresh_token_reused, which would revoke the session).
func TestRefreshAnswerNeverComes(t *testing.T) {
	ctx := context.Background()
	srv := startTestServer(t, map[string]string{"BOXOFFICE_REFRESH_GRACE": ""})
	px := newLossyProxy(t, srv.URL, 1)
	c := newClient(t, px.URL)
	name, pw := newUser(t, c)
	login(t, c, name, pw)

	r, err := c.Refresh(ctx)
	if err != nil {
		t.Fatal("refresh whose first answer never came:", err)
	}
	px.mu.Lock()
	statuses, lost := px.statuses, px.lost
	px.mu.Unlock()
	var first sdk.TokenResponse
	if len(lost) != 1 || json.Unmarshal([]byte(lost[0]), &first) != nil {
		t.Fatalf("lost answers: %q", lost)
	}
	if len(statuses) != 2 || statuses[0] != http.StatusOK || statuses[1] != http.StatusOK {
		t.Errorf("the server answered the refreshes %v, want 200 twice", statuses)
	}
	if r.RefreshToken != first.RefreshToken || c.Tokens().RefreshToken != first.RefreshToken {
		t.Errorf("the retry got another refresh token than the session's current one")
	}
	if _, err := c.Session(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestRefreshRetriesStayInGrace: with the server's default grace window (10 s) and every refresh
// answer lost, the Client stops retrying when its retry budget (8 s after the first attempt) is
// spent: every attempt reaches the server inside the window, so none is taken for a reuse and
// the session lives on. The refresh fails without ending the session, and the Client keeps its
// tokens.
func TestRefreshRetriesStayInGrace(t *testing.T) {
	ctx := context.Background()
	srv := startTestServer(t, map[string]string{"BOXOFFICE_REFRESH_GRACE": ""})
	px := newLossyProxy(t, srv.URL, 100)
	c := newClient(t, px.URL)
	name, pw := newUser(t, c)
	login(t, c, name, pw)
	before := c.Tokens()

	_, err := c.Refresh(ctx)
	if err == nil || errors.Is(err, sdk.ErrSignedOut) {
		t.Fatalf("refresh whose answers never came: %v; want a failure that keeps the session", err)
	}
	if c.Tokens() != before {
		t.Errorf("the failed refresh changed the tokens")
	}
	px.mu.Lock()
	statuses, lost := px.statuses, px.lost
	px.mu.Unlock()
	// Attempts start at 0 s, 3.25 s and 6.75 s at the earliest (each waits for its 3 s timeout,
	// then 0.25 s, 0.5 s, 1 s): a fourth would start at 10.75 s at the earliest, past the budget.
	if len(statuses) == 0 || len(statuses) > 3 {
		t.Errorf("%d attempts, want 1 to 3", len(statuses))
	}
	for i, s := range statuses {
		if s != http.StatusOK {
			t.Errorf("the server answered attempt %d with %d, want 200 (inside the grace window)", i+1, s)
		}
	}
	var last sdk.TokenResponse
	if len(lost) == 0 || json.Unmarshal([]byte(lost[len(lost)-1]), &last) != nil {
		t.Fatalf("lost answers: %q", lost)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/session", nil)
	req.Header.Set("Authorization", "Bearer "+last.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the session after the lost refreshes: %d, want 200 (not revoked)", resp.StatusCode)
	}
}

// TestRefreshNotRetriedPastBudget: a refresh answered 503 with a Retry-After (9 s) that would
// put the retry past the retry budget (8 s) is not retried: the refresh fails at once with the
// 503, not signed out, and the Client keeps its tokens. With WithRefreshGrace(0) (a server
// without a grace window) a refresh is never retried.
func TestRefreshNotRetriedPastBudget(t *testing.T) {
	for _, tc := range []struct {
		name       string
		opts       []sdk.Option
		retryAfter string
	}{
		{"Retry-After past the budget", nil, "9"},
		{"no grace window", []sdk.Option{sdk.WithRefreshGrace(0)}, "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			rec := newRecorder()
			c := newClient(t, "", append(tc.opts, sdk.WithHTTPClient(rec.client()))...)
			name, pw := newUser(t, c)
			login(t, c, name, pw)
			before := c.Tokens()
			rec.mu.Lock()
			rec.unavailable, rec.retryAfter = 1, tc.retryAfter
			rec.mu.Unlock()

			_, err := c.Refresh(ctx)
			var p *sdk.Problem
			if !errors.As(err, &p) || p.Status != http.StatusServiceUnavailable || errors.Is(err, sdk.ErrSignedOut) {
				t.Fatalf("refresh answered 503: %v; want the 503", err)
			}
			if n := rec.count("POST /v1/auth/refresh"); n != 1 {
				t.Errorf("%d refresh attempts, want 1", n)
			}
			if c.Tokens() != before {
				t.Errorf("the failed refresh changed the tokens")
			}
			if _, err := c.Refresh(ctx); err != nil {
				t.Errorf("the kept tokens do not refresh: %v", err)
			}
		})
	}
}

// TestRefreshRetriedAfter429: a refresh answered 429 with Retry-After: 1 (the token was not
// rotated) is sent again with the same token a second later, and succeeds.
func TestRefreshRetriedAfter429(t *testing.T) {
	ctx := context.Background()
	rec := newRecorder()
	c := newClient(t, "", sdk.WithHTTPClient(rec.client()))
	name, pw := newUser(t, c)
	g := login(t, c, name, pw)
	rec.reset()
	rec.mu.Lock()
	rec.tooMany = 1
	rec.mu.Unlock()
	r, err := c.Refresh(ctx)
	if err != nil || r.RefreshToken == g.RefreshToken {
		t.Fatalf("refresh after a 429: %+v %v", r, err)
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
