package tests

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"boxoffice/session/sessiontest"
	"boxoffice/tickets"
	"boxoffice/tickets/postgres"
	"boxoffice/tickets/ticketstest"
)

// BenchmarkTicketsHotScreening measures seat holds on one hot 200-seat screening, three
// contenders (and a diagnostic) side by side in one run (docs/benchmarks.md, "Holds on a hot screening"):
//
//   - http: boxoffice itself, 3 instances (built without -race) sharing one throwaway
//     PostgreSQL database and one redis-server; the clients are distinct signed-in users spread
//     round-robin over the instances (directly, no nginx), each looping POST
//     /v1/screenings/{id}/holds then, on a 201, DELETE /v1/holds/{id};
//   - service (a diagnostic): tickets.Service.Hold and ReleaseHold in-process over a
//     postgres.Store, i.e. the http path's database work (the Screening and Hall reads before
//     the hold transaction) and layout rules, without HTTP, Redis or sessions;
//   - ceiling: the same hold and release transactions driven in-process against the same
//     database through postgres.Store (no HTTP, no sessions, no layout rules: the Plan returns
//     the chosen seats);
//   - lock: the ceiling with postgres.Options.LockPerScreening, every hold of the screening
//     serialised by an exclusive advisory lock (the pattern the claim rows improve on).
//
// Every client asks for 2 or 4 adjacent seats (one or two pairs at an even offset, so that no
// choice can strand a single seat: the orphan-seat rule never answers 422 and every contender
// sees the same kind of requests). Each contender gets a fresh screening and runs for a
// fixed time after a short warm-up; the numbers are printed as markdown tables and reported,
// never asserted. The benchmark fails only when something broke: an error (a 5xx, any answer
// other than 201 or 409 seats_unavailable, a failed release) or no hold at all.
//
//	go test ./tests -run '^$' -bench TicketsHotScreening -benchtime 1x
//
// Settings (environment): BOXOFFICE_BENCH_DURATION, per contender and round (default 10s);
// BOXOFFICE_BENCH_ROUNDS (default 1; the contenders' order rotates between rounds);
// BOXOFFICE_BENCH_CLIENTS (default 32); BOXOFFICE_BENCH_STORE_CONNS, the pool size of the
// in-process stores (default 10: postgres.Options' default, one instance's pool; on a small
// machine more connections lower both the ceiling and the lock baseline); BOXOFFICE_BENCH_PROFILE,
// a file to write the CPU profile of one instance to during the first round's http run. The
// instances inherit the environment (e.g. BOXOFFICE_DB_MAX_CONNS). PostgreSQL as for the other
// ticketing tests (ticketstest.PostgresURL).
func BenchmarkTicketsHotScreening(b *testing.B) {
	ctx := context.Background()
	rig := hotStart(b)
	set := rig.set
	contenders := []hotContender{
		{name: "http", label: fmt.Sprintf("boxoffice over HTTP (%d instances)", hotInstances),
			open: func() (hotHolder, func(), error) { return rig.web, func() {}, nil }},
		{name: "service", label: "tickets.Service in-process",
			open: hotServiceOpener(rig.dbURL, set.storeConns, rig.owners)},
		{name: "ceiling", label: "ceiling: postgres.Store in-process",
			open: hotStoreOpener(rig.dbURL, set.storeConns, false, rig.owners)},
		{name: "lock", label: "lock per screening: postgres.Store in-process",
			open: hotStoreOpener(rig.dbURL, set.storeConns, true, rig.owners)},
	}
	var results []hotResult
	for round := range set.rounds {
		for k := range contenders {
			c := contenders[(k+round)%len(contenders)]
			h, closeHolder, err := c.open()
			if err != nil {
				b.Fatalf("%s: %v", c.name, err)
			}
			var profile func() error
			if c.name == "http" && round == 0 && set.profile != "" {
				profile = hotProfile(rig.d.procs[0], set)
			}
			scr := hotScreening(b, rig.admin)
			r := hotDrive(ctx, h, scr, set, rig.cpu, rig.walSyncs, profile)
			closeHolder()
			r.name, r.label, r.round = c.name, c.label, round+1
			results = append(results, r)
			if r.err != nil {
				b.Errorf("%s, round %d: %d errors, the first: %v", c.name, round+1, r.errors, r.err)
			}
			if r.holds == 0 {
				b.Errorf("%s, round %d: no hold succeeded", c.name, round+1)
			}
		}
	}
	hotReport(b, set, results)
	rig.finish(b)
}

// hotRig is what the hot-screening benchmarks run against: a throwaway PostgreSQL database with
// the hall (admin stores screenings into it, statsDB reads statistics), hotInstances instances
// built without the race detector sharing it and one redis-server, and set.clients signed-in
// users spread round-robin over the instances (web). The in-process contenders act as the same
// users and sessions (owners), so that the instances' janitors, which end the holds of sessions
// that are not signed in, leave their holds alone.
type hotRig struct {
	set        hotSettings
	dbURL      string
	admin      *postgres.Store
	statsDB    *pgxpool.Pool
	d          *deployment
	redisPID   int
	serverPIDs []int
	web        *hotHTTP
	owners     []tickets.Owner // client i's user and session
}

// hotStart reads the settings and starts the rig; everything stops when b ends.
func hotStart(b *testing.B) *hotRig {
	rig := &hotRig{set: hotSettingsFromEnv(b)}
	set := rig.set
	ctx := context.Background()
	dir := b.TempDir()

	rig.dbURL = ticketstest.PostgresURL(b) // first: its cleanup (the drop) runs last
	admin, err := postgres.Open(ctx, rig.dbURL, postgres.Options{MaxConns: 2})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(admin.Close)
	rig.admin = admin
	statsDB, err := pgxpool.New(ctx, rig.dbURL) // statistics, at both ends of a run
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(statsDB.Close)
	rig.statsDB = statsDB
	hotCatalogue(b, admin)

	// The instances run without the race detector (TestMain's binary has it when it can).
	bin := filepath.Join(dir, "boxoffice")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/boxoffice").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	redisSrv := sessiontest.StartServer(b)
	rig.redisPID = redisSrv.PID()
	env := map[string]string{
		"DATABASE_URL":                  rig.dbURL,
		"BOXOFFICE_DEMO_DATA":           "false",
		"BOXOFFICE_REGISTER_MAX_PER_IP": "0",
		"BOXOFFICE_LOGIN_MAX_PER_IP":    "100000",
		"BOXOFFICE_ACCESS_TTL":          "1h", // no refresh during a long run
		// An idempotency key's lease must outlast a request (the instances refuse to start
		// otherwise): the default lease, and a request timeout below it.
		"BOXOFFICE_REQUEST_TIMEOUT":   "10s",
		"BOXOFFICE_IDEMPOTENCY_LEASE": "15s",
	}
	if set.profile != "" {
		env["BOXOFFICE_DEBUG_ADDR"] = "127.0.0.1:0"
	}
	// launch starts the global binary: point it at this build while the instances start.
	raceBuilt := binary
	binary = bin
	d, err := startDeployment(dir, hotInstances, redisSrv.URL(), env)
	binary = raceBuilt
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(d.stop)
	rig.d = d

	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = set.clients, set.clients
	hc := &http.Client{Timeout: 2 * guard, Transport: tr}
	b.Cleanup(hc.CloseIdleConnections)
	rig.web = &hotHTTP{hc: hc}
	for i := range set.clients {
		base := d.procs[i%len(d.procs)].base
		rig.web.bases = append(rig.web.bases, base)
		token, o := hotSignIn(b, hc, base)
		rig.web.tokens = append(rig.web.tokens, token)
		rig.owners = append(rig.owners, o)
	}
	for _, p := range d.procs {
		rig.serverPIDs = append(rig.serverPIDs, p.cmd.Process.Pid)
	}
	return rig
}

// cpu samples the CPU time used so far (hotCPU).
func (rig *hotRig) cpu() hotCPU {
	return hotCPUNow(context.Background(), rig.statsDB, rig.serverPIDs, rig.redisPID)
}

// analyze refreshes the planner's statistics of the database (ANALYZE), which also makes every
// connection plan its cached statements again.
func (rig *hotRig) analyze() error {
	_, err := rig.statsDB.Exec(context.Background(), "ANALYZE")
	return err
}

// walSyncs samples the server's WAL flushes so far (hotWALSyncs).
func (rig *hotRig) walSyncs() int64 { return hotWALSyncs(context.Background(), rig.statsDB) }

// finish fails the benchmark if an instance raced, panicked or died, and prints the instances'
// logs when it failed.
func (rig *hotRig) finish(b *testing.B) {
	hotCheckLogs(b, rig.d)
	if b.Failed() {
		rig.d.dumpLogs(os.Stderr)
	}
}

const (
	hotRows, hotCols = 10, 20 // 200 seats in one category: no aisle, love seat or wheelchair space
	hotInstances     = 3
	hotPrice         = 1200
	hotHoldTTL       = 10 * time.Minute // the instances' default
)

type hotSettings struct {
	duration, warmup time.Duration
	rounds, clients  int
	storeConns       int // the in-process stores' pool size
	profile          string
}

func hotSettingsFromEnv(b *testing.B) hotSettings {
	s := hotSettings{duration: 10 * time.Second, rounds: 1, clients: 32, storeConns: 10,
		profile: os.Getenv("BOXOFFICE_BENCH_PROFILE")}
	if v := os.Getenv("BOXOFFICE_BENCH_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			b.Fatalf("BOXOFFICE_BENCH_DURATION=%q: want a positive duration such as 10s", v)
		}
		s.duration = d
	}
	for _, e := range []struct {
		name string
		v    *int
	}{{"BOXOFFICE_BENCH_ROUNDS", &s.rounds}, {"BOXOFFICE_BENCH_CLIENTS", &s.clients},
		{"BOXOFFICE_BENCH_STORE_CONNS", &s.storeConns}} {
		if v := os.Getenv(e.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				b.Fatalf("%s=%q: want a positive integer", e.name, v)
			}
			*e.v = n
		}
	}
	// Connections open and caches fill during the warm-up, which is not measured.
	s.warmup = min(s.duration/5, 2*time.Second)
	return s
}

// hotCatalogue stores the movie, the cinema and the hotRows×hotCols hall.
func hotCatalogue(b *testing.B, s *postgres.Store) {
	ctx := context.Background()
	if _, err := s.PutMovie(ctx, tickets.Movie{ID: "hot-movie", Title: "Hot", DurationMinutes: 100}); err != nil {
		b.Fatal(err)
	}
	if _, err := s.PutCinema(ctx, tickets.Cinema{ID: "hot-cinema", Name: "Hot", City: "Berlin", TimeZone: "Europe/Berlin"}); err != nil {
		b.Fatal(err)
	}
	h := tickets.Hall{ID: "hot-hall", CinemaID: "hot-cinema", Name: "Hot", CleaningMinutes: 15}
	for y := range hotRows {
		for x := range hotCols {
			id := fmt.Sprintf("%c%d", 'A'+y, x+1)
			h.Seats = append(h.Seats, tickets.Seat{ID: id, Label: id, Row: id[:1], Number: x + 1, X: x, Y: y,
				Category: "standard"})
		}
	}
	if _, err := s.PutHall(ctx, h); err != nil {
		b.Fatal(err)
	}
}

var hotSlots struct {
	sync.Mutex
	n    int
	base time.Time
}

// hotScreening schedules a fresh screening of the hall, a day from now or later, in a slot of
// its own.
func hotScreening(b *testing.B, s *postgres.Store) string {
	hotSlots.Lock()
	if hotSlots.base.IsZero() {
		hotSlots.base = time.Now().Add(24 * time.Hour).Truncate(time.Minute)
	}
	start := hotSlots.base.Add(time.Duration(hotSlots.n) * 4 * time.Hour)
	hotSlots.n++
	hotSlots.Unlock()
	id := hotID("scr_")
	if err := s.CreateScreening(context.Background(), tickets.Screening{ID: id, MovieID: "hot-movie", HallID: "hot-hall",
		StartsAt: start, EndsAt: start.Add(2 * time.Hour),
		Prices: []tickets.Price{{Category: "standard", Amount: hotPrice, Currency: "EUR"}}}); err != nil {
		b.Fatal(err)
	}
	return id
}

// hotID returns prefix and 26 base32 digits, as the API's IDs.
func hotID(prefix string) string {
	var r [16]byte
	_, _ = rand.Read(r[:])
	return prefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(r[:]))
}

// hotSeats picks one or two adjacent pairs of seats at an even offset in a random row.
func hotSeats(rng *mrand.Rand) []string {
	row, pairs := rng.IntN(hotRows), 1+rng.IntN(2)
	first := 2 * rng.IntN(hotCols/2-pairs+1)
	seats := make([]string, 0, 2*pairs)
	for x := first; x < first+2*pairs; x++ {
		seats = append(seats, fmt.Sprintf("%c%d", 'A'+row, x+1))
	}
	return seats
}

// hotSignIn registers a fresh user through the instance at base, signs in, and returns the
// access token and the user and session it is for.
func hotSignIn(b *testing.B, hc *http.Client, base string) (string, tickets.Owner) {
	name, pw := uniqueName()
	st, body, err := hotCall(context.Background(), hc, "POST", base+"/v1/users", "",
		fmt.Appendf(nil, `{"username":%q,"password":%q}`, name, pw))
	if err != nil || st != 201 {
		b.Fatalf("register: %d %s %v", st, body, err)
	}
	st, body, err = hotCall(context.Background(), hc, "POST", base+"/v1/auth/login", "",
		fmt.Appendf(nil, `{"username":%q,"password":%q,"device_name":"bench"}`, name, pw))
	var tk tokens
	if err != nil || st != 200 || json.Unmarshal(body, &tk) != nil || tk.AccessToken == "" ||
		tk.Session.UserID == "" || tk.Session.ID == "" {
		b.Fatalf("login: %d %s %v", st, body, err)
	}
	return tk.AccessToken, tickets.Owner{UserID: tk.Session.UserID, SessionID: tk.Session.ID}
}

// hotCall sends one request, with header's name-value pairs, and returns the status and body.
func hotCall(ctx context.Context, hc *http.Client, method, url, token string, body []byte, header ...string) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// hotHolder takes and releases holds for client i. A hold refused because a seat is taken
// returns refused; anything else that is not a hold is an error.
type hotHolder interface {
	hold(ctx context.Context, client int, screening string, seats []string) (holdID string, refused bool, err error)
	release(ctx context.Context, client int, holdID string) error
}

type hotContender struct {
	name, label string
	open        func() (hotHolder, func(), error) // the holder and what closes it
}

// hotHTTP holds through the API: client i is a user of its own, signed in at bases[i].
type hotHTTP struct {
	hc     *http.Client
	bases  []string
	tokens []string
}

func (h *hotHTTP) hold(ctx context.Context, client int, screening string, seats []string) (string, bool, error) {
	body, _ := json.Marshal(map[string][]string{"seat_ids": seats})
	st, resp, err := hotCall(ctx, h.hc, "POST", h.bases[client]+"/v1/screenings/"+screening+"/holds", h.tokens[client], body)
	switch {
	case err != nil:
		return "", false, err
	case st == 201:
		var v struct{ ID string }
		if err := json.Unmarshal(resp, &v); err != nil || v.ID == "" {
			return "", false, fmt.Errorf("201 without a hold ID: %s", resp)
		}
		return v.ID, false, nil
	case st == 409 && bytes.Contains(resp, []byte(`"seats_unavailable"`)):
		return "", true, nil
	}
	return "", false, fmt.Errorf("POST /v1/screenings/%s/holds: %d %s", screening, st, resp)
}

func (h *hotHTTP) release(ctx context.Context, client int, id string) error {
	st, resp, err := hotCall(ctx, h.hc, "DELETE", h.bases[client]+"/v1/holds/"+id, h.tokens[client], nil)
	if err == nil && st != 204 {
		err = fmt.Errorf("DELETE /v1/holds/%s: %d %s", id, st, resp)
	}
	return err
}

// hotStore holds through postgres.Store.Hold with a Plan that returns the chosen seats.
// Client i is owners[i].
type hotStore struct {
	s      *postgres.Store
	owners []tickets.Owner
}

// hotStoreOpener opens a Store of conns connections (one per client: no client waits for the
// pool) over the database, serialising the holds of a screening when lockPerScreening; client
// i acts as owners[i].
func hotStoreOpener(url string, conns int, lockPerScreening bool, owners []tickets.Owner) func() (hotHolder, func(), error) {
	return func() (hotHolder, func(), error) {
		s, err := postgres.Open(context.Background(), url, postgres.Options{MaxConns: int32(conns), LockPerScreening: lockPerScreening})
		if err != nil {
			return nil, nil, err
		}
		return &hotStore{s, owners}, s.Close, nil
	}
}

func (h *hotStore) hold(ctx context.Context, client int, screening string, seats []string) (string, bool, error) {
	total := tickets.Money{Amount: hotPrice * int64(len(seats)), Currency: "EUR"}
	o := h.owners[client]
	hd, err := h.s.Hold(ctx, tickets.HoldTx{ID: hotID("hold_"), ScreeningID: screening, UserID: o.UserID,
		SessionID: o.SessionID, TTL: hotHoldTTL,
		Plan: func(tickets.Availability) ([]string, tickets.Money, error) { return slices.Clone(seats), total, nil }})
	switch {
	case err == nil:
		return hd.ID, false, nil
	case errors.Is(err, tickets.ErrSeatsUnavailable):
		return "", true, nil
	}
	return "", false, err
}

func (h *hotStore) release(ctx context.Context, client int, id string) error {
	_, err := h.s.ReleaseHold(ctx, id, h.owners[client].UserID)
	return err
}

// hotService holds through tickets.Service, as the API does; client i is owners[i].
type hotService struct {
	svc    *tickets.Service
	owners []tickets.Owner
}

func hotServiceOpener(url string, conns int, owners []tickets.Owner) func() (hotHolder, func(), error) {
	return func() (hotHolder, func(), error) {
		s, err := postgres.Open(context.Background(), url, postgres.Options{MaxConns: int32(conns)})
		if err != nil {
			return nil, nil, err
		}
		return &hotService{tickets.NewService(s, tickets.Config{HoldTTL: hotHoldTTL}), owners}, s.Close, nil
	}
}

func (h *hotService) hold(ctx context.Context, client int, screening string, seats []string) (string, bool, error) {
	hd, err := h.svc.Hold(ctx, h.owners[client], screening, tickets.Selection{SeatIDs: seats})
	switch {
	case err == nil:
		return hd.ID, false, nil
	case errors.Is(err, tickets.ErrSeatsUnavailable):
		return "", true, nil
	}
	return "", false, err
}

func (h *hotService) release(ctx context.Context, client int, id string) error {
	return h.svc.ReleaseHold(ctx, h.owners[client], id)
}

// hotResult is one contender's run.
type hotResult struct {
	name, label string
	round       int
	elapsed     time.Duration   // the measured window
	attempts    int64           // hold requests started in the window
	holds       int64           // of which succeeded (201)
	refused     int64           // of which were refused: a seat was taken (409)
	errors      int64           // failed hold or release requests
	err         error           // the first of them
	latency     []time.Duration // of every hold request answered 201 or 409, sorted
	cpu         hotCPU          // used in the window
	walSyncs    int64           // WAL flushes of the PostgreSQL server in the window (pg_stat_wal)
}

func (r hotResult) rate(n int64) float64 { return float64(n) / r.elapsed.Seconds() }

func (r hotResult) quantile(q float64) time.Duration {
	if len(r.latency) == 0 {
		return 0
	}
	return r.latency[min(len(r.latency)-1, int(q*float64(len(r.latency))))]
}

// hotDrive runs the clients against h on the screening for the warm-up and the measured
// window; cpu and wal are sampled at both ends of the window, and profile (when not nil) runs
// during it.
func hotDrive(ctx context.Context, h hotHolder, screening string, set hotSettings, cpu func() hotCPU, wal func() int64, profile func() error) hotResult {
	start := time.Now()
	from, end := start.Add(set.warmup), start.Add(set.warmup+set.duration)
	per := make([]hotResult, set.clients)
	var wg sync.WaitGroup
	for c := range set.clients {
		wg.Go(func() {
			r := &per[c]
			rng := mrand.New(mrand.NewPCG(uint64(c), uint64(start.UnixNano())))
			for {
				t0 := time.Now()
				if !t0.Before(end) {
					return
				}
				measured := !t0.Before(from)
				id, refused, err := h.hold(ctx, c, screening, hotSeats(rng))
				lat := time.Since(t0)
				if err == nil && id != "" {
					err = h.release(ctx, c, id)
				}
				if !measured {
					continue
				}
				r.attempts++
				switch {
				case id != "":
					r.holds++
				case refused:
					r.refused++
				}
				if id != "" || refused {
					r.latency = append(r.latency, lat)
				}
				if err != nil {
					if r.errors++; r.err == nil {
						r.err = err
					}
					time.Sleep(10 * time.Millisecond) // a broken server must not make this a busy loop
				}
			}
		})
	}
	time.Sleep(time.Until(from))
	cpu0, wal0 := cpu(), wal()
	var profileErr error
	var profiling sync.WaitGroup
	if profile != nil {
		profiling.Go(func() { profileErr = profile() })
	}
	wg.Wait()
	elapsed := time.Since(from)
	cpu1, wal1 := cpu(), wal()
	profiling.Wait()

	out := hotResult{elapsed: elapsed, cpu: cpu1.minus(cpu0), walSyncs: wal1 - wal0, err: profileErr}
	for _, r := range per {
		out.attempts += r.attempts
		out.holds += r.holds
		out.refused += r.refused
		out.errors += r.errors
		out.latency = append(out.latency, r.latency...)
		if out.err == nil {
			out.err = r.err
		}
	}
	if profileErr != nil {
		out.errors++
	}
	slices.Sort(out.latency)
	return out
}

// hotProfile returns a function that writes a CPU profile of instance p over the measured
// window to set.profile.
func hotProfile(p *process, set hotSettings) func() error {
	return func() error {
		secs := max(1, int(set.duration.Seconds()))
		st, body, err := hotCall(context.Background(), &http.Client{Timeout: set.duration + guard}, "GET",
			fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", p.debug, secs), "", nil)
		if err == nil && st != 200 {
			err = fmt.Errorf("%d %s", st, body)
		}
		if err != nil {
			return fmt.Errorf("CPU profile: %w", err)
		}
		return os.WriteFile(set.profile, body, 0o644)
	}
}

// hotCPU is CPU time (user and system, seconds) used so far by this process (the clients, and
// the in-process stores), the boxoffice instances, the redis-server, the PostgreSQL backends
// serving the benchmark's database (by PID: pg), and the machine as a whole (busy and total,
// over all cores). Read from /proc (Linux); zero elsewhere. minus leaves the backends' total in
// postgres.
type hotCPU struct {
	bench, server, redis, postgres, busy, total float64
	pg                                          map[int]float64
}

func (c hotCPU) minus(o hotCPU) hotCPU {
	d := hotCPU{bench: c.bench - o.bench, server: c.server - o.server, redis: c.redis - o.redis,
		busy: c.busy - o.busy, total: c.total - o.total}
	for pid, t := range c.pg { // a backend that started in between counts from zero
		d.postgres += t - o.pg[pid]
	}
	return d
}

const hotTick = 100.0 // USER_HZ: /proc/stat counts CPU time in ticks of 1/100 s

func hotCPUNow(ctx context.Context, db *pgxpool.Pool, serverPIDs []int, redisPID int) hotCPU {
	c := hotCPU{pg: map[int]float64{}}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		c.bench = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	for _, pid := range serverPIDs {
		_, t := hotProcCPU(pid)
		c.server += t
	}
	if redisPID > 0 {
		_, c.redis = hotProcCPU(redisPID)
	}
	rows, err := db.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err == nil {
		pids, _ := pgx.CollectRows(rows, pgx.RowTo[int32])
		for _, pid := range pids {
			if comm, t := hotProcCPU(int(pid)); comm == "postgres" { // the server is on this machine
				c.pg[int(pid)] = t
			}
		}
	}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		for i, f := range strings.Fields(line)[1:] {
			n, _ := strconv.ParseFloat(f, 64)
			if i >= 8 { // guest time is already counted in user time
				break
			}
			c.total += n / hotTick
			if i != 3 && i != 4 { // idle, iowait
				c.busy += n / hotTick
			}
		}
	}
	return c
}

// hotProcCPU returns a process's command name and the CPU time its threads have used, in
// seconds (from /proc/pid/comm and the nanoseconds of /proc/pid/task/*/schedstat: /proc/pid/stat
// counts in ticks of 10 ms, too coarse for dozens of short-lived backends).
func hotProcCPU(pid int) (string, float64) {
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return "", 0
	}
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var ns float64
	for _, t := range tasks {
		if b, err := os.ReadFile(t); err == nil {
			f := strings.Fields(string(b))
			if len(f) > 0 {
				n, _ := strconv.ParseFloat(f[0], 64)
				ns += n
			}
		}
	}
	return strings.TrimSpace(string(comm)), ns / 1e9
}

// hotWALSyncs returns how often the server has flushed WAL to disk (pg_stat_wal.wal_sync, for
// the whole server and with up to a second's lag), or 0 when it cannot say.
func hotWALSyncs(ctx context.Context, db *pgxpool.Pool) int64 {
	var n int64
	_ = db.QueryRow(ctx, `SELECT wal_sync FROM pg_stat_wal`).Scan(&n)
	return n
}

// hotReport prints the results as markdown tables and reports the totals as metrics.
func hotReport(b *testing.B, set hotSettings, results []hotResult) {
	var w strings.Builder
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
	fmt.Fprintf(&w, "\nHolds on one hot %d-seat screening: %d clients, %s per contender and round (after a %s warm-up), %d round(s); in-process stores with %d connections\n\n",
		hotRows*hotCols, set.clients, set.duration, set.warmup, set.rounds, set.storeConns)
	fmt.Fprintln(&w, "| Round | Contender | holds/s | attempts/s | p50 | p99 | 409 share | errors |")
	fmt.Fprintln(&w, "|---|---|---|---|---|---|---|---|")
	for _, r := range results {
		share := 0.0
		if r.attempts > 0 {
			share = float64(r.refused) / float64(r.attempts)
		}
		fmt.Fprintf(&w, "| %d | %s | %.0f | %.0f | %s | %s | %.0f%% | %d |\n", r.round, r.label, r.rate(r.holds),
			r.rate(r.attempts), ms(r.quantile(0.50)), ms(r.quantile(0.99)), 100*share, r.errors)
	}
	total := map[string]*hotResult{}
	for _, r := range results {
		t := total[r.name]
		if t == nil {
			t = &hotResult{name: r.name}
			total[r.name] = t
		}
		t.elapsed += r.elapsed
		t.holds += r.holds
	}
	ratio := func(a, b string) float64 {
		if total[a] == nil || total[b] == nil || total[b].holds == 0 {
			return 0
		}
		return total[a].rate(total[a].holds) / total[b].rate(total[b].holds)
	}
	fmt.Fprintln(&w)
	for round := 1; round <= set.rounds; round++ {
		holds := map[string]float64{}
		for _, r := range results {
			if r.round == round {
				holds[r.name] = r.rate(r.holds)
			}
		}
		fmt.Fprintf(&w, "Round %d: http / ceiling = %.2f (goal ≥ 0.6); http / lock = %.1f (goal ≥ 10); service / ceiling = %.2f; ceiling / lock = %.1f\n",
			round, holds["http"]/holds["ceiling"], holds["http"]/holds["lock"], holds["service"]/holds["ceiling"], holds["ceiling"]/holds["lock"])
	}
	fmt.Fprintf(&w, "All rounds: http / ceiling = %.2f; http / lock = %.1f; service / ceiling = %.2f; ceiling / lock = %.1f\n",
		ratio("http", "ceiling"), ratio("http", "lock"), ratio("service", "ceiling"), ratio("ceiling", "lock"))

	fmt.Fprintln(&w, "\nCPU per successful hold (and its release), in ms, and WAL flushes per write transaction (≈: server-wide pg_stat_wal):")
	fmt.Fprintln(&w)
	fmt.Fprintln(&w, "| Round | Contender | clients (this process) | boxoffice ×3 | redis | postgres backends | machine busy | WAL flushes per commit |")
	fmt.Fprintln(&w, "|---|---|---|---|---|---|---|---|")
	for _, r := range results {
		per := func(s float64) string {
			if r.holds == 0 {
				return "—"
			}
			return fmt.Sprintf("%.2f", 1000*s/float64(r.holds))
		}
		busy := "—"
		if r.cpu.total > 0 {
			busy = fmt.Sprintf("%.0f%%", 100*r.cpu.busy/r.cpu.total)
		}
		flushes := "—"
		if commits := 2*r.holds + r.refused; commits > 0 && r.walSyncs > 0 {
			flushes = fmt.Sprintf("%.2f", float64(r.walSyncs)/float64(commits))
		}
		fmt.Fprintf(&w, "| %d | %s | %s | %s | %s | %s | %s | %s |\n", r.round, r.name, per(r.cpu.bench),
			per(r.cpu.server), per(r.cpu.redis), per(r.cpu.postgres), busy, flushes)
	}
	fmt.Print(w.String())

	for _, name := range []string{"http", "service", "ceiling", "lock"} {
		if t := total[name]; t != nil {
			b.ReportMetric(t.rate(t.holds), name+"-holds/s")
		}
	}
	b.ReportMetric(ratio("http", "ceiling"), "http/ceiling")
	b.ReportMetric(ratio("http", "lock"), "http/lock")
}

// hotCheckLogs fails the benchmark if an instance raced, panicked or died.
func hotCheckLogs(b *testing.B, d *deployment) {
	for _, p := range d.procs {
		log, _ := os.ReadFile(p.log)
		for _, w := range []string{"DATA RACE", "panic:", "fatal error"} {
			if bytes.Contains(log, []byte(w)) {
				b.Errorf("instance %s logged %q", p.base, w)
			}
		}
	}
}
