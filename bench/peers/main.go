// Command peers measures boxoffice's authenticated reads next to peers, in one run, on this
// machine:
//
//	go run ./bench/peers [-d 10s] [-rounds 2] [-c 64] [-warmup 2s]
//
// On loopback only, it starts one throwaway redis-server (free port, no persistence), builds and
// starts boxoffice twice (./cmd/boxoffice, against that Redis, embedded SQLite: one with the
// session cache, the default, one with BOXOFFICE_SESSION_CACHE=off) and three peers from
// this directory — fibersession (Fiber's session middleware over gofiber/storage/redis, on the
// same Redis), statelessjwt (a stateless HS256 JWT check) and hello (the HTTP ceiling) — signs
// in on each, then drives every contender with `wrk -t1 -c64 -d<d> --latency`, in alternating
// order over the rounds (forward, then backward, …) so that a drift of the machine does not
// favour one contender. Per run it records requests per second, p50 and p99 (wrk's latency
// distribution) and CPU per request: the whole machine's (/proc/stat busy time; client, servers
// and Redis share the cores), the server's, Redis's and wrk's own. It fails when wrk reports a
// non-2xx answer or a socket error. It prints each run, then the median over the rounds per
// contender, and the ratios issue 13 sets goals for.
//
// Everything it starts is stopped by PID when it ends (also on Ctrl-C), and its temporary
// directory removed; on failure the directory, with every process's log, is kept and named.
//
// Needs Go, wrk and redis-server (Debian packages wrk and redis-server). It is a measurement
// tool, not product code: the packages under bench/ import Fiber to measure Fiber's peers, which
// is why they are exempt from the rule that only api/ imports Fiber.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "peers:", err)
		os.Exit(1)
	}
}

// contender is one URL driven by wrk.
type contender struct {
	key     string // short name, used in the per-run lines
	label   string // row label in the table
	url     string
	header  string // one request header for wrk (-H), or ""
	server  *proc
	results []sample
}

// sample is one wrk run of one contender.
type sample struct {
	wrk                                 wrkResult
	machineUS, serverUS, redisUS, wrkUS float64 // CPU µs per request
	busyPct                             float64 // machine busy time over the run, % of all cores
}

func run() error {
	dur := flag.Duration("d", 10*time.Second, "duration of each wrk run")
	rounds := flag.Int("rounds", 2, "rounds; each drives every contender once, in alternating order")
	conns := flag.Int("c", 64, "wrk connections")
	threads := flag.Int("t", 1, "wrk threads")
	warmup := flag.Duration("warmup", 2*time.Second, "an unrecorded wrk run per contender before the rounds (0: none)")
	flag.Parse()
	if *rounds < 1 || *dur < time.Second || *conns < 1 || *threads < 1 {
		return errors.New("need -rounds ≥ 1, -d ≥ 1s, -c ≥ 1, -t ≥ 1")
	}

	for _, tool := range []struct{ cmd, pkg string }{{"wrk", "wrk"}, {"redis-server", "redis-server"}} {
		if _, err := exec.LookPath(tool.cmd); err != nil {
			return fmt.Errorf("%s is not installed: install it with `sudo apt-get install -y %s` (Debian, Ubuntu) or your system's package manager", tool.cmd, tool.pkg)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	root, err := moduleRoot()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "boxoffice-peers-")
	if err != nil {
		return err
	}
	var ps procs
	failed := true
	defer func() {
		ps.stopAll()
		if failed {
			fmt.Fprintf(os.Stderr, "peers: logs kept in %s\n", work)
		} else {
			os.RemoveAll(work)
		}
	}()

	fmt.Printf("load average before: %s (1, 5, 15 min); %s\n", loadAvg(), machine())

	// Build.
	bin := filepath.Join(work, "bin")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin+string(filepath.Separator),
		"./cmd/boxoffice", "./bench/peers/fibersession", "./bench/peers/statelessjwt", "./bench/peers/hello")
	build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("go build: %w", err)
	}

	// Redis.
	rport, err := freePort()
	if err != nil {
		return err
	}
	raddr := fmt.Sprintf("127.0.0.1:%d", rport)
	redis, err := ps.start("redis-server", filepath.Join(work, "redis.out"), nil, "redis-server",
		"--port", strconv.Itoa(rport), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", work, "--logfile", filepath.Join(work, "redis.log"))
	if err != nil {
		return err
	}
	if err := waitRedis(ctx, raddr, redis); err != nil {
		return err
	}
	redisURL := "redis://" + raddr + "/0"

	// boxoffice. One access token must last the whole run: its lifetime changes nothing on the
	// read path (the token is verified once, then found in the cache of verified tokens until
	// it expires, as in production within its 5 minutes).
	n := 9
	planned := time.Duration(*rounds*n)*(*dur+2*time.Second) + time.Duration(n)*(*warmup+2*time.Second)
	startBox := func(name string, extra ...string) (*proc, string, error) {
		port, err := freePort()
		if err != nil {
			return nil, "", err
		}
		p, err := ps.start(name, filepath.Join(work, name+".log"), append([]string{
			"REDIS_URL=" + redisURL,
			"BOXOFFICE_ADDR=" + fmt.Sprintf("127.0.0.1:%d", port),
			"BOXOFFICE_JWT_SECRET=peer-bench-boxoffice-secret-0123456789abcdef",
			"BOXOFFICE_LOG_LEVEL=warn",
			"BOXOFFICE_AUDIT_LOG=off",
			"BOXOFFICE_ARGON2_MEMORY_KIB=1024",
			"BOXOFFICE_ARGON2_ITERATIONS=1",
			fmt.Sprintf("BOXOFFICE_ACCESS_TTL=%ds", int((planned + 10*time.Minute).Seconds())),
		}, extra...), filepath.Join(bin, "boxoffice"))
		if err != nil {
			return nil, "", err
		}
		base := fmt.Sprintf("http://127.0.0.1:%d", port)
		return p, base, waitReady(ctx, base+"/readyz", p)
	}
	// Two instances on the same Redis: the default (session cache on) and one with the cache
	// off, which reads Redis on every request as before issue 13.
	box, B, err := startBox("boxoffice")
	if err != nil {
		return err
	}
	boxOff, BOff, err := startBox("boxoffice-nocache", "BOXOFFICE_SESSION_CACHE=off")
	if err != nil {
		return err
	}

	// Peers.
	const jwtSecret = "peer-bench-stateless-secret-0123456789abcdef"
	fs, fsAddr, err := ps.startPeer(ctx, "fibersession", filepath.Join(work, "fibersession.log"),
		[]string{"REDIS_URL=" + redisURL}, filepath.Join(bin, "fibersession"))
	if err != nil {
		return err
	}
	sj, sjAddr, err := ps.startPeer(ctx, "statelessjwt", filepath.Join(work, "statelessjwt.log"),
		[]string{"BENCH_JWT_SECRET=" + jwtSecret}, filepath.Join(bin, "statelessjwt"))
	if err != nil {
		return err
	}
	hello, helloAddr, err := ps.startPeer(ctx, "hello", filepath.Join(work, "hello.log"), nil, filepath.Join(bin, "hello"))
	if err != nil {
		return err
	}

	// Credentials.
	access, err := boxofficeLogin(ctx, B)
	if err != nil {
		return err
	}
	cookie, err := fiberLogin(ctx, "http://"+fsAddr+"/login")
	if err != nil {
		return err
	}
	jwtToken, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Issuer: "peer-bench", Audience: jwt.ClaimStrings{"peer-bench"}, Subject: "peerbench",
		ID: "s-peer-bench", IssuedAt: jwt.NewNumericDate(time.Now()),
		ExpiresAt: jwt.NewNumericDate(time.Now().Add(planned + 10*time.Minute)),
	}).SignedString([]byte(jwtSecret))
	if err != nil {
		return err
	}

	bearer := "Authorization: Bearer " + access
	cs := []*contender{
		{key: "hello", label: "Fiber hello (HTTP ceiling)", url: "http://" + helloAddr + "/", server: hello},
		{key: "bx-healthz", label: "boxoffice `GET /healthz` (no auth, no Redis)", url: B + "/healthz", server: box},
		{key: "jwt", label: "stateless HS256 JWT, cannot revoke", url: "http://" + sjAddr + "/me", header: "Authorization: Bearer " + jwtToken, server: sj},
		{key: "fiber-getsave", label: "Fiber session middleware + storage/redis, Get+Save", url: "http://" + fsAddr + "/session", header: "Cookie: " + cookie, server: fs},
		{key: "fiber-read", label: "same, read only", url: "http://" + fsAddr + "/read", header: "Cookie: " + cookie, server: fs},
		{key: "bx-session", label: "boxoffice `GET /v1/session`", url: B + "/v1/session", header: bearer, server: box},
		{key: "bx-me", label: "boxoffice `GET /v1/me`", url: B + "/v1/me", header: bearer, server: box},
		{key: "bx-session-off", label: "boxoffice `GET /v1/session`, cache off", url: BOff + "/v1/session", header: bearer, server: boxOff},
		{key: "bx-me-off", label: "boxoffice `GET /v1/me`, cache off", url: BOff + "/v1/me", header: bearer, server: boxOff},
	}
	if len(cs) != n {
		panic("planned duration counts the wrong number of contenders")
	}
	for _, c := range cs {
		if err := probe(ctx, c); err != nil {
			return err
		}
	}

	tick := clockTick()
	w := wrkRunner{threads: *threads, conns: *conns, redis: redis, tick: tick}
	if *warmup > 0 {
		fmt.Printf("warm-up: %s per contender, not recorded\n", *warmup)
		for _, c := range cs {
			if _, err := w.run(ctx, c, *warmup); err != nil {
				return err
			}
		}
	}
	fmt.Printf("wrk -t%d -c%d -d%s --latency, %d rounds, alternating order\n\n", *threads, *conns, *dur, *rounds)
	fmt.Printf("%-5s %-14s %10s %9s %9s %8s %8s %8s %8s %6s\n", "round", "contender", "req/s", "p50", "p99", "cpu/req", "server", "redis", "wrk", "busy")
	for r := 0; r < *rounds; r++ {
		order := slices.Clone(cs)
		if r%2 == 1 {
			slices.Reverse(order)
		}
		for _, c := range order {
			s, err := w.run(ctx, c, *dur)
			if err != nil {
				return err
			}
			c.results = append(c.results, s)
			fmt.Printf("%-5d %-14s %10.0f %9s %9s %8.1f %8.1f %8.1f %8.1f %5.0f%%\n", r+1, c.key, s.wrk.ReqPerSec,
				ms(s.wrk.P50), ms(s.wrk.P99), s.machineUS, s.serverUS, s.redisUS, s.wrkUS, s.busyPct)
		}
	}
	fmt.Printf("\nload average after: %s\n\n", loadAvg())
	report(cs, *rounds)
	failed = false
	return nil
}
