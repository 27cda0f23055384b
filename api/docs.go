package api

import (
	"embed"

	"github.com/gofiber/fiber/v2"
)

//go:embed docsui/index.html docsui/init.js docsui/swagger-ui-bundle.js docsui/swagger-ui.css
var docsUI embed.FS

// docsCSP lets the reference page run its own scripts and call this origin, nothing else.
const docsCSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

// handleSpec serves the contract as-is in the given media type.
func handleSpec(body []byte, contentType string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, contentType)
		return c.Send(body)
	}
}

// handleDocs serves the interactive API reference (Swagger UI, embedded at build time from the
// npm package pinned in tools/package-lock.json).
func handleDocs() fiber.Handler {
	return func(c *fiber.Ctx) error {
		name := "index.html"
		if a := c.Params("asset"); a != "" {
			name = a
		}
		types := map[string]string{
			"index.html":           fiber.MIMETextHTMLCharsetUTF8,
			"init.js":              fiber.MIMEApplicationJavaScriptCharsetUTF8,
			"swagger-ui-bundle.js": fiber.MIMEApplicationJavaScriptCharsetUTF8,
			"swagger-ui.css":       "text/css; charset=utf-8",
		}
		ct, ok := types[name]
		if !ok || (name == "index.html" && c.Params("asset") != "") {
			return errNotFound
		}
		b, err := docsUI.ReadFile("docsui/" + name)
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentSecurityPolicy, docsCSP)
		c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
		c.Set(fiber.HeaderContentType, ct)
		return c.Send(b)
	}
}
