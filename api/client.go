package api

import (
	"net"
	"strings"

	"github.com/gofiber/fiber/v2"

	"boxoffice/auth"
)

// clientIP is the client's address: from the trusted proxy's header when one is configured
// (Fiber checks the peer), else the peer address. A missing or malformed header falls back to
// the peer, so clients never share an empty bucket.
func clientIP(c *fiber.Ctx) string {
	if ip := net.ParseIP(strings.TrimSpace(c.IP())); ip != nil {
		return ip.String()
	}
	return c.Context().RemoteIP().String()
}

// userAgent returns the request's User-Agent cleaned by auth.CleanUserAgent (at most 256 bytes
// of valid UTF-8 without control, format or invisible characters), in memory of its own.
func userAgent(c *fiber.Ctx) string {
	return auth.CleanUserAgent(c.Get(fiber.HeaderUserAgent))
}
