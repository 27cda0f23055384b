package accounts_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"boxoffice/accounts"
	"boxoffice/auth"
	"boxoffice/session"
	"boxoffice/session/sessiontest"
)

// fixture is an accounts.Service over a throwaway Redis with cheap password hashing.
type fixture struct {
	svc   *accounts.Service
	store *session.Store
	ctx   context.Context
	gate  *gatedHasher
}

// gatedHasher is auth.Passwords that, when armed, stops a Verify after it succeeded until the
// test lets it go: it opens the window between a sign-in's password check and its session.
type gatedHasher struct {
	*auth.Passwords
	mu       sync.Mutex
	armed    bool
	verified chan struct{}
	release  chan struct{}
}

func (g *gatedHasher) arm() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.armed, g.verified, g.release = true, make(chan struct{}), make(chan struct{})
}

func (g *gatedHasher) Verify(ctx context.Context, encoded, pw string) (bool, error) {
	rehash, err := g.Passwords.Verify(ctx, encoded, pw)
	g.mu.Lock()
	armed := g.armed
	g.armed = false
	g.mu.Unlock()
	if armed && err == nil {
		close(g.verified)
		<-g.release
	}
	return rehash, err
}

func newFixture(t *testing.T, limits accounts.Limits) *fixture {
	t.Helper()
	r := sessiontest.Start(t)
	rdb, err := session.NewClient(session.ClientConfig{URL: r.URL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	store, err := session.New(rdb, session.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	keys, err := auth.NewKeyRing([]byte("accounts-test-secret-0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.NewTokens(auth.TokenConfig{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	gate := &gatedHasher{Passwords: auth.NewPasswords(auth.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}, 4)}
	svc := &accounts.Service{Users: store.Users(), Sessions: store, Throttle: store.Throttle(),
		Passwords: gate, Tokens: tokens, RefreshTokens: auth.NewRefreshTokens(keys),
		Devices: auth.NewDeviceTokens(keys), Limits: limits}
	return &fixture{svc: svc, store: store, ctx: context.Background(), gate: gate}
}

// register stores a user with password pw.
func (f *fixture) register(t *testing.T, name, pw string) auth.User {
	t.Helper()
	h, err := f.gate.Hash(f.ctx, pw)
	if err != nil {
		t.Fatal(err)
	}
	u := auth.User{ID: auth.NewID(), Username: name, PasswordHash: h, CreatedAt: time.Now()}
	if err := f.store.Users().CreateUser(f.ctx, u); err != nil {
		t.Fatal(err)
	}
	return u
}

func (f *fixture) login(t *testing.T, name, pw, ip string) accounts.Grant {
	t.Helper()
	g, err := f.svc.Login(f.ctx, accounts.LoginInput{Username: name, Password: pw, IP: ip})
	if err != nil {
		t.Fatalf("login %s from %s: %v", name, ip, err)
	}
	return g
}

// live lists the ids of the user's live sessions.
func (f *fixture) live(t *testing.T, u auth.User, caller string) map[string]bool {
	t.Helper()
	list, _, err := f.store.List(f.ctx, u.ID, caller, session.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, s := range list {
		out[s.ID] = true
	}
	return out
}

// TestLoginRacingPasswordChange: a sign-in that verified the old password before a password
// change, and reaches the session store after it, creates no session — the deterministic form
// of the race seen with two login loops against a change. Without the credential epoch check
// in create.lua this sign-in succeeds with the old password after the change answered.
func TestLoginRacingPasswordChange(t *testing.T) {
	f := newFixture(t, accounts.Limits{})
	u := f.register(t, "racer", "old-password-1")
	owner := f.login(t, "racer", "old-password-1", "192.0.2.1")

	f.gate.arm()
	type result struct {
		g   accounts.Grant
		err error
	}
	done := make(chan result, 1)
	go func() {
		g, err := f.svc.Login(f.ctx, accounts.LoginInput{Username: "racer", Password: "old-password-1", IP: "192.0.2.2"})
		done <- result{g, err}
	}()
	<-f.gate.verified // the racing sign-in has verified the old password
	changed, err := f.svc.ChangePassword(f.ctx, accounts.PasswordInput{UserID: u.ID, SessionID: owner.Session.ID,
		Current: "old-password-1", New: "new-password-2", IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	close(f.gate.release)
	r := <-done
	if !errors.Is(r.err, accounts.ErrInvalidCredentials) {
		t.Fatalf("sign-in that verified the old password before the change: %+v, %v; want ErrInvalidCredentials", r.g.Session.ID, r.err)
	}
	if live := f.live(t, u, changed.Session.ID); len(live) != 1 || !live[changed.Session.ID] {
		t.Fatalf("live sessions after the change: %v, want only the changer's", live)
	}
	f.login(t, "racer", "new-password-2", "192.0.2.2")
}

// TestChangePasswordRetryResumes: a client whose password change went through but whose
// answer was lost repeats it with its old token and gets the same new session and tokens; once
// those tokens are used, a repeat gets session_revoked; a repeat with a wrong new password
// gets session_revoked too.
func TestChangePasswordRetryResumes(t *testing.T) {
	f := newFixture(t, accounts.Limits{})
	u := f.register(t, "retrier", "old-password-1")
	g := f.login(t, "retrier", "old-password-1", "192.0.2.1")
	in := accounts.PasswordInput{UserID: u.ID, SessionID: g.Session.ID, Current: "old-password-1",
		New: "new-password-2", IP: "192.0.2.1"}
	first, err := f.svc.ChangePassword(f.ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.svc.ChangePassword(f.ctx, in)
	if err != nil || again.Session.ID != first.Session.ID || again.RefreshToken != first.RefreshToken {
		t.Fatalf("repeat: %v (session %s, want %s; same refresh token: %v)", err, again.Session.ID,
			first.Session.ID, again.RefreshToken == first.RefreshToken)
	}
	wrong := in
	wrong.New = "not-the-new-password"
	if _, err := f.svc.ChangePassword(f.ctx, wrong); !errors.Is(err, session.ErrRevoked) {
		t.Fatalf("repeat with another new password: %v, want ErrRevoked", err)
	}
	rt, err := f.svc.RefreshTokens.Parse(first.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Refresh(f.ctx, rt, "req-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ChangePassword(f.ctx, in); !errors.Is(err, session.ErrRevoked) {
		t.Fatalf("repeat after the new session was used: %v, want ErrRevoked", err)
	}
}

// TestChangePasswordByRevokedSessionChangesNothing: a caller revoked meanwhile gets ErrRevoked
// and the password stays the old one.
func TestChangePasswordByRevokedSessionChangesNothing(t *testing.T) {
	f := newFixture(t, accounts.Limits{})
	u := f.register(t, "gone", "old-password-1")
	g := f.login(t, "gone", "old-password-1", "192.0.2.1")
	if err := f.store.Revoke(f.ctx, u.ID, g.Session.ID, g.Session.ID, session.ReasonLogout); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.ChangePassword(f.ctx, accounts.PasswordInput{UserID: u.ID, SessionID: g.Session.ID,
		Current: "old-password-1", New: "new-password-2", IP: "192.0.2.1"})
	if !errors.Is(err, session.ErrRevoked) {
		t.Fatalf("change by a revoked session: %v", err)
	}
	f.login(t, "gone", "old-password-1", "192.0.2.1")
}

// TestOwnerNotLockedOut: failures from many networks spend the account-wide window; the owner
// still signs in from a device or network they used before, but not from an unknown one, and
// a device token of another user does not help.
func TestOwnerNotLockedOut(t *testing.T) {
	f := newFixture(t, accounts.Limits{PerAccount: 3, PerAccountGlobal: 6, PerIP: 1000, Window: time.Hour})
	f.register(t, "victim", "owner-password-1")
	f.register(t, "mallory", "mallory-password")
	home := f.login(t, "victim", "owner-password-1", "198.51.100.1") // known network and device
	other := f.login(t, "mallory", "mallory-password", "203.0.113.9")
	for ip := 0; ip < 2; ip++ { // 2 networks × 3 failures spend the account-wide 6
		for i := 0; i < 3; i++ {
			_, err := f.svc.Login(f.ctx, accounts.LoginInput{Username: "victim", Password: "guess", IP: "203.0.113." + string(rune('1'+ip))})
			if !errors.Is(err, accounts.ErrInvalidCredentials) {
				t.Fatalf("guess %d from network %d: %v", i, ip, err)
			}
		}
	}
	var te *accounts.ThrottledError
	_, err := f.svc.Login(f.ctx, accounts.LoginInput{Username: "victim", Password: "owner-password-1", IP: "192.0.2.77"})
	if !errors.As(err, &te) || te.RetryAfter < 50*time.Minute {
		t.Fatalf("unknown device on an unknown network: %v, want throttled for the window", err)
	}
	_, err = f.svc.Login(f.ctx, accounts.LoginInput{Username: "victim", Password: "owner-password-1", IP: "192.0.2.77",
		DeviceToken: other.DeviceToken})
	if !errors.As(err, &te) {
		t.Fatalf("another user's device token: %v, want throttled", err)
	}
	g, err := f.svc.Login(f.ctx, accounts.LoginInput{Username: "victim", Password: "owner-password-1", IP: "192.0.2.77",
		DeviceToken: home.DeviceToken})
	if err != nil || g.DeviceToken != home.DeviceToken {
		t.Fatalf("known device on a new network: %v", err)
	}
	if _, err := f.svc.Login(f.ctx, accounts.LoginInput{Username: "victim", Password: "owner-password-1", IP: "198.51.100.1"}); err != nil {
		t.Fatalf("known network without a device token: %v", err)
	}
	// A stolen device token still only buys its own window.
	for i := 0; i < 3; i++ {
		if _, err := f.svc.Login(f.ctx, accounts.LoginInput{Username: "victim", Password: "guess", IP: "192.0.2.100",
			DeviceToken: home.DeviceToken}); !errors.Is(err, accounts.ErrInvalidCredentials) {
			t.Fatalf("guess %d with a device token: %v", i, err)
		}
	}
	if _, err := f.svc.Login(f.ctx, accounts.LoginInput{Username: "victim", Password: "guess", IP: "192.0.2.101",
		DeviceToken: home.DeviceToken}); !errors.As(err, &te) {
		t.Fatalf("guessing past the device token's window: %v, want throttled", err)
	}
}

// TestRefreshGraceHandsOutCurrentToken: a token rotated twice since, presented inside its own
// window, gets the current refresh token (no rotation, no revocation).
func TestRefreshGraceHandsOutCurrentToken(t *testing.T) {
	f := newFixture(t, accounts.Limits{})
	f.register(t, "tabs", "tabs-password-1")
	g0 := f.login(t, "tabs", "tabs-password-1", "192.0.2.1")
	tok := g0.RefreshToken
	var grants []accounts.Grant
	for i := 0; i < 2; i++ {
		rt, err := f.svc.RefreshTokens.Parse(tok)
		if err != nil {
			t.Fatal(err)
		}
		g, err := f.svc.Refresh(f.ctx, rt, "r"+tok[:10])
		if err != nil {
			t.Fatal(err)
		}
		grants = append(grants, g)
		tok = g.RefreshToken
	}
	rt0, _ := f.svc.RefreshTokens.Parse(g0.RefreshToken)
	g, err := f.svc.Refresh(f.ctx, rt0, "late-tab")
	if err != nil || g.RefreshToken != grants[1].RefreshToken {
		t.Fatalf("T0 after T0→T1→T2: %v; got the current token: %v", err, g.RefreshToken == grants[1].RefreshToken)
	}
	if _, err := f.svc.Tokens.Verify(g.AccessToken); err != nil {
		t.Fatal(err)
	}
}
