package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"boxoffice/session/sessiontest"
)

// metricsEnv is the metrics listener's address environment: a free loopback port, logged.
var metricsEnv = map[string]string{"BOXOFFICE_METRICS_ADDR": "127.0.0.1:0"}

// metricsURL returns http://host:port/metrics of instance p, from the "metrics server
// listening" line of its log (polled up to the guard).
func metricsURL(t *testing.T, p *process) string {
	t.Helper()
	deadline := time.Now().Add(guard)
	for {
		b, _ := os.ReadFile(p.log)
		for _, line := range bytes.Split(b, []byte("\n")) {
			var l struct{ Msg, Addr string }
			if json.Unmarshal(line, &l) == nil && l.Msg == "metrics server listening" && l.Addr != "" {
				return "http://" + l.Addr + "/metrics"
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no metrics listener logged within %s:\n%s", guard, tailBytes(b, 2000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// scrape reads and parses the metrics at url.
type scrape map[string]*dto.MetricFamily

func scrapeMetrics(t *testing.T, url string) scrape {
	t.Helper()
	resp, err := httpc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return fams
}

// value is the value of the series of family name with exactly the labels (name, value pairs;
// a histogram's is its count); 0 when there is none, -1 when the family is missing.
func (s scrape) value(name string, labels ...string) float64 {
	f, ok := s[name]
	if !ok {
		return -1
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) != len(want) {
			continue
		}
		match := true
		for _, l := range m.GetLabel() {
			if v, ok := want[l.GetName()]; !ok || v != l.GetValue() {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Untyped != nil:
			return m.Untyped.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return 0
}

// moved is one counter's expected change between two scrapes.
type moved struct {
	name   string
	labels []string
	by     float64
}

// checkMoved fails for each counter that did not change by exactly its amount.
func checkMoved(t *testing.T, before, after scrape, want []moved) {
	t.Helper()
	for _, w := range want {
		b, a := before.value(w.name, w.labels...), after.value(w.name, w.labels...)
		if a < 0 {
			t.Errorf("%s is not exported", w.name)
			continue
		}
		if d := a - max(b, 0); d != w.by {
			t.Errorf("%s%v moved by %v (%v → %v), want %v", w.name, w.labels, d, b, a, w.by)
		}
	}
}

// TestMetricsCountEvents: a real instance's /metrics (its own listener) shows each counter move
// by what a sequence of sign-ins, refreshes, holds, orders and errors did, and exports the
// store, stream and runtime metrics.
func TestMetricsCountEvents(t *testing.T) {
	env := map[string]string{
		"BOXOFFICE_LOGIN_MAX_PER_ACCOUNT": "2",  // the third wrong password is throttled
		"BOXOFFICE_REFRESH_GRACE":         "0s", // a spent refresh token presented again is a reuse
	}
	for k, v := range metricsEnv {
		env[k] = v
	}
	o := oxDeploymentOn(t, 1, nil, env)
	c := o.d.inst(0)
	url := metricsURL(t, o.d.procs[0])
	if r := c.do(t, "GET", "/metrics", "", nil); r.status != 404 {
		t.Errorf("GET /metrics on the API's port: %d, want 404 (metrics have their own listener)", r.status)
	}
	screening := o.newScreening(t)
	before := scrapeMetrics(t, url)

	// Sign-ins: alice signs in; bob gets his password wrong twice, then is throttled three
	// times (Redis keeps the first lock of the window only; the metrics count every one).
	alice, pw := newUser(t, c)
	tk := login(t, c, alice, pw)
	bob, _ := newUser(t, c)
	wrong := map[string]string{"username": bob, "password": "not-bobs-password-at-all"}
	expect(t, c.do(t, "POST", "/v1/auth/login", "", wrong), 401, "invalid_credentials")
	expect(t, c.do(t, "POST", "/v1/auth/login", "", wrong), 401, "invalid_credentials")
	for range 3 {
		expect(t, c.do(t, "POST", "/v1/auth/login", "", wrong), 429, "too_many_attempts")
	}

	// Refresh, then the spent token again: a reuse, which revokes the session.
	r := c.do(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": tk.RefreshToken})
	expect(t, r, 200, "")
	expect(t, c.do(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": tk.RefreshToken}), 401, "refresh_token_reused")

	// Tickets: a hold bought with the test provider and cancelled; another hold released.
	tk = login(t, c, alice, pw)
	h := mustHold(t, c, tk.AccessToken, screening.ID, "A1", "A2")
	order := oxCreated(t, oxPlace(t, c, tk.AccessToken, oxKey(), h.ID, "test_success"), h.ID, "confirmed")
	r = c.do(t, "POST", "/v1/orders/"+order.ID+"/cancel", tk.AccessToken, nil)
	expect(t, r, 200, "")
	h2 := mustHold(t, c, tk.AccessToken, screening.ID, "B1")
	expect(t, c.do(t, "DELETE", "/v1/holds/"+h2.ID, tk.AccessToken, nil), 204, "")

	// An unknown path, and the sign-out.
	expect(t, c.do(t, "GET", "/v1/no-such-thing-4711", "", nil), 404, "not_found")
	expect(t, c.do(t, "POST", "/v1/auth/logout", tk.AccessToken, nil), 204, "")

	after := scrapeMetrics(t, url)
	checkDeployedNames(t, after)
	const (
		ops  = "boxoffice_operations_total"
		reqs = "boxoffice_http_requests_total"
	)
	// What the HTTP layer counts.
	checkMoved(t, before, after, []moved{
		{ops, []string{"operation", "register", "outcome", "ok"}, 2},
		{ops, []string{"operation", "login", "outcome", "ok"}, 2},
		{ops, []string{"operation", "login", "outcome", "invalid_credentials"}, 2},
		{ops, []string{"operation", "login", "outcome", "too_many_attempts"}, 3},
		{ops, []string{"operation", "refresh", "outcome", "ok"}, 1},
		{ops, []string{"operation", "refresh", "outcome", "refresh_token_reused"}, 1},
		{ops, []string{"operation", "hold_create", "outcome", "ok"}, 2},
		{ops, []string{"operation", "order_create", "outcome", "ok"}, 1},
		{ops, []string{"operation", "order_cancel", "outcome", "ok"}, 1},
		{ops, []string{"operation", "hold_release", "outcome", "ok"}, 1},
		{ops, []string{"operation", "logout", "outcome", "ok"}, 1},
		{reqs, []string{"method", "GET", "route", "unmatched", "status", "4xx"}, 1},
		{reqs, []string{"method", "POST", "route", "/v1/orders", "status", "2xx"}, 1},
		{reqs, []string{"method", "POST", "route", "/v1/auth/login", "status", "4xx"}, 5},
		{"boxoffice_http_request_duration_seconds", []string{"method", "POST", "route", "/v1/orders", "status", "2xx"}, 1},
		{"boxoffice_problems_total", []string{"code", "not_found", "status", "404"}, 1},
		{"boxoffice_problems_total", []string{"code", "invalid_credentials", "status", "401"}, 2},
		{"boxoffice_problems_total", []string{"code", "too_many_attempts", "status", "429"}, 3},
		{"boxoffice_unavailable_total", []string{"cause", "redis"}, 0},
	})
	// What the audit events count.
	checkMoved(t, before, after, []moved{
		{"boxoffice_logins_total", []string{"outcome", "success", "reason", ""}, 2},
		{"boxoffice_logins_total", []string{"outcome", "failure", "reason", "bad_password"}, 2},
		{"boxoffice_logins_total", []string{"outcome", "throttled", "reason", "account"}, 3},
		{"boxoffice_login_throttle_decisions_total", []string{"decision", "allowed", "limit", ""}, 4},
		{"boxoffice_login_throttle_decisions_total", []string{"decision", "refused", "limit", "account"}, 3},
		{"boxoffice_audit_events_total", []string{"type", "authn_login_lock", "outcome", "failure"}, 3},
		{"boxoffice_refresh_reuse_detections_total", nil, 1},
		{"boxoffice_session_revocations_total", []string{"reason", "token_reuse"}, 1},
		{"boxoffice_session_revocations_total", []string{"reason", "logout"}, 1},
		{"boxoffice_payments_total", []string{"outcome", "paid", "reason", ""}, 1},
		{"boxoffice_payments_total", []string{"outcome", "cancelled", "reason", "buyer"}, 1},
		{"boxoffice_audit_events_total", []string{"type", "authn_login_success", "outcome", "success"}, 2},
		{"boxoffice_audit_events_total", []string{"type", "user_created", "outcome", "success"}, 2},
		{"boxoffice_audit_write_failures_total", nil, 0},
	})
	// The stores, the runtime and the build.
	for _, g := range []struct {
		name string
		ok   func(v float64) bool
	}{
		{"boxoffice_db_pool_max_conns", func(v float64) bool { return v == 10 }},
		{"boxoffice_db_pool_total_conns", func(v float64) bool { return v >= 1 }},
		{"boxoffice_sse_streams", func(v float64) bool { return v == 0 }},
		{"boxoffice_sessions_estimate", func(v float64) bool { return v >= 0 && !math.IsNaN(v) }},
		{"boxoffice_redis_pool_total_conns", func(v float64) bool { return v >= 1 }},
		{"go_goroutines", func(v float64) bool { return v > 0 }},
		{"process_resident_memory_bytes", func(v float64) bool { return v > 0 }},
	} {
		if v := after.value(g.name); !g.ok(v) {
			t.Errorf("%s = %v", g.name, v)
		}
	}
	for _, name := range []string{"boxoffice_db_pool_acquire_count_total", "boxoffice_redis_pool_hits_total"} {
		if after.value(name) <= before.value(name) {
			t.Errorf("%s did not move: %v → %v", name, before.value(name), after.value(name))
		}
	}
	if d := after.value("boxoffice_redis_command_duration_seconds", "command", "evalsha") -
		before.value("boxoffice_redis_command_duration_seconds", "command", "evalsha"); d < 5 {
		t.Errorf("Redis scripts timed: %v, want at least one per sign-in, refresh and logout", d)
	}
	if f := after["boxoffice_build_info"]; f == nil || len(f.GetMetric()) != 1 || f.GetMetric()[0].GetGauge().GetValue() != 1 {
		t.Errorf("boxoffice_build_info: %v", f)
	}

	// A live seat map is a stream while it is open.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := openStream(ctx, c.base, screening.ID, "", time.Now().Add(guard))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, guard, func() bool { return scrapeMetrics(t, url).value("boxoffice_sse_streams") == 1 })
	s.close()
	waitFor(t, guard, func() bool { return scrapeMetrics(t, url).value("boxoffice_sse_streams") == 0 })
}

// TestMetricsCardinality: 10 000 distinct unknown paths and 1 000 users add no series beyond a
// fixed set: the route label is a template or "unmatched", and no label carries a path, user
// name or user id.
func TestMetricsCardinality(t *testing.T) {
	skipShort(t, "10 000 requests and 1 000 accounts")
	r := sessiontest.Start(t)
	d := deploy(t, 1, r.URL(), map[string]string{
		"BOXOFFICE_METRICS_ADDR":        "127.0.0.1:0",
		"BOXOFFICE_REGISTER_MAX_PER_IP": "0",
		"BOXOFFICE_LOGIN_MAX_PER_IP":    "100000",
	})
	c := d.inst(0)
	url := metricsURL(t, d.procs[0])
	hc := pooledClient(t, 16)

	// 10 000 distinct paths no route takes, with several methods, 16 at a time.
	const paths, conc = 10000, 16
	methods := []string{"GET", "GET", "GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS", "PROPFIND"}
	var wg sync.WaitGroup
	errs := make(chan error, conc)
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < paths; i += conc {
				path := fmt.Sprintf("/zz-probe-%d/x%d", i, i*7919)
				if i%3 == 0 {
					path = fmt.Sprintf("/v1/movies/zz-probe-%d/deeper", i) // under a real prefix
				}
				req, _ := http.NewRequest(methods[i%len(methods)], c.base+path, nil)
				resp, err := hc.Do(req)
				if err != nil {
					errs <- err
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 404 && resp.StatusCode != 405 {
					errs <- fmt.Errorf("%s %s: %d", req.Method, path, resp.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	afterPaths := scrapeMetrics(t, url)

	// 1 000 users: registered, signed in, reading their sessions and refused an admin route
	// naming them.
	users := ticketUsers(t, d, hc, 1000, 16)
	for i, u := range users {
		if i%10 == 0 {
			expect(t, c.do(t, "GET", "/v1/sessions", u.tk.AccessToken, nil), 200, "")
			expect(t, c.do(t, "GET", "/v1/admin/users/"+u.tk.Session.UserID+"/sessions", u.tk.AccessToken, nil), 403, "forbidden")
		}
	}
	final := scrapeMetrics(t, url)

	// Series per family: the unknown paths made a fixed number, and the users none beyond
	// their routes' (the same routes for 1 or 1 000 users).
	counts := func(s scrape) (map[string]int, int) {
		per, total := map[string]int{}, 0
		for name, f := range s {
			if !strings.HasPrefix(name, "boxoffice_") {
				continue
			}
			n := len(f.GetMetric())
			if f.GetType() == dto.MetricType_HISTOGRAM {
				n *= 16 // a series per bucket (13 and +Inf), _sum and _count
			}
			per[name], total = n, total+n
		}
		return per, total
	}
	perPaths, _ := counts(afterPaths)
	per, total := counts(final)
	var lines []string
	for name, n := range per {
		lines = append(lines, fmt.Sprintf("%s %d", name, n))
	}
	sort.Strings(lines)
	t.Logf("series after 10 000 paths and 1 000 users: %d\n%s", total, strings.Join(lines, "\n"))
	// Unmatched requests: one series per method (9 known + other) and status class.
	if n := perPaths["boxoffice_http_requests_total"]; n > 20 {
		t.Errorf("10 000 unknown paths made %d request series", n)
	}
	if n := per["boxoffice_http_requests_total"]; n > 100 {
		t.Errorf("%d request series (route templates × methods × classes)", n)
	}
	if http := per["boxoffice_http_requests_total"] + per["boxoffice_http_request_duration_seconds"]; http >= 500 {
		t.Errorf("%d HTTP series, want < 500", http)
	}
	if total >= 1000 {
		t.Errorf("%d boxoffice_* series, want < 1000", total)
	}

	// No label value is a path, a user name or a user id.
	values := map[string]string{} // label value -> where
	for name, f := range final {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				values[l.GetValue()] = name + " " + l.GetName()
				if l.GetName() == "route" && l.GetValue() != "unmatched" && !isTemplate(l.GetValue()) {
					t.Errorf("%s has route %q, not a template", name, l.GetValue())
				}
			}
		}
	}
	forbidden := []string{"zz-probe", "/x"}
	for _, u := range users {
		forbidden = append(forbidden, u.name, u.tk.Session.UserID, u.tk.SessionID)
	}
	for v, where := range values {
		for _, f := range forbidden {
			if f != "" && strings.Contains(v, f) {
				t.Errorf("%s has label value %q (contains %q)", where, v, f)
			}
		}
	}
}

// isTemplate reports whether a route label is a route template of the API: it starts with
// "/", and its segments are short lowercase words or :params (no ids: those are 26 characters).
func isTemplate(route string) bool {
	if !strings.HasPrefix(route, "/") {
		return false
	}
	for _, seg := range strings.Split(route[1:], "/") {
		if len(seg) > 20 || strings.ContainsAny(seg, "0123456789") && seg != "v1" {
			return false
		}
	}
	return true
}
