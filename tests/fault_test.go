package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"boxoffice/session/sessiontest"
)

// faultUser signs a user in twice through d and revokes the second session, returning the live
// and the revoked tokens.
func faultUser(t *testing.T, d *deployment) (live, revoked tokens) {
	t.Helper()
	name, pw := newUser(t, d.inst(0))
	live = login(t, d.inst(0), name, pw)
	revoked = login(t, d.inst(1), name, pw)
	expect(t, d.inst(1).do(t, "POST", "/v1/auth/logout", revoked.AccessToken, nil), 204, "")
	return live, revoked
}

// afterRecovery checks that the live session works and the revoked one stays revoked on every
// instance.
func afterRecovery(t *testing.T, d *deployment, live, revoked tokens) {
	t.Helper()
	for i := range d.procs {
		expect(t, d.inst(i).do(t, "GET", "/v1/session", live.AccessToken, nil), 200, "")
		expect(t, d.inst(i).do(t, "GET", "/v1/session", revoked.AccessToken, nil), 401, "session_revoked")
	}
}

// underLoad reads the live session from every instance while fault runs (fault returns once
// the fault is over and the deployment ready again; it gets the load, to wait for clients to see
// the fault), checks the outage contract on every answer and that no goroutines leaked, and
// returns the outage's timing, to report (never to assert: how long things take depends on the
// machine).
func underLoad(t *testing.T, d *deployment, debug []string, live tokens, fault func(load *loadGen)) outage {
	t.Helper()
	before := countGoroutines(t, debug)
	load := startLoad(t, d, live.AccessToken, 4)
	time.Sleep(300 * time.Millisecond)
	at := time.Now()
	fault(load)
	time.Sleep(500 * time.Millisecond)
	o := summarise(load.finish(t), at)
	noLeak(t, debug, before)
	return o
}

// allReady waits until every instance of d answers /readyz with 200.
func allReady(t *testing.T, d *deployment) {
	t.Helper()
	waitFor(t, guard, func() bool {
		for _, p := range d.procs {
			if get(p.base+"/readyz") != 200 {
				return false
			}
		}
		return true
	})
}

// boundedPools fails when Redis holds more connections than two instances' pools (8 each)
// and the test's own client: the pools leaked across the outage.
func boundedPools(t *testing.T, r *sessiontest.Redis) {
	t.Helper()
	if n := redisClients(t, r); n > 2*8+2 {
		t.Fatalf("%d connections to Redis after recovery: the pools leak", n)
	}
}

// TestFaultRedisKilledAndRestarted: Redis (with an append-only file) dies under load and comes
// back. Meanwhile every answer is 200 or 503 with Retry-After; afterwards sessions and
// revocations are as they were, and no instance leaked goroutines.
func TestFaultRedisKilledAndRestarted(t *testing.T) {
	longFault(t)
	r := sessiontest.StartServer(t, "--appendonly", "yes", "--appendfsync", "always")
	d, debug := faultDeployment(t, 2, r.URL(), nil)
	live, revoked := faultUser(t, d)
	o := underLoad(t, d, debug, live, func(load *loadGen) {
		down := time.Now()
		r.Kill()
		time.Sleep(2 * time.Second)
		// Down until clients have been answered 503: answering without Redis would be the bug
		// (requests served without checking sessions), and the guard would then fail the test.
		load.await(t, down, 503)
		if err := r.Restart(); err != nil {
			t.Fatal(err)
		}
		allReady(t, d)
	})
	t.Logf("Redis killed: %s", o)
	afterRecovery(t, d, live, revoked)
	boundedPools(t, r)
}

// TestFaultRedisHung: Redis stops answering (SIGSTOP) under load: answers turn into 503 at the
// request deadline instead of hanging, and recover when it resumes. Redis stays hung until
// clients have been answered 503 — requests that hung with Redis would only be answered after
// it resumed, so the test would fail at the guard. Redis' own timeouts are longer than the
// request deadline, so the deadline is what ends the requests; both are far above what the
// requests before and after the fault need on a loaded machine.
func TestFaultRedisHung(t *testing.T) {
	longFault(t)
	r := sessiontest.StartServer(t)
	d, debug := faultDeployment(t, 2, r.URL(), map[string]string{"BOXOFFICE_REQUEST_TIMEOUT": "3s", "REDIS_TIMEOUT": "30s"})
	live, revoked := faultUser(t, d)
	t.Cleanup(r.Resume) // never leave it stopped
	o := underLoad(t, d, debug, live, func(load *loadGen) {
		hung := time.Now()
		r.Pause()
		time.Sleep(3 * time.Second)
		load.await(t, hung, 503)
		r.Resume()
		allReady(t, d)
	})
	t.Logf("Redis hung: %s", o)
	afterRecovery(t, d, live, revoked)
	boundedPools(t, r)
}

// TestFaultSentinelFailover: the primary dies under load; Sentinel promotes the replica and the
// instances follow it. Revocations were acknowledged by the replica (BOXOFFICE_REVOCATION_
// REPLICAS=1), so none comes back to life on the new primary.
func TestFaultSentinelFailover(t *testing.T) {
	longFault(t)
	s := sessiontest.StartSentinel(t)
	d, debug := faultDeployment(t, 2, "", map[string]string{
		"REDIS_SENTINEL_ADDRS": strings.Join(s.Addrs, ","), "REDIS_SENTINEL_MASTER": s.Master,
		"BOXOFFICE_REVOCATION_REPLICAS": "1",
		// The replica's acknowledgement is waited for up to this long: generous, as a busy
		// machine may take a while (it must stay below REDIS_TIMEOUT, 5s).
		"BOXOFFICE_REVOCATION_WAIT": "4s",
	})
	live, revoked := faultUser(t, d)
	o := underLoad(t, d, debug, live, func(*loadGen) {
		old := s.Primary.Addr
		s.Primary.Kill()
		waitFor(t, guard, func() bool {
			addr, err := s.MasterAddr()
			return err == nil && addr != old
		})
		allReady(t, d)
	})
	t.Logf("Sentinel failover: %s", o)
	afterRecovery(t, d, live, revoked)
}

// TestFaultClusterPromotion: a Cluster primary dies under load; its replica is promoted and the
// sessions whose slots it served are readable again.
func TestFaultClusterPromotion(t *testing.T) {
	longFault(t)
	c := sessiontest.StartCluster(t)
	d, debug := faultDeployment(t, 2, "", map[string]string{"REDIS_CLUSTER_ADDRS": strings.Join(c.Addrs, ",")})
	var lives, revokeds []tokens
	for i := 0; i < 6; i++ { // users spread over the three primaries
		l, r := faultUser(t, d)
		lives, revokeds = append(lives, l), append(revokeds, r)
	}
	// Replication is asynchronous: the primary about to die must not take a session or a
	// revocation with it, so the replicas must hold them before it is killed.
	replicasCaughtUp(t, c)
	o := underLoad(t, d, debug, lives[0], func(*loadGen) {
		c.Primaries()[0].Kill()
		// Healthy again means: the failure was detected and the replica promoted (3 primaries
		// serving every slot among the live nodes).
		waitFor(t, guard, func() bool { return len(c.Primaries()) == 3 })
		if err := c.WaitHealthy(guard); err != nil {
			t.Fatal(err)
		}
		// Every instance learns the new topology on its own, when a request of its own meets
		// the dead node (or its slot map ages out): until then it answers 503, as the outage
		// contract says. So every user is read on every instance until it is served.
		deadline := time.Now().Add(guard)
		for n := range d.procs {
			for i := range lives {
				for {
					r := d.inst(n).do(t, "GET", "/v1/session", lives[i].AccessToken, nil)
					if r.status == 200 {
						break
					}
					if r.status != 503 || time.Now().After(deadline) {
						d.dumpLogs(os.Stderr)
						t.Fatalf("user %d on instance %d after promotion: %d %s", i, n, r.status, r.body)
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
		}
	})
	t.Logf("Cluster primary killed: %s", o)
	for i := range lives {
		afterRecovery(t, d, lives[i], revokeds[i])
	}
}

// replicasCaughtUp waits until every replica of each primary of c has acknowledged everything
// its primary had replicated when it was called: what was written until then survives the death
// of any primary. Replication usually takes a moment, but a loaded machine may starve a replica
// for longer than any fixed pause, so the test waits for the replicas' own word, up to the guard.
//
// It reads each primary's INFO replication: master_repl_offset, how far its replication stream
// has got, and for each replica (slaveN:…,offset=N) the offset the replica acknowledged (it
// does so once a second). The target is the offset at the call, not the current one, which
// moves on (the instances' later writes, and the PING a primary sends its replicas every ten
// seconds through the same stream) and which a once-a-second acknowledgement may keep missing.
// WAIT is no shortcut: it counts acknowledgements of the calling connection's own last write —
// on a fresh connection it returns at once, however far behind the replicas are — and the
// writes that matter here were the instances'.
func replicasCaughtUp(t *testing.T, c *sessiontest.Cluster) {
	t.Helper()
	ctx := context.Background()
	type target struct {
		addr   string
		rdb    *redis.Client
		offset int64
	}
	var targets []target
	for _, p := range c.Primaries() {
		rdb := p.Client(t)
		info, err := rdb.Info(ctx, "replication").Result()
		if err != nil {
			t.Fatalf("INFO replication of primary %s: %v", p.Addr, err)
		}
		offset, _, ok := replicationOffsets(info)
		if !ok {
			t.Fatalf("no master_repl_offset in the INFO replication of primary %s:\n%s", p.Addr, info)
		}
		targets = append(targets, target{p.Addr, rdb, offset})
	}
	if len(targets) != 3 {
		t.Fatalf("%d primaries, want 3", len(targets))
	}
	for _, tg := range targets {
		var info string
		deadline := time.Now().Add(guard)
		for {
			var err error
			info, err = tg.rdb.Info(ctx, "replication").Result()
			if _, acked, _ := replicationOffsets(info); err == nil && len(acked) > 0 && slices.Min(acked) >= tg.offset {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the replicas of primary %s did not acknowledge offset %d within %s (%v):\n%s",
					tg.addr, tg.offset, guard, err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// replicaLine is a primary's INFO replication line about one of its replicas.
var replicaLine = regexp.MustCompile(`^slave\d+:.*\boffset=(\d+)`)

// replicationOffsets reads a primary's INFO replication: its replication offset (ok says it
// was there) and the offset each of its replicas acknowledged.
func replicationOffsets(info string) (primary int64, acked []int64, ok bool) {
	for _, line := range strings.Split(info, "\n") {
		line = strings.TrimSpace(line)
		if v, found := strings.CutPrefix(line, "master_repl_offset:"); found {
			n, err := strconv.ParseInt(v, 10, 64)
			primary, ok = n, err == nil
		}
		if m := replicaLine.FindStringSubmatch(line); m != nil {
			n, _ := strconv.ParseInt(m[1], 10, 64)
			acked = append(acked, n)
		}
	}
	return primary, acked, ok
}

// TestFaultInstanceKilledMidRefresh: the instance handling a refresh dies at a random moment;
// the client retries the same refresh token on another instance and stays signed in.
func TestFaultInstanceKilledMidRefresh(t *testing.T) {
	longFault(t)
	r := sessiontest.StartServer(t)
	stable, _ := faultDeployment(t, 1, r.URL(), nil)
	for round := 0; round < 8; round++ {
		victim, _ := faultDeployment(t, 1, r.URL(), nil)
		name, pw := newUser(t, stable.inst(0))
		tk := login(t, stable.inst(0), name, pw)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), guard)
			defer cancel()
			_ = rawRefresh(ctx, victim.procs[0].base, tk.RefreshToken) // may or may not complete
		}()
		time.Sleep(time.Duration(round) * 3 * time.Millisecond)
		victim.procs[0].signal(syscall.SIGKILL)
		wg.Wait()
		// The client's retry, on another instance, with the token it still holds.
		rr := stable.inst(0).do(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": tk.RefreshToken})
		expect(t, rr, 200, "")
		var next tokens
		rr.decode(t, &next)
		expect(t, stable.inst(0).do(t, "GET", "/v1/session", next.AccessToken, nil), 200, "")
	}
}

// TestFaultGracefulDrain: SIGTERM during in-flight logins marks the instance not ready first,
// then stops accepting connections, lets every one of the logins finish, and exits cleanly.
//
// The logins are held in flight by pausing Redis (their first step is a throttle check), not by
// slow password hashing: they are surely running when SIGTERM comes, on any machine, and only
// finish once the instance has closed its listener, inside the shutdown. Every deadline of the
// instance is long, so that nothing but the drain is tested.
func TestFaultGracefulDrain(t *testing.T) {
	longFault(t)
	r := sessiontest.StartServer(t)
	d, debug := faultDeployment(t, 1, r.URL(), map[string]string{"BOXOFFICE_DRAIN_DELAY": "3s",
		"BOXOFFICE_REQUEST_TIMEOUT": "120s", "REDIS_TIMEOUT": "120s", "BOXOFFICE_SHUTDOWN_TIMEOUT": "120s"})
	p, c := d.procs[0], d.inst(0)
	name, pw := newUser(t, c)
	body, _ := json.Marshal(map[string]string{"username": name, "password": pw})

	r.Pause()
	t.Cleanup(r.Resume) // never leave it stopped
	const n = 8
	results := make(chan string, n)
	for i := 0; i < n; i++ {
		go func() {
			resp, err := httpc.Post(c.base+"/v1/auth/login", "application/json", bytes.NewReader(body))
			if err != nil {
				results <- err.Error()
				return
			}
			resp.Body.Close()
			results <- resp.Status
		}()
	}
	waitFor(t, guard, func() bool { return waitingOnRedis(t, debug[0]) >= n })

	p.signal(syscall.SIGTERM)
	var st int // the first answer of /readyz that is not 200
	waitFor(t, guard, func() bool { st = get(c.base + "/readyz"); return st != 200 })
	if st != 503 {
		t.Errorf("/readyz after SIGTERM = %d, want 503 (not ready) while still accepting connections", st)
	}
	waitFor(t, guard, func() bool { return get(c.base+"/readyz") == 0 }) // the listener is closed
	r.Resume()
	for i := 0; i < n; i++ {
		if got := <-results; got != "200 OK" {
			t.Errorf("in-flight login answered %s during shutdown", got)
		}
	}
	select {
	case <-p.done:
		if code := p.cmd.ProcessState.ExitCode(); code != 0 {
			t.Fatalf("exit code %d after SIGTERM", code)
		}
	case <-time.After(guard):
		t.Fatal("instance did not exit after SIGTERM")
	}
}

// waitingOnRedis counts an instance's requests that are inside a handler waiting for Redis,
// from its goroutine dump.
func waitingOnRedis(t *testing.T, debugBase string) int {
	t.Helper()
	resp, err := http.Get(debugBase + "/debug/pprof/goroutine?debug=2")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	n := 0
	for _, g := range strings.Split(string(b), "\n\n") {
		if strings.Contains(g, "boxoffice/api.") && strings.Contains(g, "github.com/redis/go-redis/") {
			n++
		}
	}
	return n
}

// TestFaultRedisOutOfMemory: with noeviction, a Redis at its memory limit refuses writes;
// reads keep working, writes answer 503 (never 500), revoked sessions stay revoked, and
// everything works again once memory is available.
func TestFaultRedisOutOfMemory(t *testing.T) {
	r := sessiontest.StartServer(t, "--maxmemory-policy", "noeviction")
	d, _ := faultDeployment(t, 1, r.URL(), nil)
	c := d.inst(0)
	live, revoked := faultUser(t, d)
	rdb := r.Client(t)
	ctx := context.Background()
	// A limit below what Redis already uses: every write that needs memory is refused.
	if err := rdb.ConfigSet(ctx, "maxmemory", "100kb").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Set(ctx, "probe", "x", 0).Err(); err == nil || !strings.Contains(err.Error(), "OOM") {
		t.Fatalf("Redis is not refusing writes: %v", err)
	}
	expect(t, c.do(t, "GET", "/v1/session", live.AccessToken, nil), 200, "")
	expect(t, c.do(t, "PATCH", "/v1/session/data", live.AccessToken, `{"big":"`+strings.Repeat("y", 4000)+`"}`), 503, "service_unavailable")
	expect(t, c.do(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": live.RefreshToken}), 503, "service_unavailable")
	expect(t, c.do(t, "POST", "/v1/auth/login", "", map[string]string{"username": "nobody-oom", "password": "whatever-pw"}), 503, "service_unavailable")
	expect(t, c.do(t, "GET", "/v1/session", revoked.AccessToken, nil), 401, "session_revoked")
	if err := rdb.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	expect(t, c.do(t, "PATCH", "/v1/session/data", live.AccessToken, `{"ok":true}`), 200, "")
	expect(t, c.do(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": live.RefreshToken}), 200, "")
}

// TestFaultClockSkew: instances whose clocks differ by ±2 s (inside the JWT leeway) serve the
// same sessions; tokens issued by the fast one are accepted by the slow one and vice versa.
func TestFaultClockSkew(t *testing.T) {
	longFault(t)
	r := sessiontest.StartServer(t)
	fast, _ := faultDeployment(t, 1, r.URL(), map[string]string{"BOXOFFICE_CLOCK_OFFSET": "2s"})
	slow, _ := faultDeployment(t, 1, r.URL(), map[string]string{"BOXOFFICE_CLOCK_OFFSET": "-2s"})
	both := &deployment{procs: []*process{fast.procs[0], slow.procs[0]}}
	lifecycle(t, both)
	name, pw := newUser(t, fast.inst(0))
	tk := login(t, fast.inst(0), name, pw)
	expect(t, slow.inst(0).do(t, "GET", "/v1/session", tk.AccessToken, nil), 200, "")
	tk2 := login(t, slow.inst(0), name, pw)
	expect(t, fast.inst(0).do(t, "GET", "/v1/session", tk2.AccessToken, nil), 200, "")
}
