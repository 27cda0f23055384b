package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gofiber/fiber/v2"

	"boxoffice"
	"boxoffice/accounts"
	"boxoffice/session"
)

// rowExamples returns errors a row is for: its sentinel, or for a class row the errors at the
// ends of its class.
func rowExamples(t *testing.T, r problemRow) []error {
	switch c := r.err.(type) {
	case fiberStatus:
		return []error{fiber.NewError(c.lo), fiber.NewError(c.hi)}
	case anyError:
		return []error{errors.New("boom"), fiber.NewError(599)}
	case errorClass:
		t.Fatalf("class %T has no examples: add them here", c)
	}
	return []error{r.err}
}

// TestProblemTableRows: every row maps its errors, bare or wrapped, to its status and code with
// a title and a detail, and no row is shadowed by an earlier one or listed twice. Class rows
// take nothing from the error; the last row takes every error.
func TestProblemTableRows(t *testing.T) {
	seen := map[error]bool{}
	for i, r := range problemTable {
		if seen[r.err] {
			t.Errorf("%q has two rows; the second is dead", r.err)
		}
		seen[r.err] = true
		_, isClass := r.err.(errorClass)
		if _, isAny := r.err.(anyError); isAny != (i == len(problemTable)-1) {
			t.Errorf("row %d (%q): anyError must be the last row, and only it", i, r.err)
		}
		if r.title == "" || (isClass && r.detail == "") {
			t.Errorf("row %q has no title or, as a class row, no detail", r.err)
		}
		for _, ex := range rowExamples(t, r) {
			for _, err := range []error{ex, fmt.Errorf("x: %w", ex)} {
				p, retry := problemFor(err)
				if p.Status != r.status || p.Code != r.code || p.Type != ProblemTypePrefix+r.code ||
					p.Title != r.title || p.Detail == "" || (r.detail != "" && p.Detail != r.detail) {
					t.Errorf("problemFor(%q) = %+v, want %d %s", err, p, r.status, r.code)
				}
				wantRetry := map[bool]time.Duration{true: time.Second}[r.status == 503 && !isClass]
				if retry != wantRetry {
					t.Errorf("problemFor(%q) retry = %v, want %v", err, retry, wantRetry)
				}
			}
		}
	}
}

// problemSpec is the Problem schema of openapi.yaml: the code enum, and each code's status
// from the table in the code's description.
func problemSpec(t *testing.T) (enum []string, status map[string]int) {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(boxoffice.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	problem := doc.Components.Schemas["Problem"]
	if problem == nil || problem.Value.Properties["code"] == nil {
		t.Fatal("openapi.yaml has no Problem.code")
	}
	code := problem.Value.Properties["code"].Value
	for _, v := range code.Enum {
		enum = append(enum, fmt.Sprint(v))
	}
	status = map[string]int{}
	for _, m := range regexp.MustCompile("(?m)^\\| (\\d{3}) \\| `([a-z_]+)` \\|").FindAllStringSubmatch(code.Description, -1) {
		status[m[2]], _ = strconv.Atoi(m[1])
	}
	return enum, status
}

// producedCode is a code problemFor can produce, with its status.
type producedCode struct {
	code   string
	status int
}

// producedCodes returns every code problemFor can produce, with its status: the table's rows,
// and what it gives for every status Fiber could raise and for an unknown error (which
// TestProblemTableRows checks come from rows too).
func producedCodes() []producedCode {
	var out []producedCode
	for _, r := range problemTable {
		out = append(out, producedCode{r.code, r.status})
	}
	for status := 400; status < 600; status++ {
		p, _ := problemFor(fiber.NewError(status))
		out = append(out, producedCode{p.Code, p.Status})
	}
	p, _ := problemFor(errors.New("unknown"))
	return append(out, producedCode{p.Code, p.Status})
}

// unproducedCodes are Problem.code enum values that problemFor does not produce, and what
// produces them instead. None today: keep it exact.
var unproducedCodes = map[string]string{}

// TestProblemCodesMatchSpec: the codes problemFor produces and openapi.yaml's Problem.code enum
// are the same set, and each code has the status the spec's table gives it.
func TestProblemCodesMatchSpec(t *testing.T) {
	enum, specStatus := problemSpec(t)
	produced := map[string]bool{}
	for _, pc := range producedCodes() {
		produced[pc.code] = true
		if !slices.Contains(enum, pc.code) {
			t.Errorf("code %q is produced but not in openapi.yaml's Problem.code enum", pc.code)
		}
		if specStatus[pc.code] != pc.status {
			t.Errorf("code %q is produced with status %d; openapi.yaml's table says %d", pc.code, pc.status, specStatus[pc.code])
		}
	}
	for _, code := range enum {
		made := produced[code]
		_, excused := unproducedCodes[code]
		switch {
		case made && excused:
			t.Errorf("code %q is produced: remove it from unproducedCodes", code)
		case !made && !excused:
			t.Errorf("openapi.yaml's Problem.code %q is produced by no problemTable row", code)
		}
	}
	if len(specStatus) != len(enum) {
		t.Errorf("openapi.yaml's code table has %d rows, the enum %d values", len(specStatus), len(enum))
	}
}

// sentinelsWithoutRow are the exported sentinels of session, auth, accounts and tickets that
// have no problemTable row, and why that is right. Keep it exact.
var sentinelsWithoutRow = map[string]string{
	// The API turns it into 422 validation_failed on the cursor field (listError).
	"session.ErrBadCursor": "listError",
	// Returned only for ids the server generated or already validated (token issuing,
	// refresh-token derivation); the API answers malformed ids in paths with 404 before any
	// store call. Reaching HTTP would be a bug: 500.
	"auth.ErrInvalidID": "internal",
	// A stored password hash the server cannot read: data corruption, a 500 by design.
	"auth.ErrHashFormat": "internal",
	// Returned by Store.StartCache at start-up only (cmd/boxoffice logs it and runs without
	// the cache); no request reaches it.
	"session.ErrCacheUnsupported": "start-up",
	// Returned by NewKeyRing, at start-up only (the configuration is refused).
	"auth.ErrKeyTooShort": "start-up",
	// Field messages, shown in a 422's errors (FieldErrors, validationError), never returned
	// bare.
	"auth.ErrPasswordTooShort":     "field message",
	"auth.ErrPasswordTooLong":      "field message",
	"auth.ErrPasswordInvalid":      "field message",
	"auth.ErrUsernameLength":       "field message",
	"auth.ErrUsernameChars":        "field message",
	"auth.ErrUsernameScripts":      "field message",
	"auth.ErrUsernameEdge":         "field message",
	"auth.ErrUsernameInvisible":    "field message",
	"auth.ErrDisplayName":          "field message",
	"auth.ErrDisplayNameInvisible": "field message",
}

// exportedSentinels reads the non-test sources of the packages in dirs and returns each
// exported package-level Err… variable, as "pkg.ErrName", with the text of its errors.New, or
// "" when it is not built by errors.New with a literal.
func exportedSentinels(t *testing.T, dirs ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	fset := token.NewFileSet()
	for _, dir := range dirs {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		if len(files) == 0 {
			t.Fatalf("no sources in %s", dir)
		}
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			for _, decl := range f.Decls {
				gd, ok := decl.(*ast.GenDecl)
				if !ok || gd.Tok != token.VAR {
					continue
				}
				for _, spec := range gd.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, name := range vs.Names {
						if !name.IsExported() || !strings.HasPrefix(name.Name, "Err") {
							continue
						}
						text := ""
						if i < len(vs.Values) {
							text = errorsNewText(vs.Values[i])
						}
						out[f.Name.Name+"."+name.Name] = text
					}
				}
			}
		}
	}
	return out
}

// errorsNewText returns the literal text of errors.New("…"), or "".
func errorsNewText(e ast.Expr) string {
	call, ok := e.(*ast.CallExpr)
	if !ok || len(call.Args) != 1 {
		return ""
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "New" || fmt.Sprint(sel.X) != "errors" {
		return ""
	}
	lit, ok := call.Args[0].(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return ""
	}
	s, _ := strconv.Unquote(lit.Value)
	return s
}

// TestEverySentinelHasAProblem: each exported sentinel error of session, auth, accounts and
// tickets has a problemTable row (matched by its text, which the test requires to be unique) or a reasoned
// place in sentinelsWithoutRow, so a new sentinel cannot silently become a 500.
func TestEverySentinelHasAProblem(t *testing.T) {
	sentinels := exportedSentinels(t, "../session", "../auth", "../accounts", "../tickets")
	inTable := map[string]bool{}
	for _, r := range problemTable {
		inTable[r.err.Error()] = true
	}
	byText := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(sentinels)) {
		text := sentinels[name]
		_, excused := sentinelsWithoutRow[name]
		switch {
		case text == "":
			t.Errorf("%s is not errors.New(\"…\"): give this test a way to find its row", name)
			continue
		case byText[text] != "":
			t.Errorf("%s and %s have the same text %q: rows cannot tell them apart", byText[text], name, text)
		case inTable[text] && excused:
			t.Errorf("%s has a row: remove it from sentinelsWithoutRow", name)
		case !inTable[text] && !excused:
			t.Errorf("%s (%q) has no problemTable row: add one, or explain in sentinelsWithoutRow why it never reaches HTTP", name, text)
		}
		byText[text] = name
	}
	for name := range sentinelsWithoutRow {
		if _, ok := sentinels[name]; !ok {
			t.Errorf("sentinelsWithoutRow names %s, which is not an exported sentinel", name)
		}
	}
	// The one excused sentinel that does reach HTTP, through listError.
	p, _ := problemFor(listError(fmt.Errorf("list: %w", session.ErrBadCursor)))
	if p.Status != 422 || p.Code != "validation_failed" || p.Errors["cursor"] == "" {
		t.Errorf("a bad cursor gives %+v, want 422 validation_failed on cursor", p)
	}
}

// TestTypedErrorProblems: errors that carry data give it to the problem, and 5xx and unknown
// errors say nothing about their cause.
func TestTypedErrorProblems(t *testing.T) {
	limit := &session.DataLimitError{Keys: 70, Bytes: 900, MaxKeys: 64, MaxBytes: 16384}
	for _, tc := range []struct {
		name      string
		err       error
		status    int
		code      string
		detail    string // exact when set
		errs      map[string]string
		retry     time.Duration
		notDetail string // must not appear in the detail
	}{
		{"data limit", limit, 413, "session_data_too_large", limit.Error(), nil, 0, ""},
		{"throttled", &accounts.ThrottledError{RetryAfter: 90 * time.Second}, 429, "too_many_attempts", "", nil, 90 * time.Second, ""},
		{"rotation busy", &session.RotationBusyError{RetryAfter: 1500 * time.Millisecond}, 429, "too_many_attempts", "", nil, 1500 * time.Millisecond, ""},
		{"field errors", accounts.FieldErrors{"x": "y"}, 422, "validation_failed", "", map[string]string{"x": "y"}, 0, ""},
		{"request fields", &validationError{map[string]string{"limit": "bad"}}, 422, "validation_failed", "", map[string]string{"limit": "bad"}, 0, ""},
		{"malformed body", &malformedError{"Duplicate key \"a\"."}, 400, "malformed_json", "Duplicate key \"a\".", nil, 0, ""},
		{"invalid data", fmt.Errorf("%w: keys must not contain control characters", session.ErrInvalidData), 422, "invalid_session_data",
			"invalid session data: keys must not contain control characters", nil, 0, ""},
		{"unavailable", fmt.Errorf("%w: get: dial tcp 10.1.2.3:6379: refused", session.ErrUnavailable), 503, "service_unavailable", "", nil, time.Second, "10.1.2.3"},
		{"unknown", errors.New("strconv: parsing \"secret-internal\""), 500, "internal_error", "", nil, 0, "secret-internal"},
		{"fiber error", fiber.NewError(418, "teapot internals"), 400, "bad_request", "", nil, 0, "teapot"},
		{"fiber 5xx", fiber.NewError(502, "upstream internals"), 500, "internal_error", "", nil, 0, "upstream"},
	} {
		p, retry := problemFor(tc.err)
		if p.Status != tc.status || p.Code != tc.code || p.Type != ProblemTypePrefix+tc.code || p.Title == "" || p.Detail == "" {
			t.Errorf("%s: %+v, want %d %s", tc.name, p, tc.status, tc.code)
		}
		if (tc.detail != "" && p.Detail != tc.detail) || (tc.notDetail != "" && strings.Contains(p.Detail, tc.notDetail)) {
			t.Errorf("%s: detail %q", tc.name, p.Detail)
		}
		if !maps.Equal(p.Errors, tc.errs) || retry != tc.retry {
			t.Errorf("%s: errors %v retry %v, want %v %v", tc.name, p.Errors, retry, tc.errs, tc.retry)
		}
	}
}

// TestErrorHandlerHeaders: the real error handler gives every problem its media type and
// no-store, a Bearer challenge on 401 (naming the code only when a bearer token was sent),
// Retry-After in whole seconds rounded up on 429 and 503, and Allow on 405.
func TestErrorHandlerHeaders(t *testing.T) {
	allow := func(string) []string { return []string{"GET", "HEAD"} }
	app := fiber.New(fiber.Config{ErrorHandler: errorHandler(slog.New(slog.DiscardHandler), allow)})
	var fail error
	app.Get("/fail", func(*fiber.Ctx) error { return fail })
	for _, tc := range []struct {
		name   string
		err    error
		bearer bool
		status int
		hdr    map[string]string // "" means absent
	}{
		{"revoked, bearer", session.ErrRevoked, true, 401, map[string]string{"WWW-Authenticate": `Bearer realm="boxoffice", error="invalid_token", error_description="session_revoked"`, "Retry-After": ""}},
		{"revoked, cookie", session.ErrRevoked, false, 401, map[string]string{"WWW-Authenticate": `Bearer realm="boxoffice"`}},
		{"missing token", errMissingToken, false, 401, map[string]string{"WWW-Authenticate": `Bearer realm="boxoffice"`}},
		{"throttled", &accounts.ThrottledError{RetryAfter: 90 * time.Second}, false, 429, map[string]string{"Retry-After": "90", "WWW-Authenticate": ""}},
		{"throttled briefly", &accounts.ThrottledError{RetryAfter: 100 * time.Millisecond}, false, 429, map[string]string{"Retry-After": "1"}},
		{"rotation busy", &session.RotationBusyError{RetryAfter: 1500 * time.Millisecond}, true, 429, map[string]string{"Retry-After": "2"}},
		{"unavailable", fmt.Errorf("%w: timeout", session.ErrUnavailable), true, 503, map[string]string{"Retry-After": "1", "WWW-Authenticate": ""}},
		{"method", fiber.ErrMethodNotAllowed, false, 405, map[string]string{"Allow": "GET, HEAD"}},
		{"fiber 404", fiber.NewError(404, "Cannot GET /fail"), false, 404, map[string]string{"Allow": "", "Retry-After": ""}},
		{"rate limited", fiber.ErrTooManyRequests, false, 429, map[string]string{"Retry-After": ""}},
		{"body too large", fiber.ErrRequestEntityTooLarge, true, 413, map[string]string{"WWW-Authenticate": ""}},
		{"validation", accounts.FieldErrors{"x": "y"}, true, 422, map[string]string{"Retry-After": "", "WWW-Authenticate": "", "Allow": ""}},
		{"unknown", errors.New("boom"), false, 500, map[string]string{"Retry-After": ""}},
	} {
		fail = tc.err
		req := httptest.NewRequest("GET", "/fail", nil)
		if tc.bearer {
			req.Header.Set("Authorization", "Bearer x")
		}
		resp, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		var p Problem
		if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || p.Status != tc.status || resp.StatusCode != tc.status {
			t.Errorf("%s: %d %+v %v, want %d", tc.name, resp.StatusCode, p, err, tc.status)
		}
		resp.Body.Close()
		want := map[string]string{"Content-Type": "application/problem+json", "Cache-Control": "no-store"}
		maps.Copy(want, tc.hdr)
		for h, v := range want {
			if got := resp.Header.Get(h); got != v {
				t.Errorf("%s: %s = %q, want %q", tc.name, h, got, v)
			}
		}
	}
}

// TestServerProblemHeaders: the same headers, a request id and the security headers come out
// of the assembled server, for errors raised by handlers, by the router, before Fiber (an
// unknown method) and by fasthttp before any middleware ran (a body over the limit).
func TestServerProblemHeaders(t *testing.T) {
	ts := newTestServer(t)
	ts.srv.SetDraining(true)
	for _, tc := range []struct {
		method, path, token string
		status              int
		code                string
		hdr                 map[string]string
	}{
		{"GET", "/v1/me", "", 401, "missing_token", map[string]string{"WWW-Authenticate": `Bearer realm="boxoffice"`}},
		{"GET", "/v1/me", "not-a-jwt", 401, "invalid_token", map[string]string{"WWW-Authenticate": `Bearer realm="boxoffice", error="invalid_token", error_description="invalid_token"`}},
		{"GET", "/readyz", "", 503, "service_unavailable", map[string]string{"Retry-After": "1"}},
		{"PUT", "/v1/me", "", 405, "method_not_allowed", map[string]string{"Allow": "GET, HEAD"}},
		{"BREW", "/v1/me", "", 405, "method_not_allowed", map[string]string{"Allow": "GET, HEAD"}},
		{"GET", "/v1/nowhere", "", 404, "not_found", nil},
		// An unknown method on a path no route serves is a 404, like a known one (PUT): a 405
		// there would have to list no method at all.
		{"BREW", "/v1/nowhere", "", 404, "not_found", nil},
		{"BREW", "/v1//me", "", 404, "not_found", nil},
	} {
		resp, b := ts.call(t, tc.method, tc.path, tc.token, "")
		checkProblem(t, tc.method+" "+tc.path, resp, b, tc.status, tc.code, tc.hdr)
	}

	// A body over the limit is refused by fasthttp, which closes the connection: over TCP.
	resp, err := http.Post(serveTCP(t, ts)+"/v1/users", "application/json", strings.NewReader(`{"name":"`+strings.Repeat("x", 64<<10)+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	checkProblem(t, "a body over the limit", resp, b, 413, "payload_too_large", nil)
}

// checkProblem fails t unless resp is the problem code with status and a request id, with the
// problem headers, the security headers and hdr ("" meaning absent).
func checkProblem(t *testing.T, name string, resp *http.Response, b []byte, status int, code string, hdr map[string]string) {
	t.Helper()
	var p Problem
	if err := json.Unmarshal(b, &p); err != nil || resp.StatusCode != status || p.Code != code || p.RequestID == "" {
		t.Errorf("%s: %d %s, want %d %s", name, resp.StatusCode, b, status, code)
	}
	want := map[string]string{"Content-Type": "application/problem+json", "Cache-Control": "no-store", "X-Request-Id": p.RequestID,
		"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
		"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'"}
	maps.Copy(want, hdr)
	for h, v := range want {
		if got := resp.Header.Get(h); got != v {
			t.Errorf("%s: %s = %q, want %q", name, h, got, v)
		}
	}
}

// TestUnknownMethodIsFibers405: a method Fiber does not know gets, byte for byte, the problem
// and problem headers of a known method the route lacks, the client's request id included.
func TestUnknownMethodIsFibers405(t *testing.T) {
	ts := newTestServer(t)
	var bodies [][]byte
	var headers []map[string]string
	for _, method := range []string{"PUT", "BREW"} {
		resp, b := ts.call(t, method, "/v1/me", "", "", "X-Request-Id", "client-chosen-id.1")
		if resp.StatusCode != 405 {
			t.Fatalf("%s: %d %s", method, resp.StatusCode, b)
		}
		h := map[string]string{}
		for _, name := range []string{"Content-Type", "Cache-Control", "Allow", "X-Request-Id", "Retry-After", "WWW-Authenticate"} {
			h[name] = resp.Header.Get(name)
		}
		bodies, headers = append(bodies, b), append(headers, h)
	}
	if string(bodies[0]) != string(bodies[1]) || !maps.Equal(headers[0], headers[1]) {
		t.Errorf("PUT and BREW differ:\n%s %v\n%s %v", bodies[0], headers[0], bodies[1], headers[1])
	}
	if headers[1]["X-Request-Id"] != "client-chosen-id.1" || !strings.Contains(string(bodies[1]), `"request_id":"client-chosen-id.1"`) {
		t.Errorf("BREW did not keep the client's request id: %v %s", headers[1], bodies[1])
	}
}

// problemWriters are the only places outside problem.go allowed to use the problem writer's
// parts, and why.
var problemWriters = map[string]string{
	"metrics.go mimeProblem": "problemCode recognises a problem response by its media type to count it",
}

// successStatuses are the fiber/http status constants a handler may set itself.
var successStatuses = map[string]bool{
	"StatusOK": true, "StatusCreated": true, "StatusAccepted": true, "StatusNoContent": true,
	"StatusNotModified": true, "StatusPartialContent": true, "StatusSeeOther": true, "StatusFound": true,
	"StatusMovedPermanently": true, "StatusTemporaryRedirect": true, "StatusPermanentRedirect": true,
}

// strayProblems lists what in file f (named name) builds or sends a problem other than through
// problem.go: a Problem literal, the problem media type spelt out, the body encoder or media
// type constant, or an error status set by hand (a literal >= 400 or an error Status constant
// given to Status, SendStatus or SetStatusCode).
func strayProblems(fset *token.FileSet, name string, f *ast.File) []string {
	var out []string
	report := func(n ast.Node, what string) {
		out = append(out, fmt.Sprintf("%s: %s", fset.Position(n.Pos()), what))
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CompositeLit:
			if id, ok := n.Type.(*ast.Ident); ok && id.Name == "Problem" {
				report(n, "Problem literal")
			}
		case *ast.BasicLit:
			if n.Kind == token.STRING && strings.Contains(n.Value, "problem+json") {
				report(n, "problem media type spelt out")
			}
		case *ast.Ident:
			if n.Name == "renderProblem" || n.Name == "mimeProblem" {
				if _, ok := problemWriters[name+" "+n.Name]; !ok {
					report(n, n.Name+" used")
				}
			}
		case *ast.CallExpr:
			sel, ok := n.Fun.(*ast.SelectorExpr)
			if !ok || len(n.Args) != 1 || (sel.Sel.Name != "Status" && sel.Sel.Name != "SendStatus" && sel.Sel.Name != "SetStatusCode") {
				break
			}
			switch a := n.Args[0].(type) {
			case *ast.BasicLit:
				if v, _ := strconv.Atoi(a.Value); a.Kind == token.INT && v >= 400 {
					report(n, "error status set by hand")
				}
			case *ast.SelectorExpr:
				pkg, _ := a.X.(*ast.Ident)
				if pkg != nil && (pkg.Name == "fiber" || pkg.Name == "http" || pkg.Name == "fasthttp") &&
					strings.HasPrefix(a.Sel.Name, "Status") && !successStatuses[a.Sel.Name] {
					report(n, "error status set by hand")
				}
			}
		}
		return true
	})
	return out
}

// TestProblemsOnlyFromProblemTable: no non-test source of the package but problem.go builds a
// problem body, spells its media type, or sets an error status itself; every problem the API
// sends comes from problemTable through writeProblem (or storedProblem).
func TestProblemsOnlyFromProblemTable(t *testing.T) {
	fset := token.NewFileSet()
	files, _ := filepath.Glob("*.go")
	used := map[string]bool{}
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") || file == "problem.go" {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, stray := range strayProblems(fset, file, f) {
			t.Errorf("%s: build problems in problem.go (problemTable, writeProblem)", stray)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok {
				used[file+" "+id.Name] = true
			}
			return true
		})
	}
	for k := range problemWriters {
		if !used[k] {
			t.Errorf("problemWriters names %q, which is no longer used: remove it", k)
		}
	}
	// The checker itself finds each kind of stray.
	src := `package api
func h(c *fiber.Ctx) error {
	_ = Problem{Status: 418}
	c.Set("Content-Type", "application/problem+json")
	_ = renderProblem
	c.Status(fiber.StatusTeapot)
	c.Status(429)
	c.Status(fiber.StatusCreated)
	return c.SendStatus(fiber.StatusNoContent)
}`
	f, err := parser.ParseFile(fset, "stray.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := strayProblems(fset, "stray.go", f); len(got) != 5 {
		t.Errorf("the checker found %d strays in its sample, want 5: %q", len(got), got)
	}
}
