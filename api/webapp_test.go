package api

import (
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gofiber/fiber/v2"

	"boxoffice/web"
)

// webTestApp serves fsys the way routes() does, behind the common headers and the problem
// error handler.
func webTestApp(fsys fs.FS) *fiber.App {
	app := fiber.New(fiber.Config{ErrorHandler: errorHandler(slog.New(slog.DiscardHandler), func(string) []string { return nil })})
	app.Use(securityHeaders())
	h := handleWebApp(fsys)
	app.Get("/", h)
	app.Get("/app/:asset", h)
	return app
}

func webGet(t *testing.T, app *fiber.App, path string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// TestWebAppServesTheClient: / is the client's page and /app/{asset} its files, each with its
// media type, the strict CSP, Cache-Control: no-cache and an ETag that If-None-Match turns
// into a 304; the page references only files that are served, and has no inline script or
// style the CSP would block; anything else under /app is a 404 problem.
func TestWebAppServesTheClient(t *testing.T) {
	app := webTestApp(web.Assets())
	resp, page := webGet(t, app, "/")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != fiber.MIMETextHTMLCharsetUTF8 {
		t.Fatalf("GET /: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if csp := resp.Header.Get("Content-Security-Policy"); csp != webCSP ||
		!strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe") {
		t.Fatalf("GET /: CSP %q", csp)
	}
	if cc, etag := resp.Header.Get("Cache-Control"), resp.Header.Get("ETag"); cc != "no-cache" || !strings.HasPrefix(etag, `"`) {
		t.Fatalf("GET /: Cache-Control %q, ETag %q", cc, etag)
	}
	if regexp.MustCompile(`<script(?:\s+type="module")?>|\sstyle=|\son[a-z]+=`).MatchString(page) {
		t.Fatalf("index.html has inline script, style or event handlers that its CSP forbids:\n%s", page)
	}
	types := map[string]string{".js": fiber.MIMEApplicationJavaScriptCharsetUTF8, ".css": "text/css; charset=utf-8"}
	refs := regexp.MustCompile(`(?:src|href)="(/app/[^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 2 {
		t.Fatalf("index.html references %v, want app.js and app.css", refs)
	}
	for _, r := range refs {
		resp, body := webGet(t, app, r[1])
		want := types[r[1][strings.LastIndex(r[1], "."):]]
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != want || body == "" ||
			resp.Header.Get("Content-Security-Policy") != webCSP || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("GET %s: %d %q", r[1], resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		etag := resp.Header.Get("ETag")
		for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
			if resp, body := webGet(t, app, r[1], "If-None-Match", inm); resp.StatusCode != 304 || body != "" || resp.Header.Get("ETag") != etag {
				t.Fatalf("GET %s with If-None-Match %s: %d, %d bytes", r[1], inm, resp.StatusCode, len(body))
			}
		}
		if resp, _ := webGet(t, app, r[1], "If-None-Match", `"other"`); resp.StatusCode != 200 {
			t.Fatalf("GET %s with a stale If-None-Match: %d", r[1], resp.StatusCode)
		}
	}
	for _, p := range []string{"/app/index.html", "/app/nope.js", "/app/..%2Fweb.go", "/app/"} {
		if resp, body := webGet(t, app, p); resp.StatusCode != 404 || !strings.Contains(body, `"code":"not_found"`) {
			t.Fatalf("GET %s: %d %s, want a 404 problem", p, resp.StatusCode, body)
		}
	}
}

// TestWebAppContentTypes: files are typed by extension; sub-directories are not served.
func TestWebAppContentTypes(t *testing.T) {
	app := webTestApp(fstest.MapFS{
		"index.html":     {Data: []byte("<!doctype html>")},
		"logo.svg":       {Data: []byte("<svg/>")},
		"app.js.map":     {Data: []byte("{}")},
		"blob.unknownxx": {Data: []byte("x")},
		"sub/inner.js":   {Data: []byte("1")},
	})
	for path, want := range map[string]string{
		"/app/logo.svg": "image/svg+xml", "/app/app.js.map": fiber.MIMEApplicationJSONCharsetUTF8,
		"/app/blob.unknownxx": fiber.MIMEOctetStream,
	} {
		if resp, _ := webGet(t, app, path); resp.StatusCode != 200 || resp.Header.Get("Content-Type") != want {
			t.Errorf("GET %s: %d %q, want %q", path, resp.StatusCode, resp.Header.Get("Content-Type"), want)
		}
	}
	if resp, _ := webGet(t, app, "/app/sub"); resp.StatusCode != 404 {
		t.Errorf("GET /app/sub: %d, want 404", resp.StatusCode)
	}
}

// TestWebAppUnreadable: a file system that cannot be read fails every request with a 500
// (the cause is logged), rather than serving part of the client.
func TestWebAppUnreadable(t *testing.T) {
	if resp, body := webGet(t, webTestApp(brokenFS{}), "/"); resp.StatusCode != 500 || !strings.Contains(body, "internal_error") {
		t.Fatalf("GET / over a broken file system: %d %s", resp.StatusCode, body)
	}
}

type brokenFS struct{}

func (brokenFS) Open(string) (fs.File, error) { return nil, errors.New("disk on fire") }

// TestWebAppOnlyWithDeps: a server built without Deps.Web serves no page at /.
func TestWebAppOnlyWithDeps(t *testing.T) {
	ts, _ := buildTestServer(t, testServerOptions{tickets: openSQLite, noWeb: true})
	for _, p := range []string{"/", "/app/app.js"} {
		if resp, _ := ts.call(t, "GET", p, "", ""); resp.StatusCode != 404 {
			t.Fatalf("GET %s without Deps.Web: %d, want 404", p, resp.StatusCode)
		}
	}
}
