package api

import (
	"crypto/sha256"
	"encoding/base64"
	"io/fs"
	"mime"
	"path"

	"github.com/gofiber/fiber/v2"
)

// webCSP lets the reference web client run its own script and stylesheet and call this origin
// (the API and its event streams), nothing else: no inline script or style, no other origin.
const webCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// webFile is one file of the web client, read once.
type webFile struct {
	body        []byte
	contentType string
	etag        string // a strong tag of the content
}

// handleWebApp serves the reference web client from fsys (see package web): GET / is its
// index.html, GET /app/{asset} the other files at fsys's root. Every answer revalidates
// (Cache-Control: no-cache, with a strong ETag answered by 304), so a new build is picked up
// at once. The files are read when the handler is made; when fsys cannot be read, every
// request fails with a 500 that logs why.
// openapi.yaml lists both routes, like /docs.
func handleWebApp(fsys fs.FS) fiber.Handler {
	files, err := loadWebApp(fsys)
	if err != nil {
		return func(*fiber.Ctx) error { return err }
	}
	return func(c *fiber.Ctx) error {
		name := "index.html"
		if a := c.Params("asset"); a != "" {
			name = a
		}
		f, ok := files[name]
		if !ok || (name == "index.html" && c.Params("asset") != "") {
			return errNotFound
		}
		c.Set(fiber.HeaderContentSecurityPolicy, webCSP)
		c.Set(fiber.HeaderCacheControl, "no-cache")
		c.Set(fiber.HeaderETag, f.etag)
		if noneMatch(c.Get(fiber.HeaderIfNoneMatch), f.etag) {
			c.Status(fiber.StatusNotModified) // no body, and no Content-Type for none
			c.Response().Header.SetNoDefaultContentType(true)
			return nil
		}
		c.Set(fiber.HeaderContentType, f.contentType)
		return c.Send(f.body)
	}
}

// loadWebApp reads the regular files at the root of fsys (sub-directories are not served).
func loadWebApp(fsys fs.FS) (map[string]webFile, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	files := map[string]webFile{}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		files[e.Name()] = webFile{body: b, contentType: webContentType(e.Name()),
			etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`}
	}
	return files, nil
}

// webContentType is the media type of a file of the web client, by its extension.
func webContentType(name string) string {
	switch ext := path.Ext(name); ext {
	case ".html":
		return fiber.MIMETextHTMLCharsetUTF8
	case ".js", ".mjs":
		return fiber.MIMEApplicationJavaScriptCharsetUTF8
	case ".css":
		return "text/css; charset=utf-8"
	case ".json", ".map":
		return fiber.MIMEApplicationJSONCharsetUTF8
	default:
		if t := mime.TypeByExtension(ext); t != "" {
			return t
		}
		return fiber.MIMEOctetStream
	}
}
