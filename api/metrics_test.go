package api

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	dto "github.com/prometheus/client_model/go"
	"github.com/valyala/fasthttp"

	"boxoffice/audit"
	"boxoffice/auth"
	"boxoffice/metrics"
	"boxoffice/session"
	"boxoffice/tickets"
	"boxoffice/tickets/live"
)

// series returns every series of the metrics as "name{k=v,...}" → value (histograms: their
// count), labels sorted by name as Prometheus gathers them.
func series(t testing.TB, m *metrics.Metrics) map[string]float64 {
	t.Helper()
	fams, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		for _, s := range f.GetMetric() {
			var ls []string
			for _, l := range s.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			out[f.GetName()+"{"+strings.Join(ls, ",")+"}"] = metricValue(s)
		}
	}
	return out
}

func metricValue(s *dto.Metric) float64 {
	switch {
	case s.Counter != nil:
		return s.Counter.GetValue()
	case s.Gauge != nil:
		return s.Gauge.GetValue()
	case s.Histogram != nil:
		return float64(s.Histogram.GetSampleCount())
	}
	return 0
}

func newMetricsServer(t testing.TB) (*testServer, *metrics.Metrics) {
	m := metrics.New()
	ts, _ := buildTestServer(t, testServerOptions{tickets: openSQLite, metrics: m})
	return ts, m
}

// TestMetricsRouteLabels: requests are counted by route template, method and status class;
// whatever no route handled is "unmatched", never its path.
func TestMetricsRouteLabels(t *testing.T) {
	ts, m := newMetricsServer(t)
	call := func(method, path string, status int) {
		t.Helper()
		if resp, b := ts.call(t, method, path, "", ""); resp.StatusCode != status {
			t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, status)
		}
	}
	call("GET", "/healthz", 200)
	call("GET", "/healthz", 200)
	call("GET", "/", 200) // the web client's route, registered at the same path as the middleware
	call("GET", "/v1/movies/no-such-movie", 404)
	call("GET", "/no/such/path/secret-token-123", 404)
	call("GET", "/v1/movies/", 404) // strict routing: no route
	call("PUT", "/v1/movies", 405)
	call("BREW", "/v1/movies", 405) // a method Fiber does not know
	call("HEAD", "/healthz", 200)
	// Headers over the limit: fasthttp refuses the request before the router sees it and
	// hands the error to Fiber (what its server does on a read error).
	var fctx fasthttp.RequestCtx
	fctx.Request.Header.SetMethod("GET")
	ts.srv.app.Server().ErrorHandler(&fctx, &fasthttp.ErrSmallBuffer{})
	if fctx.Response.StatusCode() != 431 {
		t.Fatalf("oversized headers: %d %s", fctx.Response.StatusCode(), fctx.Response.Body())
	}

	got := series(t, m)
	want := map[string]float64{
		"boxoffice_http_requests_total{method=GET,route=/healthz,status=2xx}":           2,
		"boxoffice_http_requests_total{method=HEAD,route=/healthz,status=2xx}":          1,
		"boxoffice_http_requests_total{method=GET,route=/,status=2xx}":                  1,
		"boxoffice_http_requests_total{method=GET,route=/v1/movies/:id,status=4xx}":     1,
		"boxoffice_http_requests_total{method=GET,route=unmatched,status=4xx}":          3,
		"boxoffice_http_requests_total{method=PUT,route=unmatched,status=4xx}":          1,
		"boxoffice_http_requests_total{method=other,route=unmatched,status=4xx}":        1,
		"boxoffice_http_request_duration_seconds{method=GET,route=/healthz,status=2xx}": 2,
		"boxoffice_problems_total{code=not_found,status=404}":                           3,
		"boxoffice_problems_total{code=method_not_allowed,status=405}":                  2,
		"boxoffice_problems_total{code=headers_too_large,status=431}":                   1,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	for k := range got {
		if strings.Contains(k, "secret") || strings.Contains(k, "no-such") || strings.Contains(k, "/no/") {
			t.Errorf("a raw path became a label: %s", k)
		}
	}
}

// TestMetricsOperations: the business operations are counted by outcome, ok or the problem
// code, including stored answers replayed.
func TestMetricsOperations(t *testing.T) {
	ts, m := newMetricsServer(t)
	tr := ts.signIn(t, "olga") // register ok, login ok
	if resp, _ := ts.call(t, "POST", "/v1/auth/login", "", `{"username":"olga","password":"wrong-password-1"}`); resp.StatusCode != 401 {
		t.Fatalf("bad password: %d", resp.StatusCode)
	}
	if resp, _ := ts.call(t, "POST", "/v1/auth/refresh", "", `{"refresh_token":"`+tr.RefreshToken+`"}`); resp.StatusCode != 200 {
		t.Fatalf("refresh: %d", resp.StatusCode)
	}
	if resp, _ := ts.call(t, "POST", "/v1/auth/login", "", `{"username":`); resp.StatusCode != 400 {
		t.Fatalf("malformed login: %d", resp.StatusCode)
	}
	if resp, _ := ts.call(t, "POST", "/v1/auth/logout", tr.AccessToken, ""); resp.StatusCode != 204 {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	got := series(t, m)
	for k, v := range map[string]float64{
		"boxoffice_operations_total{operation=register,outcome=ok}":                  1,
		"boxoffice_operations_total{operation=login,outcome=ok}":                     1,
		"boxoffice_operations_total{operation=login,outcome=invalid_credentials}":    1,
		"boxoffice_operations_total{operation=login,outcome=malformed_json}":         1,
		"boxoffice_operations_total{operation=refresh,outcome=ok}":                   1,
		"boxoffice_operations_total{operation=logout,outcome=ok}":                    1,
		"boxoffice_operations_total{operation=order_create,outcome=ok}":              0,
		"boxoffice_problems_total{code=invalid_credentials,status=401}":              1,
		"boxoffice_http_requests_total{method=POST,route=/v1/auth/login,status=4xx}": 2,
	} {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

// TestMetricsOperationsNameRoutes: every entry of countedOperations names a registered route.
func TestMetricsOperationsNameRoutes(t *testing.T) {
	ts := newTestServer(t)
	routes := map[string]bool{}
	for _, r := range ts.srv.app.GetRoutes(true) {
		routes[r.Method+" "+r.Path] = true
	}
	for k, name := range countedOperations {
		if !routes[k] {
			t.Errorf("operation %s: no route %s", name, k)
		}
	}
}

func TestUnavailableCause(t *testing.T) {
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	bg := context.Background()
	for _, c := range []struct {
		ctx  context.Context
		err  error
		want string
	}{
		{bg, fmt.Errorf("%w: ping: dial tcp: refused", session.ErrUnavailable), "redis"},
		{bg, fmt.Errorf("%w: connection refused", tickets.ErrUnavailable), "database"},
		{bg, fmt.Errorf("%w: xrevrange: connection refused", audit.ErrUnavailable), "redis"},
		{bg, errDraining, "draining"},
		{bg, live.ErrClosed, "draining"},
		{bg, live.ErrTooManyStreams, "streams_full"},
		{bg, auth.ErrHashBusy, "hash_busy"},
		{bg, context.DeadlineExceeded, "timeout"},
		{expired, fmt.Errorf("%w: evalsha: i/o timeout", session.ErrUnavailable), "timeout"},
		{bg, tickets.ErrProviderUnavailable, "other"},
		{bg, errors.New("?"), "other"},
	} {
		if got := unavailableCause(c.ctx, c.err); got != c.want {
			t.Errorf("%v: cause %q, want %q", c.err, got, c.want)
		}
	}
	// A draining server's /readyz is still the service_unavailable problem.
	if p, _ := problemFor(errDraining); p.Status != 503 || p.Code != "service_unavailable" {
		t.Errorf("draining: %+v", p)
	}
}

// TestMetricsDraining: /readyz while draining is a 503 counted with cause "draining".
func TestMetricsDraining(t *testing.T) {
	ts, m := newMetricsServer(t)
	ts.srv.SetDraining(true)
	if resp, _ := ts.call(t, "GET", "/readyz", "", ""); resp.StatusCode != 503 {
		t.Fatalf("readyz while draining: %d", resp.StatusCode)
	}
	got := series(t, m)
	if got["boxoffice_unavailable_total{cause=draining}"] != 1 || got["boxoffice_unavailable_total{cause=redis}"] != 0 {
		t.Errorf("draining: %v", got)
	}
}

// BenchmarkMetricsMiddleware is the hot-path cost of the metrics: GET /healthz through the
// whole router and middleware without and with Metrics (the difference is the cost), and
// httpObserver.request alone.
//
//	go test ./api -run '^$' -bench MetricsMiddleware -benchmem -benchtime 200000x
func BenchmarkMetricsMiddleware(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(map[bool]string{false: "healthz/off", true: "healthz/on"}[on], func(b *testing.B) {
			var m *metrics.Metrics
			if on {
				m = metrics.New()
			}
			ts, _ := buildTestServer(b, testServerOptions{tickets: openSQLite, metrics: m, noWeb: true})
			benchHandler(b, ts, "GET", "/healthz", "")
		})
	}
	b.Run("observe", func(b *testing.B) {
		obs := newHTTPObserver(metrics.New())
		app := fiber.New(fiber.Config{DisableStartupMessage: true})
		app.Get("/v1/movies", func(c *fiber.Ctx) error {
			obs.request(c, 200, time.Millisecond) // makes the series
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				obs.request(c, 200, time.Millisecond)
			}
			return nil
		})
		obs.load(app)
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI("/v1/movies")
		app.Handler()(&ctx)
	})
}

// TestMetricsStoredProblems: a declined order's 402 is written as the order's stored answer,
// not by the error handler; it and its replay are counted as problems and as the operation's
// outcome all the same.
func TestMetricsStoredProblems(t *testing.T) {
	ts, m := newMetricsServer(t)
	w := stockTicketWorld(t, ts)
	h := w.hold(t, w.alice.AccessToken, `{"seat_ids":["C3","C4"]}`)
	for range 2 { // the second is the replay
		if resp, b := w.placeOrder(t, w.alice.AccessToken, "try-1", orderBody(h.ID, "test_decline")); resp.StatusCode != 402 {
			t.Fatalf("declined: %d %s", resp.StatusCode, b)
		}
	}
	got := series(t, m)
	for k, v := range map[string]float64{
		"boxoffice_problems_total{code=payment_declined,status=402}":                  2,
		"boxoffice_operations_total{operation=order_create,outcome=payment_declined}": 2,
		"boxoffice_operations_total{operation=hold_create,outcome=ok}":                1,
	} {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}
