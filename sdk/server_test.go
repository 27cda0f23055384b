package sdk_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"boxoffice/session/sessiontest"
)

// The tests run against real boxoffice processes, built from ./cmd/boxoffice by TestMain, each
// with its embedded Redis and embedded ticketing store. Nothing of the server is faked.
var (
	serverURL  string // the API of the server TestMain starts, for the tests and the examples
	metricsURL string // its /metrics listener
	binary     string // the boxoffice binary TestMain built
	workDir    string // TestMain's temporary directory: the binary and the servers' logs
)

// guard bounds every wait for a process (building, starting, answering, exiting): far above what
// a loaded machine needs, it only turns a hang into a failure.
const guard = 60 * time.Second

// serverEnv is the environment of every server the tests start, on top of the test process's
// own without its BOXOFFICE_*, REDIS_*, DATABASE_URL and OTEL_* variables (the embedded
// defaults are what the tests want). Hashing is cheap (the server warns that these settings are
// for tests), limits are out of the way, and the refresh grace window is long, so that a retried
// refresh is inside it however slow the machine.
var serverEnv = map[string]string{
	"BOXOFFICE_ADDR":                         "127.0.0.1:0",
	"BOXOFFICE_METRICS_ADDR":                 "127.0.0.1:0",
	"BOXOFFICE_ARGON2_MEMORY_KIB":            "1024",
	"BOXOFFICE_ARGON2_ITERATIONS":            "1",
	"BOXOFFICE_REQUEST_TIMEOUT":              "30s",
	"BOXOFFICE_REFRESH_GRACE":                "1m",
	"BOXOFFICE_DEMO_DATA":                    "false",
	"BOXOFFICE_REGISTER_MAX_PER_IP":          "0",
	"BOXOFFICE_LOGIN_MAX_PER_ACCOUNT":        "100000",
	"BOXOFFICE_LOGIN_MAX_PER_ACCOUNT_GLOBAL": "100000",
	"BOXOFFICE_LOGIN_MAX_PER_IP":             "100000",
	"BOXOFFICE_LOG_LEVEL":                    "info",
}

func TestMain(m *testing.M) {
	code := run(m)
	// Every process the tests started must be gone, whatever the outcome.
	if children, err := sessiontest.Children(); err == nil && len(children) > 0 {
		fmt.Fprintln(os.Stderr, "sdk tests: child processes still alive:", children)
		code = 1
	}
	os.Exit(code)
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "boxoffice-sdk-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	workDir = dir
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "boxoffice")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", binary, "boxoffice/cmd/boxoffice").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "sdk tests: go build boxoffice/cmd/boxoffice: %v\n%s", err, out)
		return 1
	}
	srv, err := startServer(nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sdk tests:", err)
		return 1
	}
	defer srv.stop()
	serverURL, metricsURL = srv.URL, srv.Metrics
	if err := registerExampleUser(); err != nil {
		fmt.Fprintln(os.Stderr, "sdk tests:", err)
		return 1
	}
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "--- server log (%s), last 4000 bytes ---\n%s\n", srv.log, srv.tail(4000))
	}
	return code
}

// server is one boxoffice process.
type server struct {
	URL, Metrics string // http://127.0.0.1:port of the API and of the metrics listener
	cmd          *exec.Cmd
	log          string
	done         chan struct{} // closed once the process exited and was waited for
}

// startTestServer starts a server with extra settings for one test; it is stopped when the test
// ends.
func startTestServer(t *testing.T, extra map[string]string) *server {
	t.Helper()
	s, err := startServer(extra)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	return s
}

// startServer starts a server and returns once it listens and is ready; the caller stops it.
func startServer(extra map[string]string) (*server, error) {
	logf, err := os.CreateTemp(workDir, "server-*.log")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(binary)
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "BOXOFFICE_") && !strings.HasPrefix(name, "REDIS_") &&
			!strings.HasPrefix(name, "OTEL_") && name != "DATABASE_URL" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for _, env := range []map[string]string{serverEnv, extra} {
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sessiontest.SysProcAttr() // killed with the test binary, should it die first
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	s := &server{cmd: cmd, log: logf.Name(), done: make(chan struct{})}
	go func() { cmd.Wait(); logf.Close(); close(s.done) }()
	if err := s.await(); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// await reads the addresses from the server's JSON log lines ("msg":"listening" and
// "msg":"metrics server listening", each with "addr") and waits until /readyz answers 200.
func (s *server) await() error {
	deadline := time.Now().Add(guard)
	for s.URL == "" || s.Metrics == "" {
		select {
		case <-s.done:
			return fmt.Errorf("boxoffice exited before listening (%s):\n%s", s.cmd.ProcessState, s.tail(2000))
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("boxoffice logged no listening address within %s:\n%s", guard, s.tail(2000))
		}
		time.Sleep(20 * time.Millisecond)
		b, _ := os.ReadFile(s.log)
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			var l struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &l) != nil || l.Addr == "" {
				continue
			}
			switch l.Msg {
			case "listening":
				s.URL = "http://" + l.Addr
			case "metrics server listening":
				s.Metrics = "http://" + l.Addr
			}
		}
	}
	for {
		if resp, err := http.Get(s.URL + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("boxoffice at %s not ready within %s:\n%s", s.URL, guard, s.tail(2000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends the server by its PID: SIGTERM, then SIGKILL if it has not exited within the guard.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(guard):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

func (s *server) tail(n int) string {
	b, _ := os.ReadFile(s.log)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
