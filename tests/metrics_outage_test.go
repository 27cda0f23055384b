package tests

import (
	"testing"

	"boxoffice/session/sessiontest"
)

// TestMetricsCountOutage: while Redis is down, a real instance's 503s are counted by cause
// (redis), as problems, and as failed Redis commands — what the BoxofficeHigh503Ratio alert and
// the dashboard's "503s by cause" read.
func TestMetricsCountOutage(t *testing.T) {
	r := sessiontest.StartServer(t) // a redis-server to kill: skipped loudly without one
	p, err := startProcess(t.TempDir(), r.URL(), metricsEnv)
	if err != nil {
		t.Fatal(err)
	}
	d := &deployment{procs: []*process{p}}
	t.Cleanup(d.stop)
	c := d.inst(0)
	url := metricsURL(t, p)
	waitFor(t, guard, func() bool { return get(c.base+"/readyz") == 200 })
	name, pw := newUser(t, c)
	tk := login(t, c, name, pw)
	before := scrapeMetrics(t, url)

	r.Kill()
	for range 3 {
		expect(t, c.do(t, "GET", "/v1/me", tk.AccessToken, nil), 503, "service_unavailable")
	}
	after := scrapeMetrics(t, url)
	checkMoved(t, before, after, []moved{
		{"boxoffice_unavailable_total", []string{"cause", "redis"}, 3},
		{"boxoffice_unavailable_total", []string{"cause", "timeout"}, 0},
		{"boxoffice_problems_total", []string{"code", "service_unavailable", "status", "503"}, 3},
		{"boxoffice_http_requests_total", []string{"method", "GET", "route", "/v1/me", "status", "5xx"}, 3},
	})
	var failed float64
	for _, m := range after["boxoffice_redis_command_errors_total"].GetMetric() {
		failed += m.GetCounter().GetValue()
	}
	if failed < 3 {
		t.Errorf("failed Redis commands counted: %v, want at least one per refused request", failed)
	}
	if v := after.value("boxoffice_redis_pool_total_conns"); v < 0 {
		t.Errorf("boxoffice_redis_pool_total_conns is not exported while Redis is down")
	}
}
