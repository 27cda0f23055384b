package tests

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSecurityInputs sends malformed, oversized and tricky input: each gets a clear 4xx
// problem, never a 500, and changes nothing.
func TestSecurityInputs(t *testing.T) {
	c := fleet.inst(1)
	rdb := redisClient(t, shared)
	s := signIn(t, c)
	uid := s.tk.Session.UserID
	deep := strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100)
	cases := []struct {
		name, method, path, body string
		hdr                      []string
		status                   int
		code                     string
	}{
		{"duplicate keys", "PATCH", "/v1/session/data", `{"a":1,"a":2}`, nil, 400, "malformed_json"},
		{"nested duplicate keys", "PATCH", "/v1/session/data", `{"a":{"b":1,"b":2}}`, nil, 400, "malformed_json"},
		{"invalid UTF-8", "PATCH", "/v1/session/data", "{\"a\":\"\xff\xfe\"}", nil, 400, "malformed_json"},
		{"nesting 100 deep", "PATCH", "/v1/session/data", deep, nil, 400, "malformed_json"},
		{"trailing garbage", "PATCH", "/v1/session/data", `{"a":1} {"b":2}`, nil, 400, "malformed_json"},
		{"NUL in a data key", "PATCH", "/v1/session/data", `{"a\u0000b":1}`, nil, 422, "invalid_session_data"},
		{"array instead of object", "PATCH", "/v1/session/data", `[{"a":1}]`, nil, 422, "invalid_session_data"},
		{"gzip-encoded body", "PATCH", "/v1/session/data", "\x1f\x8b\x08\x00\x00\x00\x00\x00", []string{"Content-Encoding", "gzip"}, 415, "unsupported_media_type"},
		{"wrong content type", "PATCH", "/v1/session/data", `{"a":1}`, []string{"Content-Type", "text/plain"}, 415, "unsupported_media_type"},
		{"unknown method", "PURGE", "/v1/session", "", nil, 405, "method_not_allowed"},
		{"huge header", "GET", "/v1/session", "", []string{"X-Padding", strings.Repeat("p", 10<<10)}, 431, "headers_too_large"},
		{"huge cookie", "GET", "/v1/session", "", []string{"Cookie", "__Host-bx_at=" + strings.Repeat("c", 7000)}, 401, "invalid_token"},
		{"malformed If-Match", "PATCH", "/v1/session/data", `{"a":1}`, []string{"If-Match", `1, 2`}, 400, "invalid_if_match"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, rdb, uid)
			token := s.tk.AccessToken
			if tc.code == "invalid_token" {
				token = ""
			}
			var body any
			if tc.body != "" {
				body = tc.body
			}
			expect(t, c.do(t, tc.method, tc.path, token, body, tc.hdr...), tc.status, tc.code)
			unchanged(t, rdb, uid, before)
		})
	}

	t.Run("body over the limit", func(t *testing.T) {
		// The server answers 413 as soon as it sees Content-Length and may close before the
		// body is sent, so this request is written by hand and the write is not waited for.
		before := snapshot(t, rdb, uid)
		body := `{"a":"` + strings.Repeat("x", 600<<10) + `"}` // above the 512 KiB body limit
		conn, err := net.Dial("tcp", strings.TrimPrefix(c.base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		head := "PATCH /v1/session/data HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + s.tk.AccessToken +
			"\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n"
		go func() { _, _ = conn.Write([]byte(head + body)) }()
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		r := reply{status: resp.StatusCode, header: resp.Header, body: b}
		expect(t, r, 413, "payload_too_large")
		if err := spec.problem(b); err != nil {
			t.Fatal(err)
		}
		unchanged(t, rdb, uid, before)
	})

	reg := []struct {
		name, body, field string
	}{
		{"case-variant field name", `{"Username":"mallory","password":"long-enough-pw"}`, "Username"},
		{"NUL in username", `{"username":"mal\u0000lory","password":"long-enough-pw"}`, "username"},
		{"mixed-script look-alike", `{"username":"pаypal","password":"long-enough-pw"}`, "username"},
		{"bidi override in display name", `{"username":"bidiuser","password":"long-enough-pw","display_name":"evil\u202Etxt.exe"}`, "display_name"},
		{"wrong type", `{"username":42,"password":"long-enough-pw"}`, "username"},
		{"zero-width space", `{"username":"zero\u200bwidth","password":"long-enough-pw"}`, "username"},
	}
	for _, tc := range reg {
		t.Run("registration: "+tc.name, func(t *testing.T) {
			r := c.do(t, "POST", "/v1/users", "", tc.body)
			expect(t, r, 422, "validation_failed")
			if !strings.Contains(string(r.body), `"`+tc.field+`"`) {
				t.Fatalf("422 does not name %s: %s", tc.field, r.body)
			}
		})
	}
	t.Run("registration: fullwidth look-alike of an existing name", func(t *testing.T) {
		expect(t, c.do(t, "POST", "/v1/users", "", map[string]string{"username": "ｕｓｅｒ" + s.name[4:], "password": "long-enough-pw"}), 409, "username_taken")
	})
}

// TestSecurityInputsIdentities: names that look like another user's, names that show nothing,
// and invisible or direction-changing characters in stored session metadata.
func TestSecurityInputsIdentities(t *testing.T) {
	c := fleet.inst(1)
	t.Run("registration: whole-script look-alike of an existing name", func(t *testing.T) {
		// "scope" and Cyrillic "ѕсоре" (dze, es, o, er, ie) with the same unique suffix.
		name, pw := uniqueName()
		suffix := strings.TrimPrefix(name, "user")
		expect(t, c.do(t, "POST", "/v1/users", "", map[string]string{"username": "scope" + suffix, "password": pw}), 201, "")
		expect(t, c.do(t, "POST", "/v1/users", "", map[string]string{"username": "ѕсоре" + suffix, "password": pw}), 409, "username_taken")
		// The look-alike is an unknown user at login, not the account it resembles.
		expect(t, c.do(t, "POST", "/v1/auth/login", "", map[string]string{"username": "ѕсоре" + suffix, "password": pw}), 401, "invalid_credentials")
		login(t, c, "scope"+suffix, pw)
	})
	t.Run("registration: small capital, dotless i and Latin alpha look-alikes", func(t *testing.T) {
		name, pw := uniqueName()
		suffix := strings.TrimPrefix(name, "user")
		expect(t, c.do(t, "POST", "/v1/users", "", map[string]string{"username": "admin" + suffix, "password": pw}), 201, "")
		for _, alike := range []string{"ᴀdmin", "admın", "ɑdmin"} {
			expect(t, c.do(t, "POST", "/v1/users", "", map[string]string{"username": alike + suffix, "password": pw}), 409, "username_taken")
		}
	})
	for _, tc := range []struct{ name, body, field string }{
		{"username of Hangul fillers", `{"username":"\u3164\u3164\u3164","password":"long-enough-pw"}`, "username"},
		{"username of blank Braille", `{"username":"\u2800\u2800\u2800","password":"long-enough-pw"}`, "username"},
		{"display name of Hangul fillers", `{"username":"fillername","password":"long-enough-pw","display_name":"\u3164\u3164"}`, "display_name"},
		{"display name of blank Braille", `{"username":"braillename","password":"long-enough-pw","display_name":"\u2800"}`, "display_name"},
		{"display name with a filler inside", `{"username":"fillerinside","password":"long-enough-pw","display_name":"Ali\u3164ce"}`, "display_name"},
	} {
		t.Run("registration: "+tc.name, func(t *testing.T) {
			r := c.do(t, "POST", "/v1/users", "", tc.body)
			expect(t, r, 422, "validation_failed")
			if !strings.Contains(string(r.body), `"`+tc.field+`"`) {
				t.Fatalf("422 does not name %s: %s", tc.field, r.body)
			}
		})
	}
	s := signIn(t, c)
	t.Run("login: device name of Hangul fillers", func(t *testing.T) {
		r := c.do(t, "POST", "/v1/auth/login", "", map[string]string{"username": s.name, "password": s.pw, "device_name": "\u3164\u3164\u3164"})
		expect(t, r, 422, "validation_failed")
		if !strings.Contains(string(r.body), `"device_name"`) {
			t.Fatalf("422 does not name device_name: %s", r.body)
		}
	})
	t.Run("login: bidi override in User-Agent is not stored", func(t *testing.T) {
		r := c.do(t, "POST", "/v1/auth/login", "", map[string]string{"username": s.name, "password": s.pw},
			"User-Agent", "Mozilla/5.0 \u202Egnp.exe\u200B \u3164 x")
		expect(t, r, 200, "")
		var tk tokens
		r.decode(t, &tk)
		var got struct {
			UserAgent string `json:"user_agent"`
		}
		r = c.do(t, "GET", "/v1/session", tk.AccessToken, nil)
		expect(t, r, 200, "")
		r.decode(t, &got)
		if got.UserAgent != "Mozilla/5.0 gnp.exe x" {
			t.Fatalf("stored user_agent = %+q, want %+q", got.UserAgent, "Mozilla/5.0 gnp.exe x")
		}
	})
}
