// Package tests holds black-box end-to-end tests: real boxoffice processes sharing one real
// Redis, driven over HTTP on loopback.
package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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
	tmp    string             // TestMain's temporary directory: the binary, and the logs of shared fleets
)

// instanceDefaults is the environment of every instance the tests start; a test's own settings
// override it. The harness reads the bound address from the "listening" log line (info level).
// Hashing is cheap and deadlines and windows are generous: a loaded two-core machine must not
// turn a slow answer into a failed test. Tests about hashing or deadlines set their own (see
// hashing() and the fault tests); the server warns that these argon2 settings are for tests.
var instanceDefaults = map[string]string{
	"BOXOFFICE_ADDR":              "127.0.0.1:0",
	"BOXOFFICE_JWT_SECRET":        testSecret,
	"BOXOFFICE_LOG_LEVEL":         "info",
	"BOXOFFICE_ARGON2_MEMORY_KIB": "1024",
	"BOXOFFICE_ARGON2_ITERATIONS": "1",
	"BOXOFFICE_REQUEST_TIMEOUT":   "30s",
	"REDIS_TIMEOUT":               "5s",
	"BOXOFFICE_REFRESH_GRACE":     "5m", // a retried refresh is "inside the grace window", however slow the machine
	"BOXOFFICE_DEMO_DATA":         "false",
	"BOXOFFICE_TEST_PAYMENTS":     "true", // the fake provider, with PostgreSQL too (off there by default)
}

// guard bounds every wait for a process to start, get ready or exit: far above what a loaded
// machine needs, it only turns a hang into a failure. No test asserts how long anything takes.
const guard = 60 * time.Second

// streamGuard is the connection deadline of a live seat map stream a test reads from start to
// end: a guard against a hang only, so far above any run's length that a slow machine never
// meets it (the package's own timeout is longer still).
const streamGuard = 10 * time.Minute

// skipShort skips a long suite under -short, except in CI, where everything runs.
func skipShort(t *testing.T, what string) {
	t.Helper()
	if testing.Short() && !sessiontest.InCI() {
		t.Skip("-short: skips " + what + " (run without -short; CI always runs it)")
	}
}

func TestMain(m *testing.M) {
	code, err := setup(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
		code = 1
	}
	// Every process and directory the tests made must be gone, whatever the outcome.
	if err := leftovers(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: the tests left something behind:", err)
		code = 1
	}
	os.Exit(code)
}

func setup(m *testing.M) (int, error) {
	dir, err := os.MkdirTemp("", "boxoffice-e2e-")
	if err != nil {
		return 0, err
	}
	tmp = dir
	defer os.RemoveAll(dir)
	if spec, err = loadContract(); err != nil {
		return 0, fmt.Errorf("openapi.yaml: %w", err)
	}
	binary = filepath.Join(dir, "boxoffice")
	// BOXOFFICE_E2E_BINARY runs the suite against another build (e.g. an older commit's, to
	// show that a test fails without the fix it guards).
	if b := os.Getenv("BOXOFFICE_E2E_BINARY"); b != "" {
		binary = b
	} else if out, err := exec.Command("go", "build", "-race", "-o", binary, "../cmd/boxoffice").CombinedOutput(); err != nil {
		// The servers run with the race detector when the toolchain can build it (cgo).
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
	defer stopShared() // before Redis closes
	fleet, err = startDeployment(dir, 3, shared.URL(), map[string]string{
		"BOXOFFICE_LOGIN_MAX_PER_IP":    "100000",
		"BOXOFFICE_REGISTER_MAX_PER_IP": "0",
	})
	if err != nil {
		return 0, err
	}
	keepShared(fleet)
	code := m.Run()
	if code != 0 {
		fleet.dumpLogs(os.Stderr)
	}
	return code, nil
}

// sharedFleets are the deployments several tests use (the default fleet, and those started on
// first use, such as secure()); TestMain stops them after the last test.
var sharedFleets struct {
	sync.Mutex
	list []*deployment
}

func keepShared(d *deployment) {
	sharedFleets.Lock()
	defer sharedFleets.Unlock()
	sharedFleets.list = append(sharedFleets.list, d)
}

func stopShared() {
	sharedFleets.Lock()
	defer sharedFleets.Unlock()
	for _, d := range sharedFleets.list {
		d.stop()
	}
	sharedFleets.list = nil
}

// started is every boxoffice process the tests started, for the check at the end of the run.
var started struct {
	sync.Mutex
	procs []*process
}

// leftovers stops and reports every boxoffice process still running (a test that did not stop
// what it started), every other child process of the test binary (redis-server, nginx, a
// browser: all must have been stopped and waited for) and TestMain's directory if it still
// exists.
func leftovers() error {
	var errs []error
	started.Lock()
	for _, p := range started.procs {
		select {
		case <-p.done:
		default:
			errs = append(errs, fmt.Errorf("boxoffice %s (pid %d, log %s) still running after the tests", p.base, p.cmd.Process.Pid, p.log))
			(&deployment{procs: []*process{p}}).stop()
		}
		if len(p.plain) > 0 {
			errs = append(errs, fmt.Errorf("boxoffice %s (pid %d) wrote lines that are not JSON:\n%s", p.base, p.cmd.Process.Pid, strings.Join(p.plain, "\n")))
		}
	}
	started.Unlock()
	children, err := sessiontest.Children()
	if err != nil && !errors.Is(err, sessiontest.ErrNoProc) {
		errs = append(errs, err)
	}
	for _, c := range children {
		errs = append(errs, fmt.Errorf("child process still alive or not waited for: %s", c))
	}
	if tmp != "" {
		if _, err := os.Stat(tmp); !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("temporary directory %s not removed (%v)", tmp, err))
		}
	}
	return errors.Join(errs...)
}

// deployment is a set of boxoffice processes sharing one Redis and one signing key.
type deployment struct {
	procs []*process
}

type process struct {
	base      string // http://127.0.0.1:port, as the instance logged it
	debug     string // http://127.0.0.1:port of its pprof server...
	wantDebug bool   // ...when BOXOFFICE_DEBUG_ADDR was set
	cmd       *exec.Cmd
	log       string
	done      chan struct{} // closed once the process has exited and been waited for
	plain     []string      // the lines of its log that are not JSON, read when it exited
}

// deploy starts n instances for one test (stopped when it ends) and waits until they are ready.
func deploy(t *testing.T, n int, redisURL string, env map[string]string) *deployment {
	t.Helper()
	d, err := startDeployment(t.TempDir(), n, redisURL, env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.stop(); d.checkJSON(t) })
	return d
}

// startDeployment starts n instances with the given extra environment and waits for them to be
// ready. The caller stops it.
func startDeployment(dir string, n int, redisURL string, env map[string]string) (*deployment, error) {
	d := &deployment{}
	for i := 0; i < n; i++ {
		p, err := launch(dir, redisURL, env)
		if err != nil {
			d.stop()
			return nil, err
		}
		d.procs = append(d.procs, p)
	}
	for _, p := range d.procs {
		err := p.awaitListening()
		if err == nil {
			err = p.waitReady(guard)
		}
		if err != nil {
			d.dumpLogs(os.Stderr)
			d.stop()
			return nil, err
		}
	}
	return d, nil
}

// startProcess starts one instance and returns once it listens (not necessarily ready: see
// waitReady). The caller stops it.
func startProcess(dir, redisURL string, extra map[string]string) (*process, error) {
	p, err := launch(dir, redisURL, extra)
	if err != nil {
		return nil, err
	}
	if err := p.awaitListening(); err != nil {
		(&deployment{procs: []*process{p}}).stop()
		return nil, err
	}
	return p, nil
}

// launch starts an instance on port 0 with its log in a file of dir; awaitListening reads its
// address from the log.
func launch(dir, redisURL string, extra map[string]string) (*process, error) {
	logf, err := os.CreateTemp(dir, "instance-*.log")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(binary)
	cmd.Env = os.Environ()
	for k, v := range instanceDefaults {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if redisURL != "" { // "" when extra names a Cluster or Sentinel
		cmd.Env = append(cmd.Env, "REDIS_URL="+redisURL)
	}
	for k, v := range extra { // later entries win
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sessiontest.SysProcAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	p := &process{cmd: cmd, log: logf.Name(), done: make(chan struct{}), wantDebug: extra["BOXOFFICE_DEBUG_ADDR"] != ""}
	started.Lock()
	started.procs = append(started.procs, p)
	started.Unlock()
	go func() { cmd.Wait(); logf.Close(); p.plain = plainLines(p.log); close(p.done) }()
	return p, nil
}

// awaitListening polls the instance's log until it has logged the address it listens on (and
// that of its pprof server, when it has one). It fails, with the log's end, when the process
// exits first or logs nothing within the guard.
func (p *process) awaitListening() error {
	deadline := time.Now().Add(guard)
	for {
		exited := false
		select {
		case <-p.done:
			exited = true // read the log once more: the line may have come just before the exit
		default:
		}
		b, _ := os.ReadFile(p.log)
		base, debug := listening(b)
		if base != "" && (!p.wantDebug || debug != "") {
			p.base = "http://" + base
			if p.wantDebug {
				p.debug = "http://" + debug
			}
			return nil
		}
		switch {
		case exited:
			return fmt.Errorf("instance (pid %d) exited before listening: %s\n%s", p.cmd.Process.Pid, p.cmd.ProcessState, tailBytes(b, 2000))
		case time.Now().After(deadline):
			return fmt.Errorf("instance (pid %d) logged no listening address within %s:\n%s", p.cmd.Process.Pid, guard, tailBytes(b, 2000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// listening finds the addresses in the complete JSON lines of an instance's log.
func listening(log []byte) (base, debug string) {
	for _, line := range bytes.SplitAfter(log, []byte("\n")) {
		if !bytes.HasSuffix(line, []byte("\n")) {
			break // still being written
		}
		var l struct{ Msg, Addr string }
		if json.Unmarshal(line, &l) != nil || l.Addr == "" {
			continue
		}
		switch l.Msg {
		case "listening":
			base = l.Addr
		case "debug server listening":
			debug = l.Addr
		}
	}
	return base, debug
}

func (p *process) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			b, _ := os.ReadFile(p.log)
			return fmt.Errorf("instance %s exited during startup: %s\n%s", p.base, p.cmd.ProcessState, tailBytes(b, 2000))
		default:
		}
		if get(p.base+"/readyz") == 200 {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("instance %s not ready after %s", p.base, timeout)
}

// stop sends SIGTERM to each process (by its PID, through the *os.Process that started it) and
// waits for it to exit, up to the guard, then kills it with SIGKILL.
func (d *deployment) stop() {
	for _, p := range d.procs {
		_ = p.cmd.Process.Signal(syscall.SIGTERM) // a no-op once it was waited for
	}
	for _, p := range d.procs {
		select {
		case <-p.done:
		case <-time.After(guard):
			fmt.Fprintf(os.Stderr, "instance %s (pid %d) still running %s after SIGTERM: killing it\n", p.base, p.cmd.Process.Pid, guard)
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

// httpc is the tests' client. Its timeout only guards against a hang: it exceeds every
// instance's request deadline, so a slow answer is an answer, not a failed request.
var httpc = &http.Client{Timeout: 2 * guard}

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
	return c.timedDo(t, method, path, token, body, headers...).reply
}

// timedReply is an answer with when its request was sent and when the answer had arrived
// (before it was checked against openapi.yaml, which takes time).
type timedReply struct {
	reply
	sent, arrived time.Time
}

// timedDo is do that also reports when the request went out and when its answer was in.
func (c *client) timedDo(t *testing.T, method, path, token string, body any, headers ...string) timedReply {
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
	sent := time.Now()
	resp, err := httpc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	b, _ := io.ReadAll(resp.Body) // a body cut short (a killed instance) is checked as it is
	resp.Body.Close()
	arrived := time.Now()
	if err := spec.check(req, raw, resp, b); err != nil {
		t.Errorf("contract: %v", err)
	}
	return timedReply{reply: reply{status: resp.StatusCode, header: resp.Header, body: b}, sent: sent, arrived: arrived}
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
