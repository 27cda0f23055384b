// Package listen starts a peer's Fiber app on a loopback port of the kernel's choosing and
// tells the harness where: the first line on stdout is "listening 127.0.0.1:PORT".
package listen

import (
	"fmt"
	"net"
	"os"

	"github.com/gofiber/fiber/v2"
)

// Serve listens on addr (":0"-style addresses included), prints the bound address on stdout and
// serves app until the process is stopped. It returns only the listener's or the server's error.
func Serve(app *fiber.App, addr string) error {
	ln, err := net.Listen("tcp4", addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "listening %s\n", ln.Addr())
	return app.Listener(ln)
}
