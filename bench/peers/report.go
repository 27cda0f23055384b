package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// report prints the medians per contender, as a Markdown table, and the ratios.
func report(cs []*contender, rounds int) {
	type row struct {
		rps, p50, p99, machine, server, redis, wrk float64
	}
	med := map[string]row{}
	for _, c := range cs {
		get := func(f func(sample) float64) float64 {
			v := make([]float64, len(c.results))
			for i, s := range c.results {
				v[i] = f(s)
			}
			return median(v)
		}
		med[c.key] = row{
			rps:     get(func(s sample) float64 { return s.wrk.ReqPerSec }),
			p50:     get(func(s sample) float64 { return float64(s.wrk.P50) / 1e6 }),
			p99:     get(func(s sample) float64 { return float64(s.wrk.P99) / 1e6 }),
			machine: get(func(s sample) float64 { return s.machineUS }),
			server:  get(func(s sample) float64 { return s.serverUS }),
			redis:   get(func(s sample) float64 { return s.redisUS }),
			wrk:     get(func(s sample) float64 { return s.wrkUS }),
		}
	}
	fmt.Printf("Median of %d rounds (CPU in µs per request: the whole machine's; of which the server, Redis, wrk):\n\n", rounds)
	fmt.Println("| contender | req/s | p50 | p99 | machine CPU µs/req | server | Redis | wrk |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, c := range cs {
		m := med[c.key]
		fmt.Printf("| %s | %s | %.2f ms | %.2f ms | %.0f | %.0f | %.0f | %.0f |\n",
			c.label, thousands(m.rps), m.p50, m.p99, m.machine, m.server, m.redis, m.wrk)
	}
	fmt.Println()
	fmt.Println("Ratios (medians; throughput, and machine CPU per request as peer ÷ boxoffice — above 1 means boxoffice is cheaper):")
	fmt.Println()
	fmt.Println("| boxoffice | vs | req/s ratio | goal | CPU/req ratio |")
	fmt.Println("|---|---|---:|---:|---:|")
	for _, b := range []struct{ key, label string }{{"bx-session", "`GET /v1/session`"}, {"bx-me", "`GET /v1/me`"},
		{"bx-session-off", "`GET /v1/session`, cache off"}, {"bx-me-off", "`GET /v1/me`, cache off"}} {
		for _, p := range []struct{ key, label, goal string }{
			{"fiber-getsave", "Fiber session, Get+Save", "≥ 3×"},
			{"fiber-read", "Fiber session, read only", "≥ 3×"},
			{"jwt", "stateless HS256 JWT", "≥ 0.7×"},
		} {
			fmt.Printf("| %s | %s | %.2f× | %s | %.2f× |\n", b.label, p.label,
				med[b.key].rps/med[p.key].rps, p.goal, med[p.key].machine/med[b.key].machine)
		}
	}
}

// median of v (the mean of the middle two for an even count); v is reordered.
func median(v []float64) float64 {
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }

// thousands formats a rate rounded to an integer with commas between thousands, as
// docs/benchmarks.md writes them.
func thousands(v float64) string {
	s := strconv.FormatInt(int64(v+0.5), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// machine describes the CPU count and model, for the record.
func machine() string {
	model := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%d CPUs (%s)", numCPU(), model)
}

func numCPU() int {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "cpu") && len(line) > 3 && line[3] >= '0' && line[3] <= '9' {
			n++
		}
	}
	return n
}
