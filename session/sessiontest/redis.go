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
	"path/filepath"
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

// Redis is one throwaway server. Only processes it started are ever signalled, through the
// *os.Process of their start (never by name, never a PID read from elsewhere), and a process is
// only used once it is known to be the one listening on Addr.
type Redis struct {
	Kind   string
	Addr   string // 127.0.0.1:port
	dir    string
	args   []string
	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd has been waited for
	mini   *miniredis.Miniredis
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
	requireBinary(t, "redis-server", "Debian package redis-server", RequireServer())
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
	return startOnFreePort(dir, FreePort, func(port int) []string { return serverArgs(dir, port, extra...) })
}

// errPortTaken reports that the port chosen for a server was taken before the server bound it.
var errPortTaken = errors.New("port taken")

// startOnFreePort starts a redis-server (or sentinel) on a port from pick with args(port). redis-
// server cannot listen on port 0 and report the port, so a free port is picked first; another
// process may take it before redis-server binds it. Only that case is retried, with another
// port: the server then exits with "Address already in use", or a server that is not ours
// answers on the port, which the PID check of startProcess tells apart from ours.
func startOnFreePort(dir string, pick func() (int, error), args func(port int) []string) (*Redis, error) {
	var err error
	for attempt := 0; attempt < 8; attempt++ {
		var port int
		if port, err = pick(); err != nil {
			return nil, err
		}
		var r *Redis
		if r, err = newOnPort(dir, port, args(port)); err == nil {
			return r, nil
		}
		if !errors.Is(err, errPortTaken) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("redis-server: no free port after 8 attempts: %w", err)
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

// startTimeout bounds how long a starting redis-server may take to answer: a guard against a
// hang, far above what a loaded machine needs (no test measures it).
const startTimeout = 60 * time.Second

func (r *Redis) startProcess() error {
	logPath := filepath.Join(r.dir, "redis.log")
	out, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	var from int64 // this start's part of the log
	if fi, err := out.Stat(); err == nil {
		from = fi.Size()
	}
	cmd := exec.Command("redis-server", r.args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = SysProcAttr()
	if err := cmd.Start(); err != nil {
		out.Close()
		return err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); out.Close(); close(exited) }()
	r.cmd, r.exited = cmd, exited
	fail := func(err error) error {
		r.stopProcess()
		return err
	}
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			log := logSince(logPath, from)
			if strings.Contains(log, "Address already in use") {
				return fmt.Errorf("redis-server on %s: %w", r.Addr, errPortTaken)
			}
			return fmt.Errorf("redis-server exited at start: %s", log)
		default:
		}
		if ping(r.Addr) == nil {
			// Something answers: it must be this process, not another server that took the port.
			pid, err := serverPID(r.Addr)
			if err == nil && pid == cmd.Process.Pid {
				return nil
			}
			if err == nil {
				return fail(fmt.Errorf("redis-server on %s: pid %d answers, not ours (%d): %w", r.Addr, pid, cmd.Process.Pid, errPortTaken))
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fail(fmt.Errorf("redis-server did not answer PING within %s: %s", startTimeout, logSince(logPath, from)))
}

// stopProcess kills the process this Redis started last and waits until it has been reaped (so
// its port is closed and no zombie is left).
func (r *Redis) stopProcess() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGKILL) // a no-op once it was waited for
	if !waitExit(r.exited, startTimeout) {
		fmt.Fprintf(os.Stderr, "sessiontest: redis-server pid %d did not exit after SIGKILL\n", r.cmd.Process.Pid)
	}
}

// Close stops the server and waits for its process to exit.
func (r *Redis) Close() {
	if r.mini != nil {
		r.mini.Close()
	}
	r.stopProcess()
}

// Kill stops a redis-server abruptly (its data is lost unless persisted) and waits for it to
// exit.
func (r *Redis) Kill() { r.stopProcess() }

// Restart starts a killed redis-server again on the same port.
func (r *Redis) Restart() error {
	if r.Kind != KindServer {
		return errors.New("sessiontest: only redis-server can restart")
	}
	return r.startProcess()
}

// Pause stops (SIGSTOP) a redis-server so that it accepts connections but never answers;
// Resume continues it.
func (r *Redis) Pause() { r.signal(syscall.SIGSTOP) }

// Resume continues a paused redis-server.
func (r *Redis) Resume() { r.signal(syscall.SIGCONT) }

// PID is the process id of the running redis-server (0 for miniredis).
func (r *Redis) PID() int {
	if r.cmd == nil {
		return 0
	}
	return r.cmd.Process.Pid
}

func (r *Redis) signal(sig syscall.Signal) {
	if r.cmd != nil {
		_ = r.cmd.Process.Signal(sig)
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

// serverPID asks the server on addr for its process id (INFO server; sentinels answer it too).
func serverPID(addr string) (int, error) {
	info, err := command(addr, "INFO", "server")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			return strconv.Atoi(v)
		}
	}
	return 0, errors.New("no process_id in INFO server")
}

// logSince returns the end (at most 2000 bytes) of the log from offset from.
func logSince(path string, from int64) string {
	b, _ := os.ReadFile(path)
	if int64(len(b)) >= from {
		b = b[from:]
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
