// Package sessiontest starts throwaway Redis servers for tests: a real redis-server process on
// a free loopback port when the binary is installed, else the embedded miniredis.
package sessiontest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Kinds of server.
const (
	KindServer = "redis-server"
	KindMini   = "miniredis"
)

// Redis is one throwaway server. Only processes it started are ever signalled, by PID.
type Redis struct {
	Kind string
	Addr string // 127.0.0.1:port
	dir  string
	args []string
	cmd  *exec.Cmd
	mini *miniredis.Miniredis
}

// URL is the redis:// URL of the server.
func (r *Redis) URL() string { return "redis://" + r.Addr }

// RequireServer reports whether tests must use a real redis-server: in CI (CI=true) or when
// BOXOFFICE_TEST_REDIS=server.
func RequireServer() bool {
	return os.Getenv("CI") == "true" || os.Getenv("BOXOFFICE_TEST_REDIS") == "server"
}

// HaveServer reports whether redis-server is on PATH.
func HaveServer() bool {
	_, err := exec.LookPath("redis-server")
	return err == nil
}

// Start returns a real redis-server when one is installed (required in CI), else miniredis.
// It is stopped when the test ends.
func Start(t testing.TB) *Redis {
	t.Helper()
	if HaveServer() || RequireServer() {
		return StartServer(t)
	}
	return StartMini(t)
}

// StartServer starts redis-server with extra config arguments (e.g. "--maxmemory", "2mb"). It
// skips the test when the binary is missing, unless RequireServer, when it fails.
func StartServer(t testing.TB, extra ...string) *Redis {
	t.Helper()
	if !HaveServer() {
		if RequireServer() {
			t.Fatal("redis-server is required (CI=true) but not on PATH")
		}
		t.Skip("redis-server not installed")
	}
	r, err := NewServer(t.TempDir(), extra...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// StartMini starts an embedded miniredis with TTLs following the wall clock.
func StartMini(t testing.TB) *Redis {
	t.Helper()
	r, err := NewMini()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// NewMini starts a miniredis listening on a free loopback port (for use outside a test, e.g.
// in TestMain); Close it.
func NewMini() (*Redis, error) {
	m := miniredis.NewMiniRedis()
	m.ClockTTL(true)
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, err
	}
	return &Redis{Kind: KindMini, Addr: m.Addr(), mini: m}, nil
}

// NewServer starts redis-server with its files in dir on a free loopback port; Close it.
func NewServer(dir string, extra ...string) (*Redis, error) {
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ { // a free port can be taken before we bind it
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		r, err := newOnPort(dir, port, serverArgs(dir, port, extra...))
		if err == nil {
			return r, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func serverArgs(dir string, port int, extra ...string) []string {
	return append([]string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--daemonize", "no", "--logfile", "",
	}, extra...)
}

// newOnPort starts redis-server with args, expecting it to answer on port.
func newOnPort(dir string, port int, args []string) (*Redis, error) {
	r := &Redis{Kind: KindServer, Addr: "127.0.0.1:" + strconv.Itoa(port), dir: dir, args: args}
	if err := r.startProcess(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Redis) startProcess() error {
	cmd := exec.Command("redis-server", r.args...)
	out, err := os.OpenFile(r.dir+"/redis.log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		out.Close()
		return err
	}
	r.cmd = cmd
	exited := make(chan struct{})
	go func() { cmd.Wait(); out.Close(); close(exited) }()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("redis-server exited at start: %s", tail(r.dir+"/redis.log"))
		default:
		}
		if ping(r.Addr) == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.kill(syscall.SIGKILL)
	return errors.New("redis-server did not answer PING within 5s")
}

// Close stops the server.
func (r *Redis) Close() {
	if r.mini != nil {
		r.mini.Close()
	}
	r.kill(syscall.SIGKILL)
}

// Kill stops a redis-server abruptly (its data is lost: nothing is persisted).
func (r *Redis) Kill() { r.kill(syscall.SIGKILL) }

// Restart starts a killed redis-server again on the same port.
func (r *Redis) Restart() error {
	if r.Kind != KindServer {
		return errors.New("sessiontest: only redis-server can restart")
	}
	return r.startProcess()
}

// Pause stops (SIGSTOP) a redis-server so that it accepts connections but never answers;
// Resume continues it.
func (r *Redis) Pause() { r.kill(syscall.SIGSTOP) }

// Resume continues a paused redis-server.
func (r *Redis) Resume() { r.kill(syscall.SIGCONT) }

func (r *Redis) kill(sig syscall.Signal) {
	if r.cmd != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Signal(sig)
		if sig == syscall.SIGKILL {
			for i := 0; i < 200 && ping(r.Addr) == nil; i++ {
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
}

// Client returns a go-redis client for the server, closed when the test ends.
func (r *Redis) Client(t testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: r.Addr, DisableIdentity: true})
	t.Cleanup(func() { c.Close() })
	return c
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago (another process may
// take it before the caller binds it; callers retry).
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ping sends an inline PING and expects +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
