package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"boxoffice/audit"
)

// value returns the value of the series of family name whose labels are exactly labels (name,
// value pairs); -1 when there is no such series.
func value(t *testing.T, m *Metrics, name string, labels ...string) float64 {
	t.Helper()
	fams, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			if !hasLabels(s, labels) {
				continue
			}
			switch {
			case s.Counter != nil:
				return s.Counter.GetValue()
			case s.Gauge != nil:
				return s.Gauge.GetValue()
			case s.Histogram != nil:
				return float64(s.Histogram.GetSampleCount())
			}
		}
	}
	return -1
}

func hasLabels(s *dto.Metric, labels []string) bool {
	if len(s.GetLabel()) != len(labels)/2 {
		return false
	}
	for _, l := range s.GetLabel() {
		found := false
		for i := 0; i+1 < len(labels); i += 2 {
			if labels[i] == l.GetName() && labels[i+1] == l.GetValue() {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func TestAuditMapping(t *testing.T) {
	m := New()
	ctx := context.Background()
	rec := func(typ audit.Type, outcome audit.Outcome, reason string) {
		m.Record(ctx, audit.Event{Type: typ, Outcome: outcome, Reason: reason, UserID: "u1", SessionID: "s1"})
	}
	rec(audit.LoginSuccess, "", "")
	rec(audit.LoginFail, audit.Failure, "bad_password")
	rec(audit.LoginFail, audit.Failure, "bad_password")
	rec(audit.LoginFail, audit.Failure, "unknown_user")
	rec(audit.LoginFail, audit.Failure, "a reason nobody knows")
	rec(audit.LoginLock, audit.Failure, "account")
	rec(audit.LoginLock, audit.Failure, "/etc/passwd")
	rec(audit.TokenReuse, audit.Failure, "")
	rec(audit.SessionRevoked, audit.Success, "logout")
	rec(audit.SessionRevoked, audit.Success, "token_reuse")
	rec(audit.SessionRevoked, audit.Success, "user-12345")
	rec(audit.PasswordChange, audit.Success, "")
	rec(audit.PasswordChange, audit.Failure, "bad_password")
	rec(audit.OrderPaid, audit.Success, "")
	rec(audit.OrderRefunded, audit.Success, "buyer")
	rec(audit.OrderCancelled, audit.Success, "payment_failed")
	rec(audit.OrderRefunded, audit.Success, "order 42 by bob")
	rec("made_up_event", "maybe", "x")

	want := []struct {
		name   string
		labels []string
		v      float64
	}{
		{"boxoffice_logins_total", []string{"outcome", "success", "reason", ""}, 1},
		{"boxoffice_logins_total", []string{"outcome", "failure", "reason", "bad_password"}, 2},
		{"boxoffice_logins_total", []string{"outcome", "failure", "reason", "unknown_user"}, 1},
		{"boxoffice_logins_total", []string{"outcome", "failure", "reason", "password_changed"}, 0},
		{"boxoffice_logins_total", []string{"outcome", "failure", "reason", "other"}, 1},
		{"boxoffice_logins_total", []string{"outcome", "throttled", "reason", "account"}, 1},
		{"boxoffice_logins_total", []string{"outcome", "throttled", "reason", "other"}, 1},
		{"boxoffice_login_throttle_decisions_total", []string{"decision", "allowed", "limit", ""}, 5},
		{"boxoffice_login_throttle_decisions_total", []string{"decision", "refused", "limit", "account"}, 1},
		{"boxoffice_login_throttle_decisions_total", []string{"decision", "refused", "limit", "other"}, 1},
		{"boxoffice_refresh_reuse_detections_total", nil, 1},
		{"boxoffice_session_revocations_total", []string{"reason", "logout"}, 1},
		{"boxoffice_session_revocations_total", []string{"reason", "token_reuse"}, 1},
		{"boxoffice_session_revocations_total", []string{"reason", "other"}, 1},
		{"boxoffice_session_revocations_total", []string{"reason", "admin"}, 0},
		{"boxoffice_password_changes_total", []string{"outcome", "success"}, 1},
		{"boxoffice_password_changes_total", []string{"outcome", "failure"}, 1},
		{"boxoffice_payments_total", []string{"outcome", "paid", "reason", ""}, 1},
		{"boxoffice_payments_total", []string{"outcome", "refunded", "reason", "buyer"}, 1},
		{"boxoffice_payments_total", []string{"outcome", "refunded", "reason", "other"}, 1},
		{"boxoffice_payments_total", []string{"outcome", "cancelled", "reason", "payment_failed"}, 1},
		{"boxoffice_audit_events_total", []string{"type", "authn_login_fail", "outcome", "failure"}, 4},
		{"boxoffice_audit_events_total", []string{"type", "authn_login_success", "outcome", "success"}, 1},
		{"boxoffice_audit_events_total", []string{"type", "other", "outcome", "other"}, 1},
	}
	for _, w := range want {
		if got := value(t, m, w.name, w.labels...); got != w.v {
			t.Errorf("%s%v = %v, want %v", w.name, w.labels, got, w.v)
		}
	}
	// No label value anywhere carries what the events carried besides known words.
	body := scrape(t, m)
	for _, leak := range []string{"u1", "s1", "/etc/passwd", "user-12345", "bob", "nobody", "made_up"} {
		if strings.Contains(body, `"`+leak) {
			t.Errorf("a label holds %q:\n%s", leak, body)
		}
	}
}

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	// The exposition parses.
	parser := expfmt.NewTextParser(model.UTF8Validation)
	if _, err := parser.TextToMetricFamilies(strings.NewReader(rec.Body.String())); err != nil {
		t.Fatalf("scrape does not parse: %v", err)
	}
	return rec.Body.String()
}

func TestRouteClassesAndMethods(t *testing.T) {
	m := New()
	r := m.Route("GET", "/v1/movies")
	for _, s := range []int{200, 204, 304, 404, 422, 500, 503, 101} {
		r.Observe(s, time.Millisecond)
	}
	m.Route("BREW", Unmatched).Observe(405, 0)
	for class, n := range map[string]float64{"2xx": 3, "3xx": 1, "4xx": 2, "5xx": 2} {
		labels := []string{"method", "GET", "route", "/v1/movies", "status", class}
		if got := value(t, m, "boxoffice_http_requests_total", labels...); got != n {
			t.Errorf("requests %s = %v, want %v", class, got, n)
		}
		if got := value(t, m, "boxoffice_http_request_duration_seconds", labels...); got != n {
			t.Errorf("durations %s = %v, want %v", class, got, n)
		}
	}
	if got := value(t, m, "boxoffice_http_requests_total", "method", "other", "route", "unmatched", "status", "4xx"); got != 1 {
		t.Errorf("unknown method: %v", got)
	}
	// A route never observed exports nothing.
	m.Route("DELETE", "/v1/holds/:id")
	if strings.Contains(scrape(t, m), "/v1/holds/:id") {
		t.Error("a route never called is exported")
	}
}

func TestObserveAllocatesNothing(t *testing.T) {
	m := New()
	r := m.Route("GET", "/v1/movies")
	r.Observe(200, time.Millisecond) // makes the series
	if n := testing.AllocsPerRun(1000, func() { r.Observe(200, time.Millisecond) }); n != 0 {
		t.Errorf("Route.Observe allocates %v times", n)
	}
	m.ObserveRedisCommand("evalsha", time.Millisecond, false)
	if n := testing.AllocsPerRun(1000, func() { m.ObserveRedisCommand("evalsha", time.Millisecond, false) }); n != 0 {
		t.Errorf("ObserveRedisCommand allocates %v times", n)
	}
}

func TestBoundedLabels(t *testing.T) {
	m := New()
	op := m.Operation("hold_create")
	for i := 0; i < 3*maxOutcomes; i++ {
		op.Observe(fmt.Sprintf("code_%d", i))
	}
	op.Observe("ok")
	for i := 0; i < 1000; i++ {
		m.Problem(fmt.Sprintf("code_%d", i), 404)
		m.ObserveRedisCommand(fmt.Sprintf("cmd%d", i), time.Microsecond, i%2 == 0)
	}
	m.Unavailable("redis")
	m.Unavailable("a cause nobody knows")
	fams, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := map[string]int{}
	for _, f := range fams {
		series[f.GetName()] = len(f.GetMetric())
	}
	if n := series["boxoffice_operations_total"]; n > maxOutcomes+2 { // the codes, "other" and "ok"
		t.Errorf("operations_total has %d series", n)
	}
	if n := series["boxoffice_problems_total"]; n > 257 {
		t.Errorf("problems_total has %d series", n)
	}
	if n := series["boxoffice_redis_command_errors_total"]; n != 1 {
		t.Errorf("redis_command_errors_total has %d series, want 1 (other)", n)
	}
	if got := value(t, m, "boxoffice_redis_command_errors_total", "command", "other"); got != 500 {
		t.Errorf("errors of unknown commands: %v", got)
	}
	if got := value(t, m, "boxoffice_operations_total", "operation", "hold_create", "outcome", "other"); got != 2*maxOutcomes {
		t.Errorf("overflowing outcomes: %v", got)
	}
	if got := value(t, m, "boxoffice_unavailable_total", "cause", "other"); got != 1 {
		t.Errorf("unknown cause: %v", got)
	}
	if got := value(t, m, "boxoffice_unavailable_total", "cause", "draining"); got != 0 {
		t.Errorf("draining before any 503: %v (want a zero series)", got)
	}
}

func TestSessionsEstimateCached(t *testing.T) {
	m := New()
	var mu sync.Mutex
	now := time.Unix(1000, 0)
	m.sessions.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	calls, fail := 0, false
	m.RegisterSessionsEstimate(func(ctx context.Context) (float64, error) {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("the estimate runs without a deadline")
		}
		calls++
		if fail {
			return 0, errors.New("redis down")
		}
		return float64(100 * calls), nil
	})
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	if v := value(t, m, "boxoffice_sessions_estimate"); v != 100 {
		t.Fatalf("first scrape: %v", v)
	}
	advance(SessionsEstimateTTL - time.Second)
	if v := value(t, m, "boxoffice_sessions_estimate"); v != 100 || calls != 1 {
		t.Fatalf("within the TTL: %v after %d calls", v, calls)
	}
	advance(time.Second)
	if v := value(t, m, "boxoffice_sessions_estimate"); v != 200 || calls != 2 {
		t.Fatalf("after the TTL: %v after %d calls", v, calls)
	}
	fail = true
	advance(SessionsEstimateTTL)
	if v := value(t, m, "boxoffice_sessions_estimate"); !math.IsNaN(v) {
		t.Fatalf("failed estimate: %v, want NaN", v)
	}
}

func TestStoreCollectors(t *testing.T) {
	m := New()
	m.RegisterRedisPool(func() RedisPool { return RedisPool{Hits: 7, TotalConns: 3, IdleConns: 2} })
	m.RegisterDBPool(func() DBPool {
		return DBPool{MaxConns: 10, AcquireCount: 5, AcquireDuration: 1500 * time.Millisecond}
	})
	m.RegisterStreams(func() int { return 4 })
	for name, want := range map[string]float64{
		"boxoffice_redis_pool_hits_total":                  7,
		"boxoffice_redis_pool_total_conns":                 3,
		"boxoffice_redis_pool_idle_conns":                  2,
		"boxoffice_redis_pool_timeouts_total":              0,
		"boxoffice_db_pool_max_conns":                      10,
		"boxoffice_db_pool_acquire_count_total":            5,
		"boxoffice_db_pool_acquire_duration_seconds_total": 1.5,
		"boxoffice_sse_streams":                            4,
	} {
		if got := value(t, m, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	body := scrape(t, m)
	for _, s := range []string{"go_goroutines ", "process_", "boxoffice_build_info{"} {
		if !strings.Contains(body, s) {
			t.Errorf("the scrape lacks %s", s)
		}
	}
}
