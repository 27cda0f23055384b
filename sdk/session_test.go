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

// TestSessionLifecycle signs in, reads and patches the session data (with If-Match, and with a
// stale version), makes the access token due through the client's clock and has 10 goroutines
// read the session at once: exactly one refresh must reach the server (counted by the server's
// metrics and by the client's transport). Then it signs out: later calls fail with
// ErrSignedOut, and the old tokens with session_revoked.
func TestSessionLifecycle(t *testing.T) {
	ctx := context.Background()
	rec, clk := newRecorder(), newClock()
	var mu sync.Mutex
	var saved []sdk.Tokens
	c := newClient(t, "", sdk.WithHTTPClient(rec.client()), sdk.WithClock(clk.Now),
		sdk.WithOnTokens(func(tk sdk.Tokens) { mu.Lock(); saved = append(saved, tk); mu.Unlock() }))
	name, pw := newUser(t, c)
	g := login(t, c, name, pw)
	if tk := c.Tokens(); tk.AccessToken != g.AccessToken || tk.RefreshToken != g.RefreshToken ||
		!tk.Expiry.Equal(clk.Now().Add(time.Duration(g.ExpiresIn)*time.Second)) || len(saved) != 1 || saved[0] != tk {
		t.Fatalf("after login: tokens %+v, saved %+v, grant %+v", tk, saved, g)
	}

	s0, err := c.Session(ctx)
	if err != nil || s0.Id != g.SessionId || s0.Version != `"0"` || len(s0.Data) != 0 {
		t.Fatalf("session: %+v %v", s0, err)
	}
	s1, err := c.PatchSessionData(ctx, sdk.SessionDataPatch{"cart": map[string]any{"show": 7, "seats": []string{"C3", "C4"}}}, s0.Version)
	if err != nil || s1.Version == s0.Version || s1.Version == "" || s1.Data["cart"] == nil {
		t.Fatalf("patch with If-Match %s: %+v %v", s0.Version, s1, err)
	}
	_, err = c.PatchSessionData(ctx, sdk.SessionDataPatch{"cart": nil}, s0.Version)
	var p *sdk.Problem
	if !errors.As(err, &p) || p.Code != sdk.CodePreconditionFailed || p.Status != http.StatusPreconditionFailed || errors.Is(err, sdk.ErrSignedOut) {
		t.Fatalf("patch with the stale If-Match %s: %v", s0.Version, err)
	}
	if s, err := c.Session(ctx); err != nil || s.Version != s1.Version || s.Data["cart"] == nil {
		t.Fatalf("the stale patch changed the data: %+v %v", s, err)
	}

	// The access token is due (its expiry is past by the client's clock): 10 concurrent calls,
	// one refresh.
	clk.Add(time.Hour)
	before := refreshesAt(t, metricsURL)
	rec.reset()
	old := c.Tokens()
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Go(func() {
			<-start
			s, err := c.Session(ctx)
			if err == nil && (s.Id != g.SessionId || s.Version != s1.Version) {
				err = errors.New("another session or version: " + s.Id + " " + s.Version)
			}
			errs[i] = err
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if n := refreshesAt(t, metricsURL) - before; n != 1 {
		t.Errorf("the server answered %v refreshes, want exactly 1", n)
	}
	if n := rec.count("POST /v1/auth/refresh"); n != 1 {
		t.Errorf("the client sent %d refreshes, want exactly 1", n)
	}
	if n := rec.count("GET /v1/session"); n != 10 {
		t.Errorf("the client sent GET /v1/session %d times, want 10 (no retries)", n)
	}
	now := c.Tokens()
	if now.RefreshToken == old.RefreshToken || now.AccessToken == old.AccessToken || !now.Expiry.After(clk.Now()) {
		t.Errorf("tokens after the refresh: %+v (before: %+v)", now, old)
	}
	mu.Lock()
	if len(saved) != 2 || saved[1] != now {
		t.Errorf("WithOnTokens got %d calls, want 2 (login, refresh) ending with the current tokens", len(saved))
	}
	mu.Unlock()

	if err := c.Logout(ctx); err != nil {
		t.Fatal("logout:", err)
	}
	if tk := c.Tokens(); tk != (sdk.Tokens{}) {
		t.Errorf("tokens after logout: %+v", tk)
	}
	mu.Lock()
	if saved[len(saved)-1] != (sdk.Tokens{}) {
		t.Errorf("WithOnTokens was not told about the logout: %+v", saved[len(saved)-1])
	}
	mu.Unlock()
	rec.reset()
	if _, err := c.Session(ctx); !errors.Is(err, sdk.ErrSignedOut) || errors.As(err, &p) {
		t.Errorf("session after logout: %v, want ErrSignedOut without a problem", err)
	}
	if n := rec.count("GET /v1/session"); n != 0 {
		t.Errorf("a signed-out client sent %d requests", n)
	}
	// A client resuming the tokens of the ended session learns it from the server.
	stale := newClient(t, "", sdk.WithTokens(now))
	_, err = stale.Session(ctx)
	if !errors.Is(err, sdk.ErrSignedOut) || !errors.As(err, &p) || p.Code != sdk.CodeSessionRevoked || p.Status != http.StatusUnauthorized {
		t.Fatalf("session with the tokens of a signed-out session: %v", err)
	}
	if tk := stale.Tokens(); tk != (sdk.Tokens{}) {
		t.Errorf("the session is over, yet the client keeps %+v", tk)
	}
}
