package tests

import (
	"context"
	"strings"
	"testing"
)

// TestAuthenticationFailures: every way a request can fail to authenticate gets a 401 with a
// stable code and a Bearer challenge, never a 500.
func TestAuthenticationFailures(t *testing.T) {
	c := fleet.inst(0)
	name, pw := newUser(t, c)
	tk := login(t, c, name, pw)
	parts := strings.Split(tk.AccessToken, ".")

	expect(t, c.do(t, "GET", "/v1/session", "", nil), 401, "missing_token")
	for _, bad := range []string{
		"garbage",
		parts[0] + "." + parts[1] + ".AAAA", // wrong signature
		"eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0." + parts[1] + ".", // alg none
		tk.RefreshToken, // a refresh token is not an access token
		strings.Repeat("a", 5000),
	} {
		expect(t, c.do(t, "GET", "/v1/session", bad, nil), 401, "invalid_token")
	}
	r := c.do(t, "GET", "/v1/session", "", nil, "Authorization", "Basic dXNlcjpwdw==")
	expect(t, r, 401, "invalid_token")
}

// TestRegistrationAndLoginErrors covers the account endpoints' problem responses.
func TestRegistrationAndLoginErrors(t *testing.T) {
	c := fleet.inst(1)
	name, pw := newUser(t, c)

	// Look-alikes of an existing name are the same name.
	for _, alias := range []string{strings.ToUpper(name), " " + name + " "} {
		r := c.do(t, "POST", "/v1/users", "", map[string]string{"username": alias, "password": "another-password"})
		expect(t, r, 409, "username_taken")
	}
	r := c.do(t, "POST", "/v1/users", "", map[string]any{"username": "x", "password": "short", "display_name": 5, "extra": true})
	expect(t, r, 422, "validation_failed")
	var p struct{ Errors map[string]string }
	r.decode(t, &p)
	for _, f := range []string{"username", "password", "display_name", "extra"} {
		if p.Errors[f] == "" {
			t.Fatalf("no error for %s in %v", f, p.Errors)
		}
	}
	expect(t, c.do(t, "POST", "/v1/users", "", `{"username":`), 400, "malformed_json")
	expect(t, c.do(t, "POST", "/v1/users", "", `{"username":"a","username":"b"}`), 400, "malformed_json")
	expect(t, c.do(t, "POST", "/v1/users", "", `[1,2]`), 422, "validation_failed")
	expect(t, c.do(t, "POST", "/v1/users", "", `{"username":"abc","password":"12345678"}`, "Content-Type", "text/plain"), 415, "unsupported_media_type")

	// Unknown user and wrong password are the same answer.
	wrong := c.do(t, "POST", "/v1/auth/login", "", map[string]string{"username": name, "password": "wrong-password"})
	unknown := c.do(t, "POST", "/v1/auth/login", "", map[string]string{"username": name + "-nobody", "password": "wrong-password"})
	expect(t, wrong, 401, "invalid_credentials")
	expect(t, unknown, 401, "invalid_credentials")
	if strings.ReplaceAll(string(wrong.body), wrong.header.Get("X-Request-Id"), "") != strings.ReplaceAll(string(unknown.body), unknown.header.Get("X-Request-Id"), "") {
		t.Fatalf("wrong password and unknown user differ:\n%s\n%s", wrong.body, unknown.body)
	}
	expect(t, c.do(t, "POST", "/v1/auth/login", "", map[string]string{"username": strings.ToUpper(name), "password": pw}), 200, "")
}

// TestLoginThrottle: after 10 failures for one account every instance answers 429 with
// Retry-After, even for the right password, and the counter lives in Redis.
func TestLoginThrottle(t *testing.T) {
	rdb := redisClient(t, shared)
	name, pw := newUser(t, fleet.inst(0))
	for i := 0; i < 10; i++ {
		expect(t, fleet.inst(i).do(t, "POST", "/v1/auth/login", "", map[string]string{"username": name, "password": "nope-nope-nope"}), 401, "invalid_credentials")
	}
	for i := 0; i < 3; i++ {
		r := fleet.inst(i).do(t, "POST", "/v1/auth/login", "", map[string]string{"username": name, "password": pw})
		expect(t, r, 429, "too_many_attempts")
		if r.header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
	}
	keys, err := rdb.Keys(context.Background(), "bx:throttle:login-account:*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("no throttle counters in Redis: %v %v", keys, err)
	}
}

// TestSessionDataErrors covers the patch endpoint's input errors; none changes the data.
func TestSessionDataErrors(t *testing.T) {
	c := fleet.inst(2)
	name, pw := newUser(t, c)
	tk := login(t, c, name, pw)
	patch := func(body string, headers ...string) reply {
		return c.do(t, "PATCH", "/v1/session/data", tk.AccessToken, body, headers...)
	}
	expect(t, patch(`{"a":`), 400, "malformed_json")
	expect(t, patch(`[1]`), 422, "invalid_session_data")
	expect(t, patch(`"str"`), 422, "invalid_session_data")
	expect(t, patch(`{"a":1}`, "Content-Type", "text/plain"), 415, "unsupported_media_type")
	expect(t, patch(`{"a":1}`, "If-Match", `bogus`), 400, "invalid_if_match")
	expect(t, patch(`{"big":"`+strings.Repeat("x", 17000)+`"}`), 413, "session_data_too_large")
	many := "{"
	for i := 0; i < 65; i++ {
		if i > 0 {
			many += ","
		}
		many += `"k` + strings.Repeat("x", i) + `":1`
	}
	expect(t, patch(many+"}"), 413, "session_data_too_large")
	expect(t, patch(`{"`+strings.Repeat("k", 200)+`":1}`), 422, "invalid_session_data")
	r := c.do(t, "GET", "/v1/session", tk.AccessToken, nil)
	var s sessionView
	r.decode(t, &s)
	if len(s.Data) != 0 || r.header.Get("ETag") != `"0"` {
		t.Fatalf("a refused patch changed data: %v %s", s.Data, r.header.Get("ETag"))
	}
}

// TestRoutingProblems: unknown routes and methods are problems too.
func TestRoutingProblems(t *testing.T) {
	c := fleet.inst(0)
	expect(t, c.do(t, "GET", "/nope", "", nil), 404, "not_found")
	r := c.do(t, "PUT", "/v1/session", "", nil)
	expect(t, r, 405, "method_not_allowed")
	if !strings.Contains(r.header.Get("Allow"), "GET") {
		t.Fatalf("Allow = %q", r.header.Get("Allow"))
	}
}
