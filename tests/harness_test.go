// Package tests holds black-box end-to-end tests: real boxoffice processes sharing one real
// Redis, driven over HTTP on loopback.
package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"boxoffice/session/sessiontest"
)

// testSecret is the shared signing key of every test deployment.
const testSecret = "e2e-test-secret-0123456789abcdefghijklmnop"

var (
	spec   *contract          // openapi.yaml, against which every exchange is validated
	binary string             // the boxoffice binary built once by TestMain
	shared *sessiontest.Redis // the Redis of the default deployment
	fleet  *deployment        // three instances sharing it
)

func TestMain(m *testing.M) {
	code, err := setup(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func setup(m *testing.M) (int, error) {
	dir, err := os.MkdirTemp("", "boxoffice-e2e-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	if spec, err = loadContract(); err != nil {
		return 0, fmt.Errorf("openapi.yaml: %w", err)
	}
	binary = filepath.Join(dir, "boxoffice")
	// The servers run with the race detector when the toolchain can build it (cgo).
	if out, err := exec.Command("go", "build", "-race", "-o", binary, "../cmd/boxoffice").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "race build unavailable, building without -race: %s\n", tailBytes(out, 300))
		if out, err := exec.Command("go", "build", "-o", binary, "../cmd/boxoffice").CombinedOutput(); err != nil {
			return 0, fmt.Errorf("build: %v: %s", err, out)
		}
	}
	if sessiontest.HaveServer() || sessiontest.RequireServer() {
		shared, err = sessiontest.NewServer(dir)
	} else {
		shared, err = sessiontest.NewMini()
	}
	if err != nil {
		return 0, err
	}
	defer shared.Close()
	fleet, err = startDeployment(dir, 3, shared.URL(), map[string]string{
		"BOXOFFICE_LOGIN_MAX_PER_IP":    "100000",
		"BOXOFFICE_REGISTER_MAX_PER_IP": "0",
	})
	if err != nil {
		return 0, err
	}
	code := m.Run()
	fleet.stop()
	if code != 0 {
		fleet.dumpLogs(os.Stderr)
	}
	return code, nil
}

// deployment is a set of boxoffice processes sharing one Redis and one signing key.
type deployment struct {
	procs []*process
}

type process struct {
	base string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// startDeployment starts n instances with the given extra environment and waits for them to be
// ready.
func startDeployment(dir string, n int, redisURL string, env map[string]string) (*deployment, error) {
	d := &deployment{}
	for i := 0; i < n; i++ {
		p, err := startProcess(dir, redisURL, env)
		if err != nil {
			d.stop()
			return nil, err
		}
		d.procs = append(d.procs, p)
	}
	for _, p := range d.procs {
		if err := p.waitReady(15 * time.Second); err != nil {
			d.dumpLogs(os.Stderr)
			d.stop()
			return nil, err
		}
	}
	return d, nil
}

func startProcess(dir, redisURL string, extra map[string]string) (*process, error) {
	port, err := sessiontest.FreePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	logf, err := os.CreateTemp(dir, "instance-*.log")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(binary)
	cmd.Env = append(os.Environ(),
		"BOXOFFICE_ADDR="+addr,
		"BOXOFFICE_JWT_SECRET="+testSecret,
		"BOXOFFICE_LOG_LEVEL=warn",
	)
	if redisURL != "" { // "" when extra names a Cluster or Sentinel
		cmd.Env = append(cmd.Env, "REDIS_URL="+redisURL)
	}
	for k, v := range extra {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{base: "http://" + addr, cmd: cmd, log: logf.Name(), done: make(chan struct{})}
	go func() { cmd.Wait(); logf.Close(); close(p.done) }()
	return p, nil
}

func (p *process) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("instance %s exited during startup", p.base)
		default:
		}
		resp, err := http.Get(p.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("instance %s not ready after %s", p.base, timeout)
}

// stop sends SIGTERM to each process this test started and waits for it, then SIGKILL.
func (d *deployment) stop() {
	for _, p := range d.procs {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range d.procs {
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
}

// checkLogs fails the test if any instance logged a line containing one of the words.
func (d *deployment) checkLogs(t *testing.T, words ...string) {
	t.Helper()
	for _, p := range d.procs {
		b, _ := os.ReadFile(p.log)
		for _, w := range words {
			if strings.Contains(string(b), w) {
				t.Fatalf("instance %s logged %q:\n%s", p.base, w, tailBytes(b, 2000))
			}
		}
	}
}

func (d *deployment) dumpLogs(w io.Writer) {
	for _, p := range d.procs {
		b, _ := os.ReadFile(p.log)
		fmt.Fprintf(w, "--- log of %s ---\n%s\n", p.base, tailBytes(b, 4000))
	}
}

func tailBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// inst returns a client for instance i (modulo the deployment size).
func (d *deployment) inst(i int) *client { return &client{base: d.procs[i%len(d.procs)].base} }

// client talks HTTP to one instance.
type client struct{ base string }

var httpc = &http.Client{Timeout: 10 * time.Second}

// reply is a decoded HTTP response.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// code returns the problem code of an error response ("" otherwise).
func (r reply) code() string {
	var p struct{ Code string }
	_ = json.Unmarshal(r.body, &p)
	return p.Code
}

func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// do sends a request; body may be nil, a string (sent as is) or a value (sent as JSON).
func (c *client) do(t *testing.T, method, path, token string, body any, headers ...string) reply {
	t.Helper()
	var raw []byte
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		raw = j
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if strings.EqualFold(headers[i], "Host") {
			req.Host = headers[i+1]
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := httpc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if err := spec.check(req, raw, resp, b); err != nil {
		t.Errorf("contract: %v", err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

// expect fails the test unless r has the status and (for problems) the code.
func expect(t *testing.T, r reply, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if code != "" {
		if r.code() != code {
			t.Fatalf("problem code %q, want %q; body %s", r.code(), code, r.body)
		}
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
			t.Fatalf("problem content type %q", ct)
		}
	}
	if status == 401 && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("401 without WWW-Authenticate: Bearer (got %q)", r.header.Get("WWW-Authenticate"))
	}
	if status == 503 && r.header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
}

// tokens is a token response.
type tokens struct {
	AccessToken  string      `json:"access_token"`
	TokenType    string      `json:"token_type"`
	ExpiresIn    int         `json:"expires_in"`
	RefreshToken string      `json:"refresh_token"`
	SessionID    string      `json:"session_id"`
	Session      sessionView `json:"session"`
}

type sessionView struct {
	ID                string                     `json:"id"`
	UserID            string                     `json:"user_id"`
	IdleExpiresAt     time.Time                  `json:"idle_expires_at"`
	AbsoluteExpiresAt time.Time                  `json:"absolute_expires_at"`
	DeviceName        string                     `json:"device_name"`
	Current           bool                       `json:"current"`
	Data              map[string]json.RawMessage `json:"data"`
}

var userSeq struct {
	sync.Mutex
	n int
}

// uniqueName returns a username no other test uses, and a password for it.
func uniqueName() (string, string) {
	userSeq.Lock()
	defer userSeq.Unlock()
	userSeq.n++
	name := fmt.Sprintf("user%d-%d", os.Getpid()%1000, userSeq.n)
	return name, "pw-" + name + "-long-enough"
}

func readAll(r io.ReadCloser) ([]byte, error) {
	defer r.Close()
	return io.ReadAll(r)
}

func nopCloser(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }

// newUser registers a fresh user through instance c and returns its name and password.
func newUser(t *testing.T, c *client) (string, string) {
	t.Helper()
	name, pw := uniqueName()
	r := c.do(t, "POST", "/v1/users", "", map[string]string{"username": name, "password": pw})
	expect(t, r, 201, "")
	return name, pw
}

// login signs in through c.
func login(t *testing.T, c *client, name, pw string) tokens {
	t.Helper()
	r := c.do(t, "POST", "/v1/auth/login", "", map[string]string{"username": name, "password": pw, "device_name": "e2e"})
	expect(t, r, 200, "")
	var tk tokens
	r.decode(t, &tk)
	return tk
}

// redisClient returns a direct client of the shared Redis, for asserting stored state.
func redisClient(t *testing.T, r *sessiontest.Redis) *redis.Client { return r.Client(t) }

func sessionKey(uid, sid string) string { return "bx:{u:" + uid + "}:s:" + sid }
func revokedKey(uid, sid string) string { return "bx:{u:" + uid + "}:r:" + sid }

func exists(t *testing.T, rdb *redis.Client, key string) bool {
	t.Helper()
	n, err := rdb.Exists(context.Background(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n == 1
}
