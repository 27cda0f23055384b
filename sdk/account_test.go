package sdk_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"boxoffice/sdk"
)

// TestAccountLifecycle: the user, the session list, a password change (which moves this session
// to new tokens and ends the others) and signing out everywhere.
func TestAccountLifecycle(t *testing.T) {
	ctx := context.Background()
	var told []sdk.Tokens
	c := newClient(t, "", sdk.WithOnTokens(func(tk sdk.Tokens) { told = append(told, tk) }))
	other := newClient(t, "")
	name, pw := newUser(t, c)
	device := "laptop"
	g, err := c.Login(ctx, sdk.LoginRequest{Username: name, Password: pw, DeviceName: &device})
	if err != nil || g.Session.DeviceName != device || g.DeviceToken == nil {
		t.Fatalf("login: %+v %v", g, err)
	}
	login(t, other, name, pw)

	if me, err := c.Me(ctx); err != nil || me.Username != name {
		t.Fatalf("me: %+v %v", me, err)
	}
	list, err := c.Sessions(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("sessions: %+v %v", list, err)
	}

	_, err = c.ChangePassword(ctx, "not the password", "a new password")
	var p *sdk.Problem
	if !errors.As(err, &p) || p.Code != sdk.CodeValidationFailed || p.Errors == nil || (*p.Errors)["current_password"] == "" {
		t.Fatalf("password change with a wrong current password: %v", err)
	}
	moved, err := c.ChangePassword(ctx, pw, "a new password")
	if err != nil || moved.SessionId == g.SessionId || c.Tokens().RefreshToken != moved.RefreshToken {
		t.Fatalf("password change: %+v %v", moved, err)
	}
	if len(told) != 2 || told[1] != c.Tokens() {
		t.Errorf("WithOnTokens got %d calls, want 2 (login, password change)", len(told))
	}
	if s, err := c.Session(ctx); err != nil || s.Id != moved.SessionId {
		t.Fatalf("session after the password change: %+v %v", s, err)
	}
	if _, err := other.Session(ctx); !errors.Is(err, sdk.ErrSignedOut) || !errors.As(err, &p) || p.Code != sdk.CodeSessionRevoked {
		t.Fatalf("another session after the password change: %v", err)
	}

	third := newClient(t, "")
	login(t, third, name, "a new password")
	if err := c.LogoutAll(ctx); err != nil {
		t.Fatal("logout-all:", err)
	}
	if _, err := third.Me(ctx); !errors.Is(err, sdk.ErrSignedOut) {
		t.Fatalf("another session after logout-all: %v", err)
	}
	if c.Tokens() != (sdk.Tokens{}) || told[len(told)-1] != (sdk.Tokens{}) {
		t.Errorf("tokens after logout-all: %+v", c.Tokens())
	}
	if err := c.Logout(ctx); err != nil {
		t.Errorf("logout when signed out: %v", err)
	}
}

// TestAPISharesTheSession: the generated client of API() sends the Client's access token,
// refreshes it when due, and sends none without a session.
func TestAPISharesTheSession(t *testing.T) {
	ctx := context.Background()
	rec, clk := newRecorder(), newClock()
	c := newClient(t, "", sdk.WithHTTPClient(rec.client()), sdk.WithClock(clk.Now))

	movies, err := c.API().ListMoviesWithResponse(ctx, nil)
	if err != nil || movies.JSON200 == nil {
		t.Fatalf("movies without a session: %v %d", err, movies.StatusCode())
	}
	name, pw := newUser(t, c)
	g := login(t, c, name, pw)
	me, err := c.API().GetMeWithResponse(ctx, nil)
	if err != nil || me.JSON200 == nil || me.JSON200.Username != name {
		t.Fatalf("me through API(): %v", err)
	}
	clk.Add(time.Hour)
	rec.reset()
	s, err := c.API().GetSessionWithResponse(ctx, nil)
	if err != nil || s.JSON200 == nil || s.JSON200.Id != g.SessionId {
		t.Fatalf("session through API() with a due token: %v", err)
	}
	if err := c.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	me, err = c.API().GetMeWithResponse(ctx, nil)
	if err != nil || me.StatusCode() != http.StatusUnauthorized || me.ApplicationproblemJSON401.Code != sdk.CodeMissingToken {
		t.Fatalf("me through API() when signed out: %v %d", err, me.StatusCode())
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if n := rec.counts["POST /v1/auth/refresh"]; n != 1 {
		t.Errorf("%d refreshes, want 1", n)
	}
	if a := rec.auth["GET /v1/me"]; len(a) != 1 || a[0] != "" {
		t.Errorf("a signed-out API() call sent Authorization %q", a)
	}
}
