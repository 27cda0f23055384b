package api

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestRegistrationValidation: every invalid field is named in a 422 and nothing is stored.
func TestRegistrationValidation(t *testing.T) {
	ts := newTestServer(t)
	cases := []struct {
		body  string
		field string
	}{
		{`{"username":"emily","password":""}`, "password"},
		{`{"username":"","password":"long-enough-pw"}`, "username"},
		{`{"password":"long-enough-pw"}`, "username"},
		{`{"username":"emily"}`, "password"},
		{`{"username":"emily","password":"short"}`, "password"},
		{`{"username":"emily","password":"` + strings.Repeat("x", 257) + `"}`, "password"},
		{`{"username":"emily","password":"pw\u0000pw-long-enough"}`, "password"},
		{`{"username":"Emily","password":"EMILY"}`, "password"},
		{`{"username":"em ily","password":"long-enough-pw"}`, "username"},
		{`{"username":"раypal","password":"long-enough-pw"}`, "username"}, // Cyrillic р, а + Latin
		{`{"username":"emily","password":"long-enough-pw","display_name":"a\u202eb"}`, "display_name"},
		{`{"username":"emily","password":"long-enough-pw","display_name":7}`, "display_name"},
		{`{"username":"emily","password":"long-enough-pw","Username":"x"}`, "Username"},
		{`{"username":["emily"],"password":"long-enough-pw"}`, "username"},
	}
	for _, c := range cases {
		resp, b := ts.call(t, "POST", "/v1/users", "", c.body)
		var p Problem
		_ = json.Unmarshal(b, &p)
		if resp.StatusCode != 422 || p.Code != "validation_failed" || p.Errors[c.field] == "" {
			t.Errorf("%s: %d %s, want 422 naming %q", c.body, resp.StatusCode, b, c.field)
		}
	}
	if resp, b := ts.call(t, "POST", "/v1/auth/login", "", `{"username":"emily","password":""}`); resp.StatusCode != 422 {
		t.Errorf("login with empty password: %d %s", resp.StatusCode, b)
	}
	keys, err := ts.rdb.Keys(t.Context(), "*").Result()
	if err != nil || len(keys) != 0 {
		t.Fatalf("invalid registrations stored %v (%v)", keys, err)
	}
}

// TestCompressedBodiesRefused: an encoded body is refused before anything inflates it (a
// gzip bomb of a few KiB would otherwise expand to gigabytes).
func TestCompressedBodiesRefused(t *testing.T) {
	ts := newTestServer(t)
	for _, enc := range []string{"gzip", "deflate", "br", "gzip, gzip"} {
		resp, b := ts.call(t, "POST", "/v1/auth/login", "", "\x1f\x8b\x08\x00", "Content-Encoding", enc)
		var p Problem
		_ = json.Unmarshal(b, &p)
		if resp.StatusCode != 415 || p.Code != "unsupported_media_type" {
			t.Fatalf("Content-Encoding %s: %d %s", enc, resp.StatusCode, b)
		}
	}
	if resp, _ := ts.call(t, "POST", "/v1/auth/login", "", `{"username":"nobody1","password":"whatever-pw"}`, "Content-Encoding", "identity"); resp.StatusCode != 401 {
		t.Fatalf("identity encoding: %d", resp.StatusCode)
	}
}
