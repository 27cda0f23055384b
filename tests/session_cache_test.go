package tests

import (
	"os"
	"slices"
	"sync"
	"testing"
	"time"
)

// cacheOn reports whether the instances run with their session cache (the default); CI runs
// the suite a second time with BOXOFFICE_SESSION_CACHE=off.
func cacheOn() bool { return os.Getenv("BOXOFFICE_SESSION_CACHE") != "off" }

// TestSessionCacheRevocationVisibility: three instances hold a session warm in their caches; it
// is revoked on one of them, and the same token is polled on the two others at once. No
// request answered after the revocation's response may accept the token — Redis writes the
// invalidation to every instance's link before it answers the revoking script, and a cached
// read first checks that nothing waits unread on its link — and the time until each instance
// refuses it is reported (one loopback HTTP round trip when the invalidation was already
// applied).
func TestSessionCacheRevocationVisibility(t *testing.T) {
	// A generous staleness bound: on a loaded machine heartbeat echoes can be late by more than
	// the default second, and a cache then (rightly) stops serving for a while, which would
	// make the count of hits below depend on the machine's speed. Visibility does not depend
	// on it: invalidations, not the bound, refuse the revoked token.
	d := deploy(t, 3, shared.URL(), map[string]string{
		"BOXOFFICE_METRICS_ADDR": "127.0.0.1:0", "BOXOFFICE_SESSION_CACHE_STALENESS": "1m",
	})
	urls := make([]string, 3)
	for i := range urls {
		urls[i] = metricsURL(t, d.procs[i])
		if cacheOn() {
			waitFor(t, guard, func() bool { return scrapeMetrics(t, urls[i]).value("boxoffice_session_cache_serving") == 1 })
		}
	}
	hits := func() (n float64) {
		for _, u := range urls {
			n += scrapeMetrics(t, u).value("boxoffice_session_cache_hits_total")
		}
		return n
	}
	hitsBefore := hits()
	name, pw := newUser(t, d.inst(0))
	const rounds = 60
	var visible []time.Duration
	accepted := 0
	for round := range rounds {
		revoker := round % 3
		tk := login(t, d.inst(round+1), name, pw)
		path := []string{"/v1/session", "/v1/me"}[round%2]
		for i := range 3 {
			for range 2 {
				expect(t, d.inst(i).do(t, "GET", path, tk.AccessToken, nil), 200, "")
			}
		}
		expect(t, d.inst(revoker).do(t, "POST", "/v1/auth/logout", tk.AccessToken, nil), 204, "")
		revoked := time.Now()
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, i := range []int{(revoker + 1) % 3, (revoker + 2) % 3} {
			wg.Go(func() {
				for {
					r := d.inst(i).do(t, "GET", path, tk.AccessToken, nil)
					mu.Lock()
					if r.status == 200 {
						accepted++
						t.Errorf("round %d: instance %d accepted %s after the logout on instance %d returned", round, i, path, revoker)
					}
					mu.Unlock()
					if r.status == 401 {
						expect(t, r, 401, "session_revoked")
						mu.Lock()
						visible = append(visible, time.Since(revoked))
						mu.Unlock()
						return
					}
					if time.Since(revoked) > guard {
						t.Errorf("round %d: instance %d still answers %d %s", round, i, r.status, r.code())
						return
					}
				}
			})
		}
		wg.Wait()
	}
	if accepted != 0 || len(visible) != 2*rounds {
		t.Fatalf("%d requests accepted a revoked session; %d of %d refusals seen", accepted, len(visible), 2*rounds)
	}
	slices.Sort(visible)
	pct := func(p float64) time.Duration {
		return visible[int(p*float64(len(visible)-1))].Round(10 * time.Microsecond)
	}
	t.Logf("revocation visible on the other instances (from the logout's response to the first refusal, %d samples, cache on: %v): p50 %v, p99 %v, max %v",
		len(visible), cacheOn(), pct(0.5), pct(0.99), visible[len(visible)-1].Round(10*time.Microsecond))
	if cacheOn() {
		// Each round reads twice on each instance: the second read is a hit unless an
		// invalidation of the same user (the previous round's logout) landed during the first.
		if n := hits() - hitsBefore; n < float64(rounds*2) {
			t.Fatalf("the instances answered %v reads from their caches, want at least %d: the test did not exercise them", n, rounds*2)
		}
	}
}
