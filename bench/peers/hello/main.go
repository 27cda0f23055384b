// Command hello is the HTTP ceiling of the peer harness (go run ./bench/peers): a Fiber app that
// answers GET / with a constant text. No authentication, no store: what Fiber and the loopback
// cost per request on this machine.
//
// Usage: hello [-addr 127.0.0.1:0]. It prints "listening ADDR" on stdout once it accepts.
package main

import (
	"flag"
	"log"

	"github.com/gofiber/fiber/v2"

	"boxoffice/bench/peers/internal/listen"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	flag.Parse()
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/", func(c *fiber.Ctx) error { return c.SendString("Hello, World!") })
	log.Fatal(listen.Serve(app, *addr))
}
