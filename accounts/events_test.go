package accounts_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"boxoffice/accounts"
	"boxoffice/audit"
	"boxoffice/audit/redisaudit"
	"boxoffice/auth"
	"boxoffice/session"
	"boxoffice/session/sessiontest"
)

// tape keeps every event recorded, filled from the request context as a real recorder would.
type tape struct {
	mu     sync.Mutex
	events []audit.Event
}

func (r *tape) Record(ctx context.Context, e audit.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, audit.Fill(ctx, e, time.Now))
}

// take returns the events recorded since the last take.
func (r *tape) take() []audit.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	return out
}

// summary is "type/outcome/reason" per event, in order.
func summary(es []audit.Event) string {
	var parts []string
	for _, e := range es {
		parts = append(parts, fmt.Sprintf("%s/%s/%s", e.Type, e.Outcome, e.Reason))
	}
	return strings.Join(parts, " ")
}

// auditFixture is newFixture with both the account flows and the session store recording on
// one tape, a session cap of maxSessions and no refresh grace (a spent token is reuse at once).
func auditFixture(t *testing.T, limits accounts.Limits, maxSessions int) (*fixture, *tape) {
	t.Helper()
	r := sessiontest.Start(t)
	rdb, err := session.NewClient(session.ClientConfig{URL: r.URL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	rec := &tape{}
	cfg := session.DefaultConfig()
	cfg.Audit, cfg.MaxSessions, cfg.RefreshGrace = rec, maxSessions, 0
	store, err := session.New(rdb, cfg)
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
		Devices: auth.NewDeviceTokens(keys), Limits: limits, Audit: rec}
	ctx := audit.WithRequest(context.Background(), audit.Request{RequestID: "req-1", TraceID: "trace-1"})
	return &fixture{svc: svc, store: store, ctx: ctx, gate: gate}, rec
}

// TestLoginEvents: a sign-in records one event with who, from where and how it went: success
// with the new session; a wrong password with the account; an unknown user with no account and
// never the name tried; a spent window as a lock naming the limit.
func TestLoginEvents(t *testing.T) {
	f, rec := auditFixture(t, accounts.Limits{PerAccount: 2, PerIP: 1000, Window: time.Hour}, 50)
	u := f.register(t, "ada", "ada-password-1")
	in := accounts.LoginInput{Username: "ada", Password: "ada-password-1", IP: "198.51.100.7", UserAgent: "agent/1"}
	g, err := f.svc.Login(f.ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	want := audit.Event{Type: audit.LoginSuccess, Outcome: audit.Success, UserID: u.ID, SessionID: g.Session.ID,
		IP: "198.51.100.7", UserAgent: "agent/1", RequestID: "req-1", TraceID: "trace-1"}
	got := rec.take()
	if len(got) != 1 || got[0].At.IsZero() {
		t.Fatalf("success: %+v", got)
	}
	got[0].At = time.Time{}
	if got[0] != want {
		t.Fatalf("success = %+v\nwant %+v", got[0], want)
	}

	bad := in
	bad.Password = "wrong-password"
	for range 2 {
		if _, err := f.svc.Login(f.ctx, bad); !errors.Is(err, accounts.ErrInvalidCredentials) {
			t.Fatal(err)
		}
	}
	var te *accounts.ThrottledError
	if _, err := f.svc.Login(f.ctx, bad); !errors.As(err, &te) {
		t.Fatalf("third guess: %v, want throttled", err)
	}
	got = rec.take()
	if s := summary(got); s != "authn_login_fail/failure/bad_password authn_login_fail/failure/bad_password authn_login_lock/failure/account" {
		t.Fatalf("guesses: %s", s)
	}
	for _, e := range got {
		if e.UserID != u.ID || e.SessionID != "" || e.IP != "198.51.100.7" || e.RequestID != "req-1" {
			t.Fatalf("guess event %+v", e)
		}
	}

	secretName := "correct-horse-typed-as-a-name"
	if _, err := f.svc.Login(f.ctx, accounts.LoginInput{Username: secretName, Password: "x-password", IP: "198.51.100.8"}); !errors.Is(err, accounts.ErrInvalidCredentials) {
		t.Fatal(err)
	}
	got = rec.take()
	if summary(got) != "authn_login_fail/failure/unknown_user" || got[0].UserID != "" {
		t.Fatalf("unknown user: %+v", got)
	}
	if b, _ := json.Marshal(got); strings.Contains(string(b), secretName) || strings.Contains(string(b), "x-password") {
		t.Fatalf("the event holds what was typed: %s", b)
	}
}

// TestNetworkLockNamesNoAccount: a network over its limit is locked for every account; the
// event names the network's limit and no account.
func TestNetworkLockNamesNoAccount(t *testing.T) {
	f, rec := auditFixture(t, accounts.Limits{PerIP: 1, Window: time.Hour}, 50)
	f.register(t, "bea", "bea-password-1")
	f.svc.Login(f.ctx, accounts.LoginInput{Username: "bea", Password: "nope-nope", IP: "203.0.113.50"})
	f.svc.Login(f.ctx, accounts.LoginInput{Username: "bea", Password: "nope-nope", IP: "203.0.113.50"})
	got := rec.take()
	if summary(got) != "authn_login_fail/failure/bad_password authn_login_lock/failure/network" || got[1].UserID != "" {
		t.Fatalf("events: %+v", got)
	}
}

// TestLoginAfterPasswordChangeEvent: a sign-in whose password a change replaced before its
// session was created is a failure with reason password_changed.
func TestLoginAfterPasswordChangeEvent(t *testing.T) {
	f, rec := auditFixture(t, accounts.Limits{}, 50)
	u := f.register(t, "cyd", "old-password-1")
	owner := f.login(t, "cyd", "old-password-1", "192.0.2.1")
	f.gate.arm()
	done := make(chan error, 1)
	go func() {
		_, err := f.svc.Login(f.ctx, accounts.LoginInput{Username: "cyd", Password: "old-password-1", IP: "192.0.2.2"})
		done <- err
	}()
	<-f.gate.verified
	if _, err := f.svc.ChangePassword(f.ctx, accounts.PasswordInput{UserID: u.ID, SessionID: owner.Session.ID,
		Current: "old-password-1", New: "new-password-2", IP: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	close(f.gate.release)
	if err := <-done; !errors.Is(err, accounts.ErrInvalidCredentials) {
		t.Fatal(err)
	}
	got := rec.take()
	if s := summary(got); s != "authn_login_success/success/ authn_password_change/success/ authn_login_fail/failure/password_changed" {
		t.Fatalf("events: %s", s)
	}
	if got[2].UserID != u.ID || got[2].IP != "192.0.2.2" {
		t.Fatalf("stale sign-in event %+v", got[2])
	}
}

// TestRefreshReuseEvents: a spent refresh token presented again records the reuse and the
// revocation of its session, once; presenting it again records nothing more.
func TestRefreshReuseEvents(t *testing.T) {
	f, rec := auditFixture(t, accounts.Limits{}, 50)
	u := f.register(t, "dee", "dee-password-1")
	g := f.login(t, "dee", "dee-password-1", "192.0.2.1")
	rt, err := f.svc.RefreshTokens.Parse(g.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Refresh(f.ctx, rt, "r1"); err != nil {
		t.Fatal(err)
	}
	rec.take()
	if _, err := f.svc.Refresh(f.ctx, rt, "r2"); !errors.Is(err, session.ErrRefreshReused) {
		t.Fatalf("reuse: %v", err)
	}
	if _, err := f.svc.Refresh(f.ctx, rt, "r3"); !errors.Is(err, session.ErrRevoked) {
		t.Fatalf("after reuse: %v", err)
	}
	got := rec.take()
	if s := summary(got); s != "authn_token_reuse/failure/ session_revoked/success/token_reuse" {
		t.Fatalf("events: %s", s)
	}
	for _, e := range got {
		if e.UserID != u.ID || e.SessionID != g.Session.ID || e.RequestID != "req-1" {
			t.Fatalf("event %+v", e)
		}
	}
}

// TestPasswordChangeEvents: a change records itself (with the caller's new session, the old
// one as target) and one revocation per other session, not the caller's move; its repeat
// records nothing; a wrong current password is a failure.
func TestPasswordChangeEvents(t *testing.T) {
	f, rec := auditFixture(t, accounts.Limits{}, 50)
	u := f.register(t, "eve", "old-password-1")
	me := f.login(t, "eve", "old-password-1", "192.0.2.1")
	a := f.login(t, "eve", "old-password-1", "192.0.2.2")
	b := f.login(t, "eve", "old-password-1", "192.0.2.3")
	rec.take()
	in := accounts.PasswordInput{UserID: u.ID, SessionID: me.Session.ID, Current: "wrong-password", New: "new-password-2", IP: "192.0.2.1"}
	if _, err := f.svc.ChangePassword(f.ctx, in); !errors.Is(err, accounts.ErrInvalidInput) {
		t.Fatal(err)
	}
	if got := rec.take(); summary(got) != "authn_password_change/failure/bad_password" || got[0].UserID != u.ID ||
		got[0].SessionID != me.Session.ID {
		t.Fatalf("wrong current password: %+v", got)
	}
	in.Current = "old-password-1"
	g, err := f.svc.ChangePassword(f.ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ChangePassword(f.ctx, in); err != nil { // a lost answer, repeated
		t.Fatal(err)
	}
	got := rec.take()
	if s := summary(got); s != "session_revoked/success/password_change session_revoked/success/password_change authn_password_change/success/" {
		t.Fatalf("events: %s", s)
	}
	revoked := map[string]bool{got[0].SessionID: true, got[1].SessionID: true}
	if !revoked[a.Session.ID] || !revoked[b.Session.ID] {
		t.Fatalf("revoked %v, want %s and %s", revoked, a.Session.ID, b.Session.ID)
	}
	if got[2].SessionID != g.Session.ID || got[2].Target != me.Session.ID || got[2].UserID != u.ID {
		t.Fatalf("change event %+v", got[2])
	}
}

// TestRevocationEvents: each session a logout, a revocation, a logout-all or the session cap
// ends is recorded once, with the reason; repeating them records nothing.
func TestRevocationEvents(t *testing.T) {
	f, rec := auditFixture(t, accounts.Limits{}, 3)
	u := f.register(t, "fay", "fay-password-1")
	s1 := f.login(t, "fay", "fay-password-1", "192.0.2.1")
	s2 := f.login(t, "fay", "fay-password-1", "192.0.2.1")
	s3 := f.login(t, "fay", "fay-password-1", "192.0.2.1")
	s4 := f.login(t, "fay", "fay-password-1", "192.0.2.1") // over the cap of 3: s1 goes
	got := rec.take()
	if s := summary(got); !strings.HasSuffix(s, "session_revoked/success/session_limit authn_login_success/success/") ||
		got[3].SessionID != s1.Session.ID {
		t.Fatalf("events: %s (%+v)", s, got)
	}
	for range 2 {
		if err := f.store.Revoke(f.ctx, u.ID, s4.Session.ID, s2.Session.ID, session.ReasonRevoked); err != nil {
			t.Fatal(err)
		}
		if err := f.store.Revoke(f.ctx, u.ID, s3.Session.ID, s3.Session.ID, session.ReasonLogout); err != nil {
			t.Fatal(err)
		}
	}
	admin := audit.WithRequest(f.ctx, audit.Request{RequestID: "req-2", ActorID: "admin-id"})
	for range 2 {
		if _, err := f.store.RevokeAll(admin, u.ID, "", session.ReasonAdmin); err != nil {
			t.Fatal(err)
		}
	}
	got = rec.take()
	if s := summary(got); s != "session_revoked/success/revoked_by_user session_revoked/success/logout session_revoked/success/admin" {
		t.Fatalf("events: %s", s)
	}
	if got[0].SessionID != s2.Session.ID || got[1].SessionID != s3.Session.ID || got[2].SessionID != s4.Session.ID ||
		got[2].ActorID != "admin-id" || got[2].RequestID != "req-2" || got[0].ActorID != "" {
		t.Fatalf("events %+v", got)
	}
}

// TestLockRepeats: every throttled sign-in is recorded (the stream and the metrics count them
// all), but only the first refusal of each window and subject is kept: the later ones are
// repeats, which a Keeper leaves out of Redis, so a client hammering a spent window cannot
// flood the global stream. Each limit (account on a network, network, account-wide, device)
// has its own first.
func TestLockRepeats(t *testing.T) {
	f, rec := auditFixture(t, accounts.Limits{PerAccount: 2, PerAccountGlobal: 4, PerIP: 6, Window: time.Hour}, 50)
	kr := sessiontest.Start(t)
	rdb, err := session.NewClient(session.ClientConfig{URL: kr.URL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	kept := redisaudit.New(rdb, redisaudit.Config{})
	f.svc.Audit = audit.Stamp{Next: audit.Recorders{rec, &audit.Keeper{Store: kept}}}
	u := f.register(t, "hal", "hal-password-1")
	home := f.login(t, "hal", "hal-password-1", "198.51.100.1")
	rec.take()
	guess := func(ip, device string) error {
		_, err := f.svc.Login(f.ctx, accounts.LoginInput{Username: "hal", Password: "guess-guess", IP: ip, DeviceToken: device})
		return err
	}
	locks := func() (first, repeat string) {
		var fs, rs []string
		for _, e := range rec.take() {
			if e.Type == audit.LoginLock {
				if e.Repeat {
					rs = append(rs, e.Reason)
				} else {
					fs = append(fs, e.Reason)
				}
			}
		}
		return strings.Join(fs, " "), strings.Join(rs, " ")
	}
	// The account on one network: 2 guesses, then 5 refusals.
	for range 7 {
		guess("203.0.113.1", "")
	}
	if first, repeat := locks(); first != "account" || repeat != "account account account account" {
		t.Fatalf("account window: first %q, repeats %q", first, repeat)
	}
	// A second network spends the account-wide window (4): its next refusals are the
	// account_global window's, whose first is kept once, whatever the network.
	for range 2 {
		guess("203.0.113.2", "")
	}
	rec.take()
	guess("203.0.113.3", "")
	guess("203.0.113.4", "")
	guess("203.0.113.3", "")
	if first, repeat := locks(); first != "account_global" || repeat != "account_global account_global" {
		t.Fatalf("account-wide window: first %q, repeats %q", first, repeat)
	}
	// The owner's device goes on under its own window, which has its own first refusal.
	for i := range 4 {
		guess(fmt.Sprint("192.0.2.", 10+i), home.DeviceToken)
	}
	if first, repeat := locks(); first != "device" || repeat != "device" {
		t.Fatalf("device window: first %q, repeats %q", first, repeat)
	}
	// A network over its limit (6 attempts on 203.0.113.5, whatever the accounts).
	for i := range 9 {
		f.svc.Login(f.ctx, accounts.LoginInput{Username: fmt.Sprint("nobody", i), Password: "x-password", IP: "203.0.113.5"})
	}
	if first, repeat := locks(); first != "network" || repeat != "network network" {
		t.Fatalf("network window: first %q, repeats %q", first, repeat)
	}
	// Redis keeps one lock per window and subject.
	all, err := kept.Events(f.ctx, audit.Query{Type: audit.LoginLock, Page: audit.Page{Limit: 100}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range all.Events {
		if e.Repeat || (e.UserID != u.ID) != (e.Reason == "network") {
			t.Fatalf("kept %+v", e)
		}
		got = append(got, e.Reason)
	}
	if strings.Join(got, " ") != "network device account_global account" {
		t.Fatalf("kept locks, newest first: %v", got)
	}
}
