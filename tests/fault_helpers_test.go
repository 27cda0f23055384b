package tests

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"boxoffice/session/sessiontest"
)

// longFault skips a long fault test under -short, except in CI where every test runs:
// `go test -short ./tests` is the documented quick local run.
func longFault(t *testing.T) {
	t.Helper()
	skipShort(t, "the long fault tests")
}

// sample is one answer observed by the load generator.
type sample struct {
	at         time.Time
	status     int
	code       string
	retryAfter string
	latency    time.Duration
	err        error
}

// loadGen reads a session over and over on every instance until stopped, recording answers.
type loadGen struct {
	mu      sync.Mutex
	samples []sample
	stop    context.CancelFunc
	done    sync.WaitGroup
}

func startLoad(t *testing.T, d *deployment, token string, workers int) *loadGen {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	g := &loadGen{stop: cancel}
	hc := &http.Client{Timeout: 2 * guard} // above every request deadline: only a hang is an error
	for w := 0; w < workers; w++ {
		g.done.Add(1)
		go func() {
			defer g.done.Done()
			for i := 0; ctx.Err() == nil; i++ {
				base := d.procs[(w+i)%len(d.procs)].base
				req, _ := http.NewRequestWithContext(ctx, "GET", base+"/v1/session", nil)
				req.Header.Set("Authorization", "Bearer "+token)
				start := time.Now()
				resp, err := hc.Do(req)
				s := sample{at: start, latency: time.Since(start), err: err}
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					s.status, s.retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
					s.code = reply{body: b}.code()
				}
				if ctx.Err() != nil {
					return
				}
				g.mu.Lock()
				g.samples = append(g.samples, s)
				g.mu.Unlock()
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	return g
}

// await waits (up to the guard) until an answer that was asked for after since came back with
// status: the fault has been seen by clients. A fault is held until then, not for a fixed time,
// so that no machine is too slow to observe it.
func (g *loadGen) await(t *testing.T, since time.Time, status int) {
	t.Helper()
	waitFor(t, guard, func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		for _, s := range g.samples {
			if s.status == status && !s.at.Before(since) {
				return true
			}
		}
		return false
	})
}

// finish stops the load and checks the outage contract over every answer: 200, or 503 with
// Retry-After — never 401, never another error, never a dropped connection.
func (g *loadGen) finish(t *testing.T) []sample {
	t.Helper()
	g.stop()
	g.done.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, s := range g.samples {
		switch {
		case s.err != nil:
			t.Errorf("request failed at %s: %v", s.at.Format("15:04:05.000"), s.err)
		case s.status == 200:
		case s.status == 503 && s.retryAfter != "" && s.code == "service_unavailable":
		default:
			t.Errorf("answer %d %q (Retry-After %q) at %s: the outage contract allows only 200 or 503 with Retry-After",
				s.status, s.code, s.retryAfter, s.at.Format("15:04:05.000"))
		}
	}
	return g.samples
}

// outage summarises the samples after a fault injected at `at`: when the first 503 came, the
// slowest answer, and when answers were 200 again (the first 200 after the last 503).
type outage struct {
	first503, recovered time.Duration
	slowest             time.Duration
	n503                int
}

func summarise(samples []sample, at time.Time) outage {
	var o outage
	var last503 time.Time
	for _, s := range samples {
		o.slowest = max(o.slowest, s.latency)
		if s.status == 503 {
			o.n503++
			if o.first503 == 0 {
				o.first503 = s.at.Add(s.latency).Sub(at)
			}
			last503 = s.at
		}
	}
	for _, s := range samples {
		if s.status == 200 && !last503.IsZero() && s.at.After(last503) {
			o.recovered = s.at.Add(s.latency).Sub(at)
			break
		}
	}
	return o
}

func (o outage) String() string {
	return fmt.Sprintf("first 503 after %s, %d answers 503, slowest answer %s, 200 again %s after the fault",
		o.first503.Round(time.Millisecond), o.n503, o.slowest.Round(time.Millisecond), o.recovered.Round(time.Millisecond))
}

// faultDeployment starts n instances over the given Redis with a pprof server each, so their
// goroutine counts can be compared before and after a fault. They are stopped, and their logs
// checked for panics, when the test ends.
func faultDeployment(t *testing.T, n int, redisURL string, env map[string]string) (*deployment, []string) {
	t.Helper()
	e := map[string]string{"BOXOFFICE_REGISTER_MAX_PER_IP": "0", "REDIS_POOL_SIZE": "8",
		"BOXOFFICE_DEBUG_ADDR": "127.0.0.1:0"}
	for k, v := range env {
		e[k] = v
	}
	d, err := startDeployment(t.TempDir(), n, redisURL, e)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.stop()
		d.checkLogs(t, "panic", "goroutine ", "fatal error")
	})
	var debug []string
	for _, p := range d.procs {
		debug = append(debug, p.debug)
	}
	return d, debug
}

// redisClients counts the connections a Redis server has open, the test's own included.
func redisClients(t *testing.T, r *sessiontest.Redis) int {
	t.Helper()
	list, err := r.Client(t).ClientList(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(list, "\n")
}

var goroutineTotal = regexp.MustCompile(`goroutine profile: total (\d+)`)

// goroutines reads an instance's goroutine count from its pprof port.
func goroutines(t *testing.T, debugBase string) int {
	t.Helper()
	resp, err := http.Get(debugBase + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := goroutineTotal.FindSubmatch(b)
	if m == nil {
		t.Fatalf("no goroutine total in pprof output")
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// noLeak checks that, once load has stopped and idle connections settled, no instance holds
// many more goroutines than before the fault.
func noLeak(t *testing.T, debug []string, before []int) {
	t.Helper()
	for i, base := range debug {
		var now int
		deadline := time.Now().Add(guard) // in-flight requests and background touches wind down
		for {
			if now = goroutines(t, base); now <= before[i]+25 || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if now > before[i]+25 {
			t.Errorf("instance %d: %d goroutines after the fault, %d before: a leak", i, now, before[i])
		}
	}
}

func countGoroutines(t *testing.T, debug []string) []int {
	out := make([]int, len(debug))
	for i, b := range debug {
		out[i] = goroutines(t, b)
	}
	return out
}

// signal sends sig to a boxoffice process this test started.
func (p *process) signal(sig syscall.Signal) { _ = p.cmd.Process.Signal(sig) }

// rawRefresh sends a refresh without the contract checks (its answer may be cut off by the
// instance dying) and reports whether it was answered.
func rawRefresh(ctx context.Context, base, rt string) error {
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/v1/auth/refresh",
		strings.NewReader(`{"refresh_token":"`+rt+`"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}
