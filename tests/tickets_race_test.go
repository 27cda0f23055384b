package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"boxoffice/session/sessiontest"
)

// The race: in every round, clients (distinct users, each signed in) ask at once for random,
// overlapping sets of 1–4 of the ten adjacent seats of raceRow at one screening; then every
// hold is released and the next round starts. The invariants, checked on the answers, by SQL
// on PostgreSQL (after every round, and sampled during the race by a goroutine) and on the API's
// seat map:
//
//   - no seat is in two live holds, and no hold is partial: every 201 hold is exactly the seats
//     asked for, and owns every one of them in seat_claims;
//   - a refusal is 409 seats_unavailable naming only seats that were asked for and that a
//     winner of the round really holds, or 422 orphan_seat (the request's seats would strand
//     one); nothing else, and a refusal stores nothing;
//   - the live holds in the database are exactly the round's winners.
//
// The checker is shown to work by pointing the same race at a deliberately naive
// check-then-insert implementation (TestTicketsRaceControlCatchesNaive), which it must catch.

// raceSize is how big a race is: rounds × clients hold requests, at most conc in flight.
type raceSize struct{ rounds, clients, conc int }

// raceAttempt is one client's request in a round and its answer.
type raceAttempt struct {
	user   int
	seats  []string // asked for, sorted
	status int
	code   string
	hold   tkHold   // 201
	taken  []string // 409: seat_ids
	body   []byte
}

// raceHolder is what the race drives: the API, or the naive control.
type raceHolder interface {
	hold(round, user int, seats []string) (raceAttempt, error)
	release(round, user int, holdID string) error
	seatStatus(round int) (map[string]string, error) // the seat map, by seat ID
}

// violation is a broken invariant: kind names the invariant.
type violation struct{ kind, detail string }

// Kinds of violation.
const (
	vDoubleAnswer = "two 201 holds share a seat"
	vPartial      = "a 201 hold is not exactly the seats asked for"
	vFalseRefusal = "a 409 names a seat that was not asked for or that no winner holds"
	vUnexpected   = "an answer other than 201, 409 seats_unavailable or 422 orphan_seat"
	vSQLDouble    = "sql: a seat is in two live holds"
	vSQLNotOwned  = "sql: a live hold does not own one of its seats in seat_claims"
	vSQLStray     = "sql: a seat is held for a hold that is not live or does not list it"
	vSQLWinners   = "sql: the live holds are not exactly the round's winners"
	vSeatMap      = "seat map: a seat's status disagrees with the round's winners"
)

// raceRun is one race: what it drove, what it saw, what it found.
type raceRun struct {
	screening  string
	db         *pgxpool.Pool
	holder     raceHolder
	size       raceSize
	seed       uint64
	mu         sync.Mutex
	violations []violation
	seen       map[violation]bool
	perRound   []map[string]int // the kinds check found after each round
	keepGoing  bool             // run every round even after a violation (the control)
	outcomes   map[string]int   // "201", "409 seats_unavailable", ...
	samples    atomic.Int64     // SQL samples taken during the race
	sampledBad atomic.Int64     // of which found a violation
}

// report records violations, each once (the sampler finds the same ones again and again).
func (r *raceRun) report(vs ...violation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen == nil {
		r.seen = map[violation]bool{}
	}
	for _, v := range vs {
		if !r.seen[v] {
			r.seen[v] = true
			r.violations = append(r.violations, v)
		}
	}
}

func (r *raceRun) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.violations)
}

// raceSeats picks 1–4 of raceRow: mostly a run of adjacent seats, sometimes scattered ones,
// in the order a client might send them.
func raceSeats(rng *rand.Rand) []string {
	k := 1 + rng.IntN(4)
	if rng.IntN(4) > 0 {
		start := rng.IntN(len(raceRow) - k + 1)
		return slices.Clone(raceRow[start : start+k])
	}
	var out []string
	for _, i := range rng.Perm(len(raceRow))[:k] {
		out = append(out, raceRow[i])
	}
	return out
}

// run drives the race and returns what it found; the caller decides whether violations are
// failures (the real race) or the expected outcome (the control).
func (r *raceRun) run(t *testing.T) {
	t.Helper()
	r.outcomes = map[string]int{}
	stop := make(chan struct{})
	sampler := make(chan struct{})
	go r.sample(stop, sampler)
	defer func() { close(stop); <-sampler }()
	rng := rand.New(rand.NewPCG(r.seed, 9))
	for round := range r.size.rounds {
		asks := make([][]string, r.size.clients)
		for i := range asks {
			asks[i] = raceSeats(rng)
		}
		results := r.round(t, round, asks)
		before := r.count()
		r.check(t, round, results)
		r.releaseAll(t, round, results)
		if r.count() > before && !r.keepGoing {
			return // the first round that broke an invariant is enough to report
		}
	}
}

// round sends every client's request at once (at most conc in flight) and returns the answers.
func (r *raceRun) round(t *testing.T, round int, asks [][]string) []raceAttempt {
	t.Helper()
	results := make([]raceAttempt, len(asks))
	errs := make([]error, len(asks))
	start := make(chan struct{})
	sem := make(chan struct{}, r.size.conc)
	var wg sync.WaitGroup
	for i := range asks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i], errs[i] = r.holder.hold(round, i, asks[i])
			results[i].user, results[i].seats = i, sortedCopy(asks[i])
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("round %d, client %d: %v", round, i, err)
		}
	}
	return results
}

// check applies every invariant to a round's answers, the database and the seat map.
func (r *raceRun) check(t *testing.T, round int, results []raceAttempt) {
	t.Helper()
	var found []violation
	add := func(kind, format string, a ...any) {
		found = append(found, violation{kind, fmt.Sprintf("round %d: ", round) + fmt.Sprintf(format, a...)})
	}
	owner := map[string]string{} // seat → the winning hold
	winners := map[string]bool{}
	for _, a := range results {
		key := fmt.Sprint(a.status)
		if a.code != "" {
			key += " " + a.code
		}
		r.mu.Lock()
		r.outcomes[key]++
		r.mu.Unlock()
		switch {
		case a.status == 201:
			if !slices.Equal(a.hold.SeatIDs, a.seats) || a.hold.Status != "active" || a.hold.ScreeningID != r.screening {
				add(vPartial, "client %d asked for %v and got hold %s of %v (%s)", a.user, a.seats, a.hold.ID, a.hold.SeatIDs, a.hold.Status)
			}
			winners[a.hold.ID] = true
			for _, s := range a.hold.SeatIDs {
				if other, ok := owner[s]; ok {
					add(vDoubleAnswer, "seat %s was given to hold %s and to hold %s", s, other, a.hold.ID)
				}
				owner[s] = a.hold.ID
			}
		case a.status == 409 && a.code == "seats_unavailable":
		case a.status == 422 && a.code == "orphan_seat":
		default:
			add(vUnexpected, "client %d asking for %v got %d: %s", a.user, a.seats, a.status, a.body)
		}
	}
	for _, a := range results {
		if a.status != 409 || a.code != "seats_unavailable" {
			continue
		}
		if len(a.taken) == 0 {
			add(vFalseRefusal, "client %d asking for %v got a 409 naming no seat: %s", a.user, a.seats, a.body)
		}
		for _, s := range a.taken {
			if !slices.Contains(a.seats, s) || owner[s] == "" {
				add(vFalseRefusal, "client %d asked for %v and was told %s is taken, but the winners hold %v", a.user, a.seats, s, owner)
			}
		}
	}
	// The database: the invariants, and the live holds are exactly the winners (a refusal
	// stored nothing).
	ctx := context.Background()
	sqlFound, err := sqlInvariants(ctx, r.db, r.screening)
	if err != nil {
		t.Fatalf("round %d: invariant queries: %v", round, err)
	}
	for _, v := range sqlFound {
		add(v.kind, "%s", v.detail)
	}
	live, err := liveHolds(ctx, r.db, r.screening)
	if err != nil {
		t.Fatalf("round %d: %v", round, err)
	}
	if got := sortedKeys(live); !slices.Equal(got, sortedKeys(winners)) {
		add(vSQLWinners, "live holds %v, winners %v", got, sortedKeys(winners))
	}
	// The seat map: the winners' seats held, the rest of the row available.
	st, err := r.holder.seatStatus(round)
	if err != nil {
		t.Fatalf("round %d: seat map: %v", round, err)
	}
	for _, s := range raceRow {
		want := "available"
		if owner[s] != "" {
			want = "held"
		}
		if st[s] != want {
			add(vSeatMap, "seat %s is %q, want %s (winners %v)", s, st[s], want, owner)
		}
	}
	kinds := map[string]int{}
	for _, v := range found {
		kinds[v.kind]++
	}
	r.mu.Lock()
	r.perRound = append(r.perRound, kinds)
	r.mu.Unlock()
	r.report(found...)
}

// releaseAll releases the round's holds and checks that the row is free again.
func (r *raceRun) releaseAll(t *testing.T, round int, results []raceAttempt) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(results))
	sem := make(chan struct{}, r.size.conc)
	for _, a := range results {
		if a.status != 201 {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := r.holder.release(round, a.user, a.hold.ID); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("round %d: release: %v", round, err)
	}
	live, err := liveHolds(context.Background(), r.db, r.screening)
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 0 {
		t.Fatalf("round %d: holds %v still live after every hold was released", round, sortedKeys(live))
	}
	st, err := r.holder.seatStatus(round)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range raceRow {
		if st[s] != "available" {
			t.Fatalf("round %d: seat %s is %q after every hold was released", round, s, st[s])
		}
	}
}

// sample runs the invariant queries over and over until stop, recording what they find.
func (r *raceRun) sample(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	for {
		found, err := sqlInvariants(context.Background(), r.db, r.screening)
		if err != nil {
			r.report(violation{"sql: sampling failed", err.Error()})
			return
		}
		r.samples.Add(1)
		if len(found) > 0 {
			r.sampledBad.Add(1)
			for i := range found {
				found[i].detail = "sampled during the race: " + found[i].detail
			}
			r.report(found...)
		}
		select {
		case <-stop:
			return
		case <-time.After(5 * time.Millisecond): // leave the machine to the race
		}
	}
}

// kinds returns the distinct kinds of the violations found.
func (r *raceRun) kinds() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for _, v := range r.violations {
		out[v.kind]++
	}
	return out
}

// sqlInvariants checks, in one snapshot of the database, that no seat of the screening is in
// two live holds (active, deadline after now), that every live hold owns each of its seats in
// seat_claims (held, for it, until its deadline), and that no seat is held for a hold that is
// not live or does not list it.
func sqlInvariants(ctx context.Context, db *pgxpool.Pool, screening string) ([]violation, error) {
	tx, err := db.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
	var out []violation
	queries := []struct{ kind, sql string }{
		{vSQLDouble, `
			SELECT s || ' in holds ' || string_agg(h.id, ', ' ORDER BY h.id)
			FROM holds h CROSS JOIN LATERAL unnest(h.seat_ids) AS s
			WHERE h.screening_id = $1 AND h.status = 'active' AND h.expires_at > now()
			GROUP BY s HAVING count(*) > 1`},
		{vSQLNotOwned, `
			SELECT 'hold ' || h.id || ' seat ' || s || ': claim ' || coalesce(c.state, 'missing') ||
				' for ' || coalesce(c.hold_id, '-') || ' until ' || coalesce(c.expires_at::text, '-') ||
				' (the hold until ' || h.expires_at::text || ')'
			FROM holds h CROSS JOIN LATERAL unnest(h.seat_ids) AS s
			LEFT JOIN seat_claims c ON c.screening_id = h.screening_id AND c.seat_id = s
			WHERE h.screening_id = $1 AND h.status = 'active' AND h.expires_at > now()
				AND (c.seat_id IS NULL OR c.state <> 'held' OR c.hold_id IS DISTINCT FROM h.id
					OR c.expires_at IS DISTINCT FROM h.expires_at)`},
		{vSQLStray, `
			SELECT 'seat ' || c.seat_id || ' held for ' || c.hold_id || ' (' || coalesce(h.status, 'no such hold') || ')'
			FROM seat_claims c LEFT JOIN holds h ON h.id = c.hold_id
			WHERE c.screening_id = $1 AND c.state = 'held' AND c.expires_at > now()
				AND (h.id IS NULL OR h.status <> 'active' OR h.expires_at <= now() OR NOT c.seat_id = ANY (h.seat_ids))`},
	}
	for _, q := range queries {
		rows, err := tx.Query(ctx, q.sql, screening)
		if err != nil {
			return nil, err
		}
		details, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, err
		}
		for _, d := range details {
			out = append(out, violation{q.kind, d})
		}
	}
	return out, nil
}

// liveHolds returns the IDs of the screening's live holds.
func liveHolds(ctx context.Context, db *pgxpool.Pool, screening string) (map[string]bool, error) {
	rows, err := db.Query(ctx, `SELECT id FROM holds WHERE screening_id = $1 AND status = 'active' AND expires_at > now()`, screening)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// apiHolder drives the race through the HTTP API: each client is a signed-in user.
type apiHolder struct {
	t         *testing.T
	hc        *http.Client
	lb        interface{ inst(int) *client }
	screening string
	users     []ticketUser
}

func (a apiHolder) hold(round, user int, seats []string) (raceAttempt, error) {
	r, err := a.lb.inst(round+user).exchange(a.t, a.hc, "POST", "/v1/screenings/"+a.screening+"/holds",
		a.users[user].tk.AccessToken, map[string]any{"seat_ids": seats})
	if err != nil {
		return raceAttempt{}, err
	}
	at := raceAttempt{status: r.status, code: r.code(), body: r.body}
	switch r.status {
	case 201:
		if err := json.Unmarshal(r.body, &at.hold); err != nil {
			return at, fmt.Errorf("201 hold %s: %w", r.body, err)
		}
	case 409:
		at.taken = problemSeats(r)
	case 503:
		if r.header.Get("Retry-After") == "" {
			return at, fmt.Errorf("503 without Retry-After: %s", r.body)
		}
	}
	return at, nil
}

func (a apiHolder) release(round, user int, id string) error {
	r, err := a.lb.inst(round+user+1).exchange(a.t, a.hc, "DELETE", "/v1/holds/"+id, a.users[user].tk.AccessToken, nil)
	if err == nil && r.status != 204 {
		err = fmt.Errorf("DELETE /v1/holds/%s: %d %s", id, r.status, r.body)
	}
	return err
}

func (a apiHolder) seatStatus(round int) (map[string]string, error) {
	r, err := a.lb.inst(round).exchange(a.t, a.hc, "GET", "/v1/screenings/"+a.screening+"/seats", "", nil)
	if err != nil {
		return nil, err
	}
	if r.status != 200 {
		return nil, fmt.Errorf("GET seats: %d %s", r.status, r.body)
	}
	var m tkSeatMap
	if err := json.Unmarshal(r.body, &m); err != nil {
		return nil, err
	}
	return m.status(), nil
}

// race runs a race of the given size through lb against a fresh screening of e and fails the
// test on any violation.
func race(t *testing.T, e *ticketEnv, lb interface{ inst(int) *client }, size raceSize) *raceRun {
	t.Helper()
	hc := pooledClient(t, size.conc+4)
	users := ticketUsers(t, lb, hc, size.clients, size.conc)
	sc := e.newScreening(t)
	r := &raceRun{screening: sc.ID, db: e.db, size: size, seed: uint64(time.Now().UnixNano()),
		holder: apiHolder{t: t, hc: hc, lb: lb, screening: sc.ID, users: users}}
	t.Logf("race: %d rounds x %d clients (%d hold requests, at most %d in flight) over seats %v, seed %d",
		size.rounds, size.clients, size.rounds*size.clients, size.conc, raceRow, r.seed)
	r.run(t)
	t.Logf("answers %v; %d SQL samples taken during the race", r.outcomes, r.samples.Load())
	for i, v := range r.violations {
		if i == 20 {
			t.Errorf("... and %d more violations: %v", len(r.violations)-i, r.kinds())
			break
		}
		t.Errorf("%s: %s", v.kind, v.detail)
	}
	if r.outcomes["201"] == 0 || r.outcomes["409 seats_unavailable"] == 0 {
		t.Errorf("the race never both granted and refused a hold (answers %v): it did not race", r.outcomes)
	}
	return r
}

// TestTicketsRaceExactlyOneWinner: three instances behind the reference nginx, one PostgreSQL,
// one Redis; 120 signed-in users race in 20 rounds for overlapping 1–4-seat sets of the same
// ten seats (2400 hold requests, 16 in flight). See raceRun for the invariants.
func TestTicketsRaceExactlyOneWinner(t *testing.T) {
	skipShort(t, "the ticket race behind nginx")
	sessiontest.RequireBinary(t, "nginx", "Debian package nginx") // before starting anything
	e := ticketDeployment(t, 3, map[string]string{"BOXOFFICE_TRUSTED_PROXIES": "127.0.0.1"})
	var addrs []string
	for _, p := range e.d.procs {
		addrs = append(addrs, strings.TrimPrefix(p.base, "http://"))
	}
	n := startNginx(t, addrs)
	race(t, e, viaNginx{n.base}, raceSize{rounds: 20, clients: 120, conc: 16})
	if used := n.upstreams(t); len(used) != 3 {
		t.Fatalf("nginx used upstreams %v, want all three instances", used)
	}
}

// TestTicketsRaceQuick is the race at a small size on two instances without nginx (it runs
// under -short too): 24 users, 6 rounds.
func TestTicketsRaceQuick(t *testing.T) {
	e := ticketDeployment(t, 2, nil)
	race(t, e, e.d, raceSize{rounds: 6, clients: 24, conc: 8})
}

// naiveHolder is the control: the seed's check-then-insert, written against the same tables.
// It reads the seats taken by live holds, and when none of its seats is among them waits until
// every client of the round has checked (a barrier: the interleaving that double-books, made
// certain), then inserts its hold and upserts its claims — nothing in the database stops two
// holds from taking one seat.
type naiveHolder struct {
	db        *pgxpool.Pool
	screening string
	api       apiHolder // for the seat map
	mu        sync.Mutex
	checked   map[int]*sync.WaitGroup // per round: the clients that have not checked yet
	clients   int
	seq       atomic.Int64
}

func (n *naiveHolder) barrier(round int) *sync.WaitGroup {
	n.mu.Lock()
	defer n.mu.Unlock()
	wg, ok := n.checked[round]
	if !ok {
		wg = &sync.WaitGroup{}
		wg.Add(n.clients)
		n.checked[round] = wg
	}
	return wg
}

func (n *naiveHolder) hold(round, user int, seats []string) (raceAttempt, error) {
	ctx := context.Background()
	wg := n.barrier(round)
	rows, err := n.db.Query(ctx, `SELECT s FROM holds CROSS JOIN LATERAL unnest(seat_ids) AS s
		WHERE screening_id = $1 AND status = 'active' AND expires_at > now() AND s = ANY ($2)`, n.screening, seats)
	if err != nil {
		wg.Done()
		return raceAttempt{}, err
	}
	taken, err := pgx.CollectRows(rows, pgx.RowTo[string])
	wg.Done() // checked
	if err != nil {
		return raceAttempt{}, err
	}
	if len(taken) > 0 {
		slices.Sort(taken)
		return raceAttempt{status: 409, code: "seats_unavailable", taken: slices.Compact(taken)}, nil
	}
	wg.Wait() // every client has checked: none has inserted yet
	h := tkHold{ID: fmt.Sprintf("hold_naive_%d", n.seq.Add(1)), ScreeningID: n.screening, SeatIDs: sortedCopy(seats), Status: "active"}
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	b.Queue(`INSERT INTO holds (id, screening_id, user_id, session_id, seat_ids, status, amount, currency, created_at, expires_at)
		VALUES ($1, $2, $3, $3, $4, 'active', 0, 'EUR', now(), now() + interval '10 minutes')`,
		h.ID, n.screening, fmt.Sprintf("naive-user-%d", user), h.SeatIDs)
	b.Queue(`INSERT INTO seat_claims (screening_id, seat_id, state, hold_id, expires_at, version)
		SELECT $1::text, s, 'held', $2::text, h.expires_at, nextval('claim_version') FROM unnest($3::text[]) AS s, holds h WHERE h.id = $2::text
		ON CONFLICT (screening_id, seat_id) DO UPDATE SET state = 'held', hold_id = excluded.hold_id,
			expires_at = excluded.expires_at, version = excluded.version`, n.screening, h.ID, h.SeatIDs)
	b.Queue(`COMMIT`)
	if err := n.db.SendBatch(ctx, b).Close(); err != nil {
		return raceAttempt{}, err
	}
	return raceAttempt{status: 201, hold: h}, nil
}

func (n *naiveHolder) release(round, user int, id string) error {
	_, err := n.db.Exec(context.Background(), `
		WITH h AS (UPDATE holds SET status = 'released', ended_at = now() WHERE id = $1 RETURNING id)
		UPDATE seat_claims SET state = 'free', hold_id = NULL, expires_at = NULL, version = nextval('claim_version')
		WHERE hold_id IN (SELECT id FROM h)`, id)
	return err
}

func (n *naiveHolder) seatStatus(round int) (map[string]string, error) {
	return n.api.seatStatus(round)
}

// TestTicketsRaceControlCatchesNaive points the race's checker at naiveHolder over the same
// database, catalogue and rounds (12 clients on 10 seats, so two of them always want one seat;
// all 12 run at once, as the barrier needs). It must report double bookings — in the answers
// and in the database — every time: otherwise TestTicketsRaceExactlyOneWinner proves nothing.
func TestTicketsRaceControlCatchesNaive(t *testing.T) {
	e := ticketDeployment(t, 1, nil)
	sc := e.newScreening(t)
	size := raceSize{rounds: 3, clients: 12, conc: 12}
	hc := pooledClient(t, 4)
	n := &naiveHolder{db: e.db, screening: sc.ID, clients: size.clients, checked: map[int]*sync.WaitGroup{},
		api: apiHolder{t: t, hc: hc, lb: e.d, screening: sc.ID}}
	r := &raceRun{screening: sc.ID, db: e.db, size: size, seed: uint64(time.Now().UnixNano()), holder: n, keepGoing: true}
	r.run(t)
	t.Logf("the checker found, against the naive implementation: %v (answers %v; %d SQL samples during the race, %d of them caught it)",
		r.kinds(), r.outcomes, r.samples.Load(), r.sampledBad.Load())
	if len(r.perRound) != size.rounds {
		t.Fatalf("%d rounds checked, want %d", len(r.perRound), size.rounds)
	}
	for round, kinds := range r.perRound {
		for _, k := range []string{vDoubleAnswer, vSQLDouble, vSQLNotOwned} {
			if kinds[k] == 0 {
				t.Errorf("round %d: the checker did not report %q against a check-then-insert implementation (it found %v)", round, k, kinds)
			}
		}
	}
	if len(r.violations) > 0 {
		t.Logf("for example: %s: %s", r.violations[0].kind, r.violations[0].detail)
	}
}

// TestTicketsBestAvailableRace: 40 signed-in users on two instances ask at once for the best
// two seats ({"count": 2}) of one screening, whose hall has 32 seats for them: a hot on-sale.
// Besides the invariants (no seat in two live holds, every hold exactly two seats, none a
// wheelchair space), a best-available request may only be refused when it could not have been
// served: while fewer than two suitable seats were free. Seats are only taken during a round,
// so seats free at its end were free all along.
func TestTicketsBestAvailableRace(t *testing.T) {
	e := ticketDeployment(t, 2, nil)
	const clients, rounds = 40, 3
	hc := pooledClient(t, clients+4)
	users := ticketUsers(t, e.d, hc, clients, 16)
	layout := map[string]tkSeat{}
	for _, s := range ticketHall() {
		layout[s.ID] = s
	}
	for round := range rounds {
		sc := e.newScreening(t)
		replies := make([]reply, clients)
		errs := make([]error, clients)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range users {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				replies[i], errs[i] = e.d.inst(i).exchange(t, hc, "POST", "/v1/screenings/"+sc.ID+"/holds",
					users[i].tk.AccessToken, map[string]any{"count": 2})
			}()
		}
		close(start)
		wg.Wait()
		answers := map[string]int{}
		var refused []reply
		for i, r := range replies {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			answers[strings.TrimSpace(fmt.Sprintf("%d %s", r.status, r.code()))]++
			switch {
			case r.status == 201:
				var h tkHold
				r.decode(t, &h)
				if len(h.SeatIDs) != 2 || layout[h.SeatIDs[0]].Accessible || layout[h.SeatIDs[1]].Accessible {
					t.Fatalf("round %d: best available 2 gave %s", round, r.body)
				}
			case r.status == 409 && (r.code() == "not_enough_seats" || r.code() == "seats_unavailable"):
				refused = append(refused, r)
			default:
				t.Fatalf("round %d: best available: %d %s", round, r.status, r.body)
			}
		}
		if bad, err := sqlInvariants(context.Background(), e.db, sc.ID); err != nil || len(bad) > 0 {
			t.Fatalf("round %d: %v %v", round, bad, err)
		}
		// The seats still free for a best-available pair: any two seats sold alone, or the
		// love seat whole; wheelchair spaces only go to those who ask for them.
		st := seatMap(t, e.d.inst(round), sc.ID).status()
		var free []string
		group := 0
		for id, s := range layout {
			switch {
			case st[id] != "available" || s.Accessible:
			case s.GroupID != "":
				group++
			default:
				free = append(free, id)
			}
		}
		suitable := len(free)
		if group == 2 {
			suitable += 2
		}
		slices.Sort(free)
		t.Logf("round %d: answers %v; free afterwards: %v (love seat free: %v)", round, answers, free, group == 2)
		if suitable >= 2 && len(refused) > 0 {
			t.Errorf("round %d: %d best-available requests for 2 seats were refused while %d suitable seats (%v) stayed free, e.g. 409 %s",
				round, len(refused), suitable, free, refused[0].body)
		}
	}
}
