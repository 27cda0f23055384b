package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/valyala/fasthttp/fasthttputil"

	"boxoffice/accounts"
)

// Fuzz targets for the request decoders. Seed corpora live in testdata/fuzz/<FuzzName>/; run
// one target at a time, e.g.
//
//	go test ./api -run '^$' -fuzz '^FuzzParseObject$' -fuzztime 180s -parallel 2

// ---------------------------------------------------------------------------------------------
// FuzzParseObject

// fuzzJSON is an independent RFC 8259 scanner: it does not use encoding/json, so it checks
// parseObject rather than repeating it. Like json.Valid it does not validate UTF-8 (the caller
// does) and refuses nesting deeper than encoding/json's 10000 levels.
type fuzzJSON struct {
	b        []byte
	i        int
	depth    int      // containers open now
	maxDepth int      // most containers open at once: `{}` is 1, `{"a":[]}` is 2
	dup      bool     // some object names a member twice (names compared decoded)
	topKeys  []string // decoded member names of a top-level object, in order
	bad      bool
}

// scanJSON reports whether b is one JSON text and what it contains.
func scanJSON(b []byte) *fuzzJSON {
	s := &fuzzJSON{b: b}
	s.ws()
	s.value(true)
	s.ws()
	if s.i != len(s.b) {
		s.bad = true
	}
	return s
}

func (s *fuzzJSON) valid() bool { return !s.bad }

func (s *fuzzJSON) ws() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

func (s *fuzzJSON) peek() int {
	if s.bad || s.i >= len(s.b) {
		return -1
	}
	return int(s.b[s.i])
}

func (s *fuzzJSON) lit(w string) {
	if !bytes.HasPrefix(s.b[s.i:], []byte(w)) {
		s.bad = true
		return
	}
	s.i += len(w)
}

func (s *fuzzJSON) value(top bool) {
	switch c := s.peek(); {
	case c == '{':
		s.object(top)
	case c == '[':
		s.array()
	case c == '"':
		s.str()
	case c == 't':
		s.lit("true")
	case c == 'f':
		s.lit("false")
	case c == 'n':
		s.lit("null")
	case c == '-' || c >= '0' && c <= '9':
		s.number()
	default:
		s.bad = true
	}
}

func (s *fuzzJSON) open() {
	s.i++
	s.depth++
	s.maxDepth = max(s.maxDepth, s.depth)
	if s.depth > 10000 {
		s.bad = true
	}
}

func (s *fuzzJSON) object(top bool) {
	s.open()
	seen := map[string]bool{}
	s.ws()
	if s.peek() == '}' {
		s.i++
		s.depth--
		return
	}
	for !s.bad {
		s.ws()
		if s.peek() != '"' {
			s.bad = true
			return
		}
		k := s.str()
		if seen[k] {
			s.dup = true
		}
		seen[k] = true
		if top {
			s.topKeys = append(s.topKeys, k)
		}
		s.ws()
		if s.peek() != ':' {
			s.bad = true
			return
		}
		s.i++
		s.ws()
		s.value(false)
		s.ws()
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			s.depth--
			return
		default:
			s.bad = true
		}
	}
}

func (s *fuzzJSON) array() {
	s.open()
	s.ws()
	if s.peek() == ']' {
		s.i++
		s.depth--
		return
	}
	for !s.bad {
		s.ws()
		s.value(false)
		s.ws()
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			s.depth--
			return
		default:
			s.bad = true
		}
	}
}

func (s *fuzzJSON) digits() int {
	n := 0
	for c := s.peek(); c >= '0' && c <= '9'; c = s.peek() {
		s.i++
		n++
	}
	return n
}

func (s *fuzzJSON) number() {
	if s.peek() == '-' {
		s.i++
	}
	switch c := s.peek(); {
	case c == '0':
		s.i++
	case c >= '1' && c <= '9':
		s.digits()
	default:
		s.bad = true
		return
	}
	if s.peek() == '.' {
		s.i++
		if s.digits() == 0 {
			s.bad = true
			return
		}
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.i++
		if c := s.peek(); c == '+' || c == '-' {
			s.i++
		}
		if s.digits() == 0 {
			s.bad = true
		}
	}
}

// hex4 reads the four hex digits of a \u escape at b[i:], or returns -1.
func hex4(b []byte, i int) rune {
	if i+4 > len(b) {
		return -1
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return -1
		}
	}
	return r
}

// str reads a string and returns it decoded the way JSON decoders that replace what they
// cannot represent do: a \u escape of an unpaired surrogate becomes U+FFFD.
func (s *fuzzJSON) str() string {
	s.i++ // the opening quote
	var out []byte
	for {
		c := s.peek()
		switch {
		case c < 0:
			s.bad = true
			return ""
		case c == '"':
			s.i++
			return string(out)
		case c < 0x20:
			s.bad = true
			return ""
		case c != '\\':
			out = append(out, byte(c))
			s.i++
			continue
		}
		s.i++ // the backslash
		e := s.peek()
		s.i++
		switch e {
		case '"', '\\', '/':
			out = append(out, byte(e))
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := hex4(s.b, s.i)
			if r < 0 {
				s.bad = true
				return ""
			}
			s.i += 4
			if utf16.IsSurrogate(r) {
				// A high surrogate escape followed by a low one is one character; anything else
				// unpaired is U+FFFD (and a following escape is read on its own).
				lo := rune(-1)
				if s.i+2 <= len(s.b) && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
					lo = hex4(s.b, s.i+2)
				}
				if r < 0xdc00 && lo >= 0xdc00 && lo <= 0xdfff {
					r = utf16.DecodeRune(r, lo)
					s.i += 6
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			s.bad = true
			return ""
		}
	}
}

func FuzzParseObject(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"username":"alice","password":"pw"}`, `{"a":{"b":[1,2,{"c":null}]}}`,
		`{"a":1,"a":2}`, `{"a":1,"\u0061":2}`, `{"A":1,"a":2}`, `{"\ud800":1,"\udc00":2}`,
		`{"\ud83d\ude00":1,"😀":2}`, "{\"a\":\"\x00\"}", "{\"a\":\"\xff\"}", "\xef\xbb\xbf{}",
		`{"n":1e400,"m":-0.0e-0}`, `{} x`, `{}{}`, ``, `null`, `[]`, `"x"`, `{"a":1,}`,
		strings.Repeat(`{"a":`, 31) + `{}` + strings.Repeat(`}`, 31),
		strings.Repeat(`{"a":`, 32) + `1` + strings.Repeat(`}`, 32),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseObject(b)
		info := scanJSON(b)
		ok := utf8.Valid(b) && info.valid() && json.Valid(b) && !info.dup &&
			info.maxDepth <= maxJSONDepth && len(bytes.TrimSpace(b)) > 0
		if info.valid() != json.Valid(b) { // a self-check of the independent scanner
			t.Fatalf("scanner disagrees with json.Valid(%q) = %v", b, json.Valid(b))
		}
		if err != nil {
			var me *malformedError
			if err != errNotObject && !errors.As(err, &me) {
				t.Fatalf("parseObject(%q) error %T %v, want errNotObject or *malformedError", b, err, err)
			}
			if me != nil && err != error(me) {
				t.Fatalf("parseObject(%q) wrapped its *malformedError: %#v", b, err)
			}
			if m != nil {
				t.Fatalf("parseObject(%q) returned members with an error", b)
			}
			if me != nil {
				if p, _ := problemFor(err); p.Status != 400 || p.Code != "malformed_json" {
					t.Fatalf("parseObject(%q) error maps to %d %s, want 400 malformed_json", b, p.Status, p.Code)
				}
			}
			// No false rejections: an acceptable object is accepted.
			if ok && firstNonSpace(b) == '{' {
				t.Fatalf("parseObject rejected an acceptable object %q: %v", b, err)
			}
			// Well-formed JSON that is not an object is errNotObject (a 422, not a 400).
			if utf8.Valid(b) && info.valid() && firstNonSpace(b) != '{' && err != errNotObject {
				t.Fatalf("parseObject(%q) = %v, want errNotObject for a non-object", b, err)
			}
			return
		}
		if !utf8.Valid(b) {
			t.Fatalf("parseObject accepted invalid UTF-8 %q", b)
		}
		if !json.Valid(b) || !info.valid() {
			t.Fatalf("parseObject accepted invalid JSON %q", b)
		}
		if firstNonSpace(b) != '{' || m == nil {
			t.Fatalf("parseObject accepted a non-object %q", b)
		}
		if info.dup {
			t.Fatalf("parseObject accepted duplicate keys in %q", b)
		}
		if info.maxDepth > maxJSONDepth {
			t.Fatalf("parseObject accepted nesting %d > %d levels: %q", info.maxDepth, maxJSONDepth, b)
		}
		if len(m) != len(info.topKeys) {
			t.Fatalf("parseObject(%q) returned %d members, the object has %d", b, len(m), len(info.topKeys))
		}
		for _, k := range info.topKeys {
			v, ok := m[k]
			if !ok || !json.Valid(v) {
				t.Fatalf("parseObject(%q): member %q missing or invalid: %q", b, k, v)
			}
		}
	})
}

func firstNonSpace(b []byte) byte {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c
		}
	}
	return 0
}

// ---------------------------------------------------------------------------------------------
// FuzzParseIfMatch

func FuzzParseIfMatch(f *testing.F) {
	for _, s := range []string{
		``, ` `, `*`, ` * `, `"3"`, `W/"3"`, `"3", "4"`, `W/"1", "2"`, `"abc"`, `"-1"`, `"+1"`,
		`"01"`, `"9223372036854775807"`, `"9223372036854775808"`, `"1",`, `,`, `" 1"`, `"`, `""`,
		`*, "1"`, `w/"1"`, `W/ "1"`, "\"1\"\t,\t\"2\"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tags, wildcard, err := parseIfMatch(h)
		trimmed := strings.TrimSpace(h)
		switch {
		case err != nil:
			if err != errBadIfMatch || tags != nil || wildcard {
				t.Fatalf("parseIfMatch(%q) = %v, %v, %v: want only errBadIfMatch", h, tags, wildcard, err)
			}
			if trimmed == "" || trimmed == "*" {
				t.Fatalf("parseIfMatch(%q) refused an absent or wildcard header", h)
			}
			if p, _ := problemFor(err); p.Status != 400 {
				t.Fatalf("errBadIfMatch maps to %d, want 400", p.Status)
			}
			return
		case wildcard:
			if tags != nil || trimmed != "*" {
				t.Fatalf("parseIfMatch(%q) = %v, wildcard: want wildcard only for \"*\" and no tags", h, tags)
			}
			return
		case tags == nil:
			if trimmed != "" {
				t.Fatalf("parseIfMatch(%q) gave no precondition for a non-empty header", h)
			}
			return
		}
		if trimmed == "" || trimmed == "*" || len(tags) == 0 {
			t.Fatalf("parseIfMatch(%q) = %v, %v", h, tags, wildcard)
		}
		// Strong comparison (RFC 9110 §8.8.3.2): each version returned is the opaque tag of a
		// strong entity tag in the list, character for character; weak tags never match.
		var strong []int64
		for _, part := range strings.Split(h, ",") {
			part = strings.TrimSpace(part)
			if len(part) >= 2 && part[0] == '"' && part[len(part)-1] == '"' {
				text := part[1 : len(part)-1]
				if v, err := strconv.ParseInt(text, 10, 64); err == nil && v >= 0 && strconv.FormatInt(v, 10) == text {
					strong = append(strong, v)
				}
			}
		}
		for i, v := range tags {
			if v < -1 {
				t.Fatalf("parseIfMatch(%q) returned version %d", h, v)
			}
			if v == -1 && (len(tags) != 1 || i != 0) {
				t.Fatalf("parseIfMatch(%q) = %v: the never-matching -1 must stand alone", h, tags)
			}
			if v >= 0 {
				got, _, err := parseIfMatch(`"` + strconv.FormatInt(v, 10) + `"`)
				if err != nil || len(got) != 1 || got[0] != v {
					t.Fatalf("version %d from %q does not round-trip: %v, %v", v, h, got, err)
				}
				if got, _, _ := parseIfMatch(`W/"` + strconv.FormatInt(v, 10) + `"`); !slices.Equal(got, []int64{-1}) {
					t.Fatalf("weak tag of %d matched: %v", v, got)
				}
			}
		}
		if len(strong) == 0 {
			if !slices.Equal(tags, []int64{-1}) {
				t.Fatalf("parseIfMatch(%q) = %v, but the list has no strong tag of a version", h, tags)
			}
		} else if !slices.Equal(tags, strong) {
			t.Fatalf("parseIfMatch(%q) = %v, want the strong version tags %v", h, tags, strong)
		}
		// Formatting the result as a list and parsing it again gives the same versions.
		if tags[0] >= 0 {
			parts := make([]string, len(tags))
			for i, v := range tags {
				parts[i] = `"` + strconv.FormatInt(v, 10) + `"`
			}
			again, wc, err := parseIfMatch(strings.Join(parts, ", "))
			if err != nil || wc || !slices.Equal(again, tags) {
				t.Fatalf("re-parsing %v from %q gave %v, %v, %v", tags, h, again, wc, err)
			}
		}
	})
}

// ---------------------------------------------------------------------------------------------
// FuzzRequestDecoders

// newFuzzServer is newTestServer with login throttling out of the way (a fuzz run makes
// millions of failed logins from one address) and registration unthrottled.
func newFuzzServer(tb testing.TB) *Server {
	tb.Helper()
	return newTestServerWith(tb, Config{}, func(a *accounts.Service) {
		a.Limits = accounts.Limits{PerAccount: 1 << 30, PerAccountGlobal: 1 << 30, PerIP: 1 << 30}
	}).srv
}

// fuzzRoutes are the unauthenticated endpoints that decode a JSON body, with the statuses
// each may answer (413 only for bodies over the 64 KiB limit).
var fuzzRoutes = []struct {
	path     string
	ok       int
	statuses []int
}{
	{"/v1/users", 201, []int{201, 400, 409, 413, 415, 422, 503}},
	{"/v1/auth/login", 200, []int{200, 400, 401, 413, 415, 422, 503}},
	{"/v1/auth/refresh", 200, []int{200, 400, 401, 413, 415, 422, 503}},
	// Authenticated with a fresh login per request (a successful change ends the old session).
	{"/v1/auth/password", 200, []int{200, 400, 401, 409, 413, 415, 422, 429, 503}},
}

// fuzzContentTypes are Content-Type values and whether the decoders accept them. The committed
// seeds index this table and fuzzEncodings: only append to them.
var fuzzContentTypes = []struct {
	value string
	ok    bool
}{
	{"application/json", true},
	{"application/json; charset=utf-8", true},
	{`Application/JSON;Charset="UTF-8"`, true},
	{"application/json;", true},
	{"application/json; foo=bar", true},
	{"", false},
	{"text/plain", false},
	{"application/json; charset=utf-16", false},
	{"application/json; charset=latin1", false},
	{"application/merge-patch+json", false},
	{"application/problem+json", false},
	{"application/json; charset", false},
	{"application/json, text/plain", false},
	{"application/x-www-form-urlencoded", false},
	{"multipart/form-data; boundary=x", false},
	{"application/jsonx", false},
}

// fuzzEncodings are Content-Encoding values and whether the body is taken as sent.
var fuzzEncodings = []struct {
	value string
	ok    bool
}{
	{"", true},
	{"identity", true},
	{"IDENTITY", true},
	{"gzip", false},
	{"deflate", false},
	{"br", false},
	{"gzip, gzip", false},
	{"identity, gzip", false},
	{"zstd", false},
}

// fuzzServe serves srv in-process on an in-memory listener and returns a client for it. Unlike
// app.Test this shows what a client really receives when fasthttp itself refuses a request
// (app.Test returns only the error then), and it exercises the real connection handling.
func fuzzServe(tb testing.TB, srv *Server) *http.Client {
	tb.Helper()
	ln := fasthttputil.NewInmemoryListener()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		select {
		case <-done:
		case <-ctx.Done():
		}
	})
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext:        func(context.Context, string, string) (net.Conn, error) { return ln.Dial() },
		DisableCompression: true,
		DisableKeepAlives:  true, // a POST is not retried on a connection the server closed
	}}
}

func FuzzRequestDecoders(f *testing.F) {
	client := fuzzServe(f, newFuzzServer(f))
	var login func(tb testing.TB) string
	do := func(tb testing.TB, route, ctype, enc uint8, body []byte) (status int, hdr func(string) string, b []byte) {
		path := fuzzRoutes[int(route)%len(fuzzRoutes)].path
		req, err := http.NewRequest("POST", "http://boxoffice.test"+path, bytes.NewReader(body))
		if err != nil {
			tb.Fatal(err)
		}
		if path == "/v1/auth/password" {
			req.Header.Set("Authorization", "Bearer "+login(tb))
		}
		if ct := fuzzContentTypes[int(ctype)%len(fuzzContentTypes)].value; ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		if ce := fuzzEncodings[int(enc)%len(fuzzEncodings)].value; ce != "" {
			req.Header.Set("Content-Encoding", ce)
		}
		resp, err := client.Do(req)
		if err != nil {
			tb.Fatalf("POST %s %q: no response: %v", req.URL.Path, body, err)
		}
		b, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			tb.Fatalf("POST %s %q: reading the response: %v", req.URL.Path, body, err)
		}
		return resp.StatusCode, resp.Header.Get, b
	}
	// A registered user, so that logins can succeed, and a live refresh token.
	const user, password = "fuzzer", "fuzz-password-1"
	creds := []byte(`{"username":"` + user + `","password":"` + password + `"}`)
	if st, _, b := do(f, 0, 0, 0, creds); st != 201 {
		f.Fatalf("register: %d %s", st, b)
	}
	login = func(tb testing.TB) string {
		st, _, b := do(tb, 1, 0, 0, creds)
		var tr tokenResponse
		if err := json.Unmarshal(b, &tr); st != 200 || err != nil {
			tb.Fatalf("login: %d %s", st, b)
		}
		return tr.AccessToken
	}
	st, _, b := do(f, 1, 0, 0, creds)
	var tr tokenResponse
	if err := json.Unmarshal(b, &tr); st != 200 || err != nil {
		f.Fatalf("login: %d %s", st, b)
	}
	f.Add(uint8(3), uint8(0), uint8(0), []byte(`{"current_password":"wrong-password-1","new_password":"another-password"}`))
	f.Add(uint8(3), uint8(0), uint8(0), []byte(`{"current_password":"x","new_password":"short","extra":1}`))
	f.Add(uint8(1), uint8(0), uint8(0), creds)
	f.Add(uint8(2), uint8(0), uint8(0), []byte(`{"refresh_token":"`+tr.RefreshToken+`"}`))
	f.Add(uint8(0), uint8(1), uint8(1), []byte(`{"username":"newbie","password":"newbie-password","display_name":"New B"}`))
	f.Add(uint8(1), uint8(0), uint8(3), creds)
	f.Add(uint8(0), uint8(6), uint8(0), []byte(`{}`))
	f.Add(uint8(1), uint8(0), uint8(0), []byte(`{"username":"fuzzer","password":"fuzz-password-1","transport":"cookie"}`))

	f.Fuzz(func(t *testing.T, route, ctype, enc uint8, body []byte) {
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		status, hdr, b := do(t, route, ctype, enc, body)
		if status >= 500 && status != 503 {
			t.Fatalf("POST %s %q: %d %s", r.path, body, status, b)
		}
		if !slices.Contains(r.statuses, status) {
			t.Fatalf("POST %s %q: unexpected status %d %s", r.path, body, status, b)
		}
		if hdr("Cache-Control") != "no-store" {
			t.Fatalf("POST %s: %d without Cache-Control: no-store", r.path, status)
		}
		var p Problem
		if status >= 400 {
			if ct := hdr("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("POST %s %q: %d with Content-Type %q", r.path, body, status, ct)
			}
			if err := json.Unmarshal(b, &p); err != nil || p.Code == "" || p.Status != status ||
				p.Type != ProblemTypePrefix+p.Code || p.Title == "" {
				t.Fatalf("POST %s %q: %d problem %s (%v)", r.path, body, status, b, err)
			}
			if status == 401 && hdr("WWW-Authenticate") == "" {
				t.Fatalf("POST %s: 401 without WWW-Authenticate", r.path)
			}
		} else {
			if status != r.ok || !strings.HasPrefix(hdr("Content-Type"), "application/json") || !json.Valid(b) {
				t.Fatalf("POST %s %q: %d %q %s", r.path, body, status, hdr("Content-Type"), b)
			}
		}
		if hdr("X-Request-Id") == "" {
			// Only a request refused before it reaches the application (by fasthttp) has no
			// request id. Here that is a multipart body, which fasthttp parses eagerly.
			ct := fuzzContentTypes[int(ctype)%len(fuzzContentTypes)].value
			if status == 400 && p.Code == "bad_request" && strings.HasPrefix(ct, "multipart/form-data") ||
				status == 413 && p.Code == "payload_too_large" && len(body) > 64<<10 {
				return
			}
			t.Fatalf("POST %s %q: %d %s without X-Request-Id", r.path, body, status, b)
		}
		if len(body) > 64<<10 || status == 503 {
			return
		}
		// What the decoders must have decided before any handler logic.
		want := func(st int, code string) {
			t.Helper()
			if status != st || p.Code != code {
				t.Fatalf("POST %s (Content-Type %q, Content-Encoding %q) %q: %d %s, want %d %s", r.path,
					fuzzContentTypes[int(ctype)%len(fuzzContentTypes)].value,
					fuzzEncodings[int(enc)%len(fuzzEncodings)].value, body, status, b, st, code)
			}
		}
		if !fuzzEncodings[int(enc)%len(fuzzEncodings)].ok {
			want(415, "unsupported_media_type")
			return
		}
		if r.path == "/v1/auth/refresh" && len(bytes.TrimSpace(body)) == 0 {
			// No body: the refresh token comes from the cookie, and none was sent.
			want(401, "invalid_refresh_token")
			return
		}
		if !fuzzContentTypes[int(ctype)%len(fuzzContentTypes)].ok {
			want(415, "unsupported_media_type")
			return
		}
		m, err := parseObject(body)
		switch {
		case err == errNotObject:
			want(422, "validation_failed")
			return
		case err != nil:
			want(400, "malformed_json")
			return
		}
		for k := range m {
			// Every field name the API uses is snake_case ASCII: anything else is unknown.
			if strings.Trim(k, "abcdefghijklmnopqrstuvwxyz_") != "" {
				want(422, "validation_failed")
				if p.Errors[k] != "unknown field" {
					t.Fatalf("POST %s %q: unknown field %q not named: %s", r.path, body, k, b)
				}
			}
		}
		if status < 300 {
			var v map[string]any
			if json.Unmarshal(b, &v) != nil || len(v) == 0 {
				t.Fatalf("POST %s: %d with body %s", r.path, status, b)
			}
		}
	})
}
