// Command fibersession is a peer of the harness (go run ./bench/peers): Fiber's own session
// middleware (github.com/gofiber/fiber/v2/middleware/session) over Redis
// (github.com/gofiber/storage/redis/v3), the way its documentation sets it up. The session id is
// the "session_id" cookie; the session's data is a gob-encoded map stored under that id with a
// TTL. There is no revocation list, no absolute deadline and no protection against lost updates.
//
// Routes:
//
//	GET /login    creates a session holding user and theme, saves it, sets the cookie
//	GET /session  Get + Save: loads the session, answers it, saves it again (slides its TTL:
//	              one GET and one SET in Redis)
//	GET /read     read only: loads the session and answers it (one GET)
//
// /session and /read answer 401 for an unknown or expired session.
//
// Usage: fibersession [-addr 127.0.0.1:0] with REDIS_URL set. It prints "listening ADDR" on
// stdout once it accepts.
package main

import (
	"flag"
	"log"
	"os"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/session"
	"github.com/gofiber/storage/redis/v3"

	"boxoffice/bench/peers/internal/listen"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	flag.Parse()
	url := os.Getenv("REDIS_URL")
	if url == "" {
		log.Fatal("REDIS_URL must be set")
	}
	store := session.New(session.Config{Storage: redis.New(redis.Config{URL: url})})

	answer := func(c *fiber.Ctx, s *session.Session) error {
		return c.JSON(fiber.Map{"id": s.ID(), "user": s.Get("user"), "theme": s.Get("theme")})
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/login", func(c *fiber.Ctx) error {
		s, err := store.Get(c)
		if err != nil {
			return err
		}
		s.Set("user", "peerbench")
		s.Set("theme", "dark")
		return s.Save()
	})
	app.Get("/session", func(c *fiber.Ctx) error {
		s, err := store.Get(c)
		if err != nil {
			return err
		}
		if s.Fresh() || s.Get("user") == nil {
			return fiber.ErrUnauthorized
		}
		if err := answer(c, s); err != nil {
			return err
		}
		return s.Save()
	})
	app.Get("/read", func(c *fiber.Ctx) error {
		s, err := store.Get(c)
		if err != nil {
			return err
		}
		if s.Fresh() || s.Get("user") == nil {
			return fiber.ErrUnauthorized
		}
		return answer(c, s)
	})
	log.Fatal(listen.Serve(app, *addr))
}
