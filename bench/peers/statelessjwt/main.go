// Command statelessjwt is a peer of the harness (go run ./bench/peers): a Fiber app that
// authenticates every request with a stateless HS256 JWT (github.com/golang-jwt/jwt/v5) and
// consults no store. It is as fast as a token check gets, and it cannot revoke anything: a
// stolen or signed-out token is accepted until it expires.
//
// GET /me verifies "Authorization: Bearer <jwt>" — HS256 only, signature, exp (required), iss
// and aud — and answers the claims as JSON; anything else is 401.
//
// Usage: statelessjwt [-addr 127.0.0.1:0] with BENCH_JWT_SECRET set (the harness signs the token
// with the same secret, issuer "peer-bench" and audience "peer-bench"). It prints
// "listening ADDR" on stdout once it accepts.
package main

import (
	"flag"
	"log"
	"os"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"

	"boxoffice/bench/peers/internal/listen"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	flag.Parse()
	secret := []byte(os.Getenv("BENCH_JWT_SECRET"))
	if len(secret) < 32 {
		log.Fatal("BENCH_JWT_SECRET must be set (at least 32 bytes)")
	}
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer("peer-bench"),
		jwt.WithAudience("peer-bench"),
	)
	key := func(*jwt.Token) (any, error) { return secret, nil }

	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/me", func(c *fiber.Ctx) error {
		raw, ok := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
		if !ok {
			return fiber.ErrUnauthorized
		}
		var claims jwt.RegisteredClaims
		if _, err := parser.ParseWithClaims(raw, &claims, key); err != nil {
			return fiber.ErrUnauthorized
		}
		return c.JSON(fiber.Map{"sub": claims.Subject, "sid": claims.ID, "exp": claims.ExpiresAt.Unix()})
	})
	log.Fatal(listen.Serve(app, *addr))
}
