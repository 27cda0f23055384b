package tests

import (
	"net/http"
	"testing"
	"time"

	"boxoffice/session/sessiontest"
)

// TestRedisOutage: an instance started while Redis is down stays up, is not ready and answers
// 503 with Retry-After (never 401); once Redis is up it recovers by itself; when Redis dies
// under a live session, requests get 503 — and after a restart without persistence the session
// is gone (logged out), never accepted unchecked.
func TestRedisOutage(t *testing.T) {
	r := sessiontest.StartServer(t) // a redis-server, to stop and start: skipped loudly without one
	r.Kill()
	p, err := startProcess(t.TempDir(), r.URL(), map[string]string{"BOXOFFICE_REGISTER_MAX_PER_IP": "0"})
	if err != nil {
		t.Fatal(err)
	}
	d := &deployment{procs: []*process{p}}
	t.Cleanup(d.stop)
	c := d.inst(0)
	waitFor(t, guard, func() bool { return get(c.base+"/healthz") == 200 })
	expect(t, c.do(t, "GET", "/readyz", "", nil), 503, "service_unavailable")
	expect(t, c.do(t, "POST", "/v1/auth/login", "", map[string]string{"username": "someone", "password": "password123"}), 503, "service_unavailable")

	if err := r.Restart(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, guard, func() bool { return get(c.base+"/readyz") == 200 })
	name, pw := newUser(t, c)
	tk := login(t, c, name, pw)
	expect(t, c.do(t, "GET", "/v1/session", tk.AccessToken, nil), 200, "")

	r.Kill()
	for _, req := range []struct{ method, path string }{{"GET", "/v1/session"}, {"GET", "/v1/me"}, {"POST", "/v1/auth/logout"}} {
		expect(t, c.do(t, req.method, req.path, tk.AccessToken, nil), 503, "service_unavailable")
	}
	expect(t, c.do(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": tk.RefreshToken}), 503, "service_unavailable")

	if err := r.Restart(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, guard, func() bool { return get(c.base+"/readyz") == 200 })
	expect(t, c.do(t, "GET", "/v1/session", tk.AccessToken, nil), 401, "session_expired")
}

func get(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func waitFor(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
