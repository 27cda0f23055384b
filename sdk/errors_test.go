package sdk_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"boxoffice/sdk"
)

// TestProblems: the server's problems come back as *Problem errors, whatever the operation.
func TestProblems(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, "")
	name, pw := newUser(t, c)

	_, err := c.Login(ctx, sdk.LoginRequest{Username: name, Password: "not the password"})
	var p *sdk.Problem
	if !errors.As(err, &p) || p.Code != sdk.CodeInvalidCredentials || p.Status != http.StatusUnauthorized ||
		errors.Is(err, sdk.ErrSignedOut) || !strings.Contains(err.Error(), "invalid_credentials (401)") {
		t.Fatalf("wrong password: %v", err)
	}
	if c.Tokens() != (sdk.Tokens{}) {
		t.Errorf("a failed login left tokens: %+v", c.Tokens())
	}
	_, err = c.Register(ctx, sdk.CreateUserRequest{Username: strings.ToUpper(name), Password: pw})
	if !errors.As(err, &p) || p.Code != sdk.CodeUsernameTaken || p.Status != http.StatusConflict {
		t.Fatalf("duplicate username: %v", err)
	}
	_, err = c.Register(ctx, sdk.CreateUserRequest{Username: "x", Password: pw})
	if !errors.As(err, &p) || p.Code != sdk.CodeValidationFailed || p.Errors == nil || (*p.Errors)["username"] == "" {
		t.Fatalf("invalid username: %v", err)
	}
	cookie := sdk.LoginRequestTransportCookie
	if _, err := c.Login(ctx, sdk.LoginRequest{Username: name, Password: pw, Transport: &cookie}); err == nil || errors.As(err, &p) {
		t.Fatalf("login asking for the cookie transport: %v", err)
	}
	if _, err := c.Session(ctx); !errors.Is(err, sdk.ErrSignedOut) {
		t.Fatalf("session before login: %v", err)
	}
}

// TestNotProblems: answers that are not problems, and failures at the transport, are errors too.
func TestNotProblems(t *testing.T) {
	ctx := context.Background()
	// The metrics listener is no boxoffice API: its 404 is plain text.
	_, err := newClient(t, metricsURL).Register(ctx, sdk.CreateUserRequest{Username: "nobody", Password: "password"})
	var se *sdk.StatusError
	var p *sdk.Problem
	if !errors.As(err, &se) || se.StatusCode != http.StatusNotFound || se.Method != http.MethodPost ||
		se.Path != "/v1/users" || errors.As(err, &p) {
		t.Fatalf("404 without a problem: %v", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	_, err = newClient(t, closed).Login(ctx, sdk.LoginRequest{Username: "nobody", Password: "password"})
	var ue *url.Error
	if !errors.As(err, &ue) || errors.As(err, &p) || errors.As(err, &se) {
		t.Fatalf("connection refused: %v", err)
	}

	if _, err := sdk.New("localhost:8080"); err == nil {
		t.Error("New accepted a base URL without scheme")
	}
	for _, o := range []sdk.Option{sdk.WithRefreshGrace(-time.Second), sdk.WithRefreshAttemptTimeout(0), sdk.WithRefreshRetry(0, 0)} {
		if _, err := sdk.New(serverURL, o); err == nil {
			t.Errorf("New accepted an invalid option %T", o)
		}
	}
}
