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

// The tests of this file hold a request on the wire (sent with one session's access token) while
// the Client signs out, in, or moves its session, and then let it through: its 401 must never be
// retried with the tokens of another sign-in.

// gate is an HTTP transport that forwards every request to the server, except that it holds
// the next request to a "METHOD /path" named with hold until the test releases it. It records
// the Authorization header of every request, by "METHOD /path".
type gate struct {
	mu      sync.Mutex
	key     string
	reached chan struct{}
	release chan struct{}
	auth    map[string][]string
}

func newGate() *gate { return &gate{auth: map[string][]string{}} }

// client is an *http.Client over the gate, for sdk.WithHTTPClient.
func (g *gate) client() *http.Client { return &http.Client{Transport: g, Timeout: guard} }

// hold holds the next request to key: reached closes when it arrives, release lets it go on
// (also when the test ends).
func (g *gate) hold(t *testing.T, key string) (reached <-chan struct{}, release func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.key, g.reached, g.release = key, make(chan struct{}), make(chan struct{})
	release = sync.OnceFunc(func() { close(g.release) })
	t.Cleanup(release)
	return g.reached, release
}

func (g *gate) sent(key string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.auth[key]...)
}

func (g *gate) RoundTrip(req *http.Request) (*http.Response, error) {
	key := req.Method + " " + req.URL.Path
	g.mu.Lock()
	g.auth[key] = append(g.auth[key], req.Header.Get("Authorization"))
	var reached, release chan struct{}
	if key == g.key {
		g.key, reached, release = "", g.reached, g.release
	}
	g.mu.Unlock()
	if reached != nil {
		close(reached)
		select {
		case <-release:
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	}
	return http.DefaultTransport.RoundTrip(req)
}

type meResult struct {
	user sdk.User
	err  error
}

// goMe starts c.Me and returns where its result will arrive.
func goMe(c *sdk.Client) <-chan meResult {
	done := make(chan meResult, 1)
	go func() {
		u, err := c.Me(context.Background())
		done <- meResult{u, err}
	}()
	return done
}

// TestNoReplayAfterLogoutAndLogin: a call made in A's session, held on the wire while the Client
// signs out and B signs in, gets A's 401 session_revoked as it is: it is not sent again with B's
// token (which would answer with B's account), and B stays signed in.
func TestNoReplayAfterLogoutAndLogin(t *testing.T) {
	ctx := context.Background()
	g := newGate()
	c := newClient(t, "", sdk.WithHTTPClient(g.client()))
	a, apw := newUser(t, c)
	b, bpw := newUser(t, c)
	ga := login(t, c, a, apw)
	reached, release := g.hold(t, "GET /v1/me")
	done := goMe(c)
	<-reached
	if err := c.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	gb := login(t, c, b, bpw)
	release()
	r := <-done

	var p *sdk.Problem
	if r.err == nil || !errors.As(r.err, &p) || p.Code != sdk.CodeSessionRevoked || errors.Is(r.err, sdk.ErrSignedOut) {
		t.Errorf("a call made as %s, answered after signing in as %s: %+v %v; want the 401 session_revoked as it is", a, b, r.user, r.err)
	}
	if sent := g.sent("GET /v1/me"); len(sent) != 1 || sent[0] != "Bearer "+ga.AccessToken {
		t.Errorf("GET /v1/me sent %d times (want once, with A's token); B's token sent: %v", len(sent), len(sent) > 1 && sent[1] == "Bearer "+gb.AccessToken)
	}
	if c.Tokens().AccessToken != gb.AccessToken {
		t.Errorf("A's 401 changed B's tokens: %v", c.Tokens())
	}
	if me, err := c.Me(ctx); err != nil || me.Username != b {
		t.Errorf("me as B: %+v %v", me, err)
	}
}

// TestNoReplayOfTokenExpiredAfterLogin: a call made in A's session gets 401 token_expired after
// B signed in (without a logout): it is not refreshed nor sent again with B's token.
func TestNoReplayOfTokenExpiredAfterLogin(t *testing.T) {
	srv := startTestServer(t, map[string]string{"BOXOFFICE_ACCESS_TTL": "1s"})
	g := newGate()
	c := newClient(t, srv.URL, sdk.WithHTTPClient(g.client()))
	a, apw := newUser(t, c)
	b, bpw := newUser(t, c)
	login(t, c, a, apw)
	reached, release := g.hold(t, "GET /v1/me")
	done := goMe(c) // it may refresh first: A's token lives 1 s
	<-reached
	sentA := g.sent("GET /v1/me")[0]
	waitUntilExpired(t, srv.URL, sentA[len("Bearer "):]) // A's call will get token_expired
	login(t, c, b, bpw)                                  // B's token is fresh
	refreshes := len(g.sent("POST /v1/auth/refresh"))
	release()
	r := <-done

	var p *sdk.Problem
	if !errors.As(r.err, &p) || p.Code != sdk.CodeTokenExpired {
		t.Errorf("a call made as %s, answered token_expired after signing in as %s: %+v %v; want the 401 as it is", a, b, r.user, r.err)
	}
	if sent := g.sent("GET /v1/me"); len(sent) != 1 {
		t.Errorf("GET /v1/me sent %d times, want once", len(sent))
	}
	if n := len(g.sent("POST /v1/auth/refresh")) - refreshes; n != 0 {
		t.Errorf("%d refreshes for a call of the session before", n)
	}
}

// TestHeldCallAfterLogout: a call held on the wire while the Client signs out gets ErrSignedOut
// with the server's session_revoked, and is not sent again.
func TestHeldCallAfterLogout(t *testing.T) {
	g := newGate()
	c := newClient(t, "", sdk.WithHTTPClient(g.client()))
	name, pw := newUser(t, c)
	login(t, c, name, pw)
	reached, release := g.hold(t, "GET /v1/me")
	done := goMe(c)
	<-reached
	if err := c.Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	release()
	r := <-done
	var p *sdk.Problem
	if !errors.Is(r.err, sdk.ErrSignedOut) || !errors.As(r.err, &p) || p.Code != sdk.CodeSessionRevoked {
		t.Errorf("a call answered after the logout: %+v %v; want ErrSignedOut with session_revoked", r.user, r.err)
	}
	if n := len(g.sent("GET /v1/me")); n != 1 {
		t.Errorf("GET /v1/me sent %d times, want once", n)
	}
}

// TestHeldCallAfterPasswordChange: a password change continues the same user's session, so a
// call held on the wire meanwhile (whose old session id the change revoked) is sent again with
// the moved session's token, and succeeds.
func TestHeldCallAfterPasswordChange(t *testing.T) {
	g := newGate()
	c := newClient(t, "", sdk.WithHTTPClient(g.client()))
	name, pw := newUser(t, c)
	first := login(t, c, name, pw)
	reached, release := g.hold(t, "GET /v1/me")
	done := goMe(c)
	<-reached
	moved, err := c.ChangePassword(context.Background(), pw, "a new password")
	if err != nil {
		t.Fatal(err)
	}
	release()
	r := <-done
	if r.err != nil || r.user.Username != name {
		t.Fatalf("a call answered after the password change: %+v %v", r.user, r.err)
	}
	if sent := g.sent("GET /v1/me"); len(sent) != 2 || sent[0] != "Bearer "+first.AccessToken || sent[1] != "Bearer "+moved.AccessToken {
		t.Errorf("GET /v1/me sent %d times; want twice, with the old token then the moved session's", len(sent))
	}
}

// TestWaitingCallAfterLoginOfAnother: a call made in A's session that waits for a Login (of B)
// in progress (A's token is due, and no refresh runs during a Login) fails with ErrSignedOut
// rather than going out with B's token.
func TestWaitingCallAfterLoginOfAnother(t *testing.T) {
	g, clk := newGate(), newClock()
	c := newClient(t, "", sdk.WithHTTPClient(g.client()), sdk.WithClock(clk.Now))
	waiting := make(chan struct{}, 8)
	sdk.SetOnWait(c, func() { waiting <- struct{}{} })
	a, apw := newUser(t, c)
	b, bpw := newUser(t, c)
	login(t, c, a, apw)
	clk.Add(time.Hour) // A's token is due
	reached, release := g.hold(t, "POST /v1/auth/login")
	signedIn := make(chan error, 1)
	go func() {
		_, err := c.Login(context.Background(), sdk.LoginRequest{Username: b, Password: bpw})
		signedIn <- err
	}()
	<-reached
	done := goMe(c)
	<-waiting // Me waits for the Login
	release()
	if err := <-signedIn; err != nil {
		t.Fatal(err)
	}
	r := <-done
	if !errors.Is(r.err, sdk.ErrSignedOut) {
		t.Errorf("a call made as %s that waited for the sign-in of %s: %+v %v; want ErrSignedOut", a, b, r.user, r.err)
	}
	if n := len(g.sent("GET /v1/me")); n != 0 {
		t.Errorf("GET /v1/me sent %d times, want never", n)
	}
	if me, err := c.Me(context.Background()); err != nil || me.Username != b {
		t.Errorf("me as B: %+v %v", me, err)
	}
}

// TestFreshCallDuringPasswordChange: a call whose access token is not due does not wait for a
// password change in progress (held on the wire): it goes out with the token it has and is
// answered, and the Client then holds the moved session's tokens.
func TestFreshCallDuringPasswordChange(t *testing.T) {
	g := newGate()
	c := newClient(t, "", sdk.WithHTTPClient(g.client()))
	name, pw := newUser(t, c)
	first := login(t, c, name, pw)
	reached, release := g.hold(t, "POST /v1/auth/password")
	sdk.SetOnWait(c, func() {
		t.Error("a call with a fresh token waited for the password change")
		release() // no need to wait for the test's end
	})
	changed := make(chan error, 1)
	go func() {
		_, err := c.ChangePassword(context.Background(), pw, "a new password")
		changed <- err
	}()
	<-reached
	r := <-goMe(c) // before the change is let through
	if r.err != nil || r.user.Username != name {
		t.Errorf("me during a password change: %+v %v", r.user, r.err)
	}
	if sent := g.sent("GET /v1/me"); len(sent) != 1 || sent[0] != "Bearer "+first.AccessToken {
		t.Errorf("GET /v1/me sent %d times, want once with the token held", len(sent))
	}
	release()
	if err := <-changed; err != nil {
		t.Fatal(err)
	}
	if c.Tokens().AccessToken == first.AccessToken {
		t.Error("the password change did not move the tokens")
	}
}
