package tests

import (
	"encoding/json"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// metricName matches the names of the metrics boxoffice exports (its own, the Go runtime's and
// the process's) inside a PromQL expression.
var metricName = regexp.MustCompile(`\b(?:boxoffice|go|process)_[a-z0-9_]+\b`)

// deployedMetricNames returns every metric name the alert rules (deploy/prometheus/alerts.yml)
// and the Grafana dashboard (deploy/grafana/dashboards/boxoffice.json) query, each with where it
// is used. Histogram series (_bucket, _sum, _count) are named by their family.
func deployedMetricNames(t *testing.T) map[string][]string {
	t.Helper()
	used := map[string][]string{}
	add := func(where, expr string) {
		for _, n := range metricName.FindAllString(expr, -1) {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if strings.HasSuffix(n, "_seconds"+suffix) {
					n = strings.TrimSuffix(n, suffix)
				}
			}
			used[n] = append(used[n], where)
		}
	}
	var rules struct {
		Groups []struct {
			Rules []struct{ Alert, Expr string }
		}
	}
	b, err := os.ReadFile("../deploy/prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &rules); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			add("alert "+r.Alert, r.Expr)
		}
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if b, err = os.ReadFile("../deploy/grafana/dashboards/boxoffice.json"); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("boxoffice.json: %v", err)
	}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			add("panel "+p.Title, tg.Expr)
		}
	}
	if len(used) < 20 {
		t.Fatalf("only %d metric names found in the alert rules and the dashboard: is the parsing broken?", len(used))
	}
	return used
}

// checkDeployedNames fails for each metric the alert rules or the dashboard query that a real
// instance (scraped after exercising every counter: TestMetricsCountEvents) does not export: a
// renamed metric would otherwise silently blind an alert.
func checkDeployedNames(t *testing.T, exported scrape) {
	t.Helper()
	used := deployedMetricNames(t)
	names := make([]string, 0, len(used))
	for n := range used {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, ok := exported[n]; !ok {
			t.Errorf("%s is queried by %s but not exported", n, strings.Join(used[n], ", "))
		}
	}
}
