package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"boxoffice/sdk"
)

// counter sums the samples of the metric name whose labels include every name="value" pair of
// labels, as the server's /metrics at base shows them now.
func counter(t *testing.T, base, name string, labels ...string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s/metrics: %d %v", base, resp.StatusCode, err)
	}
	var sum float64
lines:
	for _, line := range strings.Split(string(b), "\n") {
		series, value, ok := strings.Cut(line, " ")
		if !ok || !strings.HasPrefix(series, name+"{") {
			continue
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if !strings.Contains(series, labels[i]+`="`+labels[i+1]+`"`) {
				continue lines
			}
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		sum += v
	}
	return sum
}

// refreshesAt is how many POST /v1/auth/refresh requests the server at metrics has answered.
func refreshesAt(t *testing.T, metrics string) float64 {
	return counter(t, metrics, "boxoffice_http_requests_total", "method", "POST", "route", "/v1/auth/refresh")
}

var names atomic.Int64

// newUser registers an account with a unique name on c's server and returns its name and
// password.
func newUser(t *testing.T, c *sdk.Client) (name, password string) {
	t.Helper()
	name = fmt.Sprintf("sdk-%d-%d", time.Now().UnixNano()%1e9, names.Add(1))
	password = "password of " + name
	if _, err := c.Register(context.Background(), sdk.CreateUserRequest{Username: name, Password: password}); err != nil {
		t.Fatalf("register %s: %v", name, err)
	}
	return name, password
}

// newClient returns a Client of the server at base (serverURL when ""), failing the test on error.
func newClient(t *testing.T, base string, opts ...sdk.Option) *sdk.Client {
	t.Helper()
	if base == "" {
		base = serverURL
	}
	c, err := sdk.New(base, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// login signs c in, failing the test on error.
func login(t *testing.T, c *sdk.Client, name, password string) sdk.TokenResponse {
	t.Helper()
	g, err := c.Login(context.Background(), sdk.LoginRequest{Username: name, Password: password})
	if err != nil {
		t.Fatalf("login %s: %v", name, err)
	}
	return g
}

// registerExampleUser creates the account the examples sign in with.
func registerExampleUser() error {
	c, err := sdk.New(serverURL)
	if err != nil {
		return err
	}
	_, err = c.Register(context.Background(), sdk.CreateUserRequest{Username: "alice", Password: "correct horse battery"})
	var p *sdk.Problem
	if errors.As(err, &p) && p.Code == sdk.CodeUsernameTaken {
		return nil
	}
	return err
}
