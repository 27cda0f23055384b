package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"boxoffice/tickets/testpay"
)

// oxPairs are nine pairs of adjacent seats, each a client's: however many of them are taken,
// the free seats of a block come in pairs, so no hold ever strands a single seat.
var oxPairs = [][]string{{"A1", "A2"}, {"A3", "A4"}, {"A5", "A6"}, {"A7", "A8"}, {"A9", "A10"},
	{"B1", "B2"}, {"B3", "B4"}, {"B5", "B6"}, {"B7", "B8"}}

// oxAttempt is one order request of the crash test's load: its key, the body it sent, and its
// answer (nil when the instance died before answering: the outcome is unknown).
type oxAttempt struct {
	user   int
	key    string
	holdID string
	body   []byte
	answer *reply
}

// TestOrdersCrashMidConfirm: three instances behind the reference nginx, one PostgreSQL, one
// Redis. 18 clients (each a user with a pair of seats of its own, on two screenings) buy through
// one instance, over and over: hold, order with test_success under a fresh key, cancel. At a
// random moment (after a random number of confirmed orders) that instance is killed with
// SIGKILL, by its PID; requests in flight get no answer. Then:
//
//   - in one snapshot of the database, no seat is sold without a confirmed order holding a
//     valid ticket for it, no confirmed order lacks one of its seats, and every payment agrees
//     with its order (oxInvariantQueries); the same queries are sampled during the load;
//   - a new instance is started, and every key the clients used is retried (through nginx,
//     which skips the dead instance, and through the new instance), honouring Retry-After (of
//     409 idempotency_key_in_flight, or of a 503), at most 8 times each: a key that had an
//     answer gets the same bytes again, a key whose answer was lost converges to one 201 (its
//     order taken over when its lease ends), and each key has exactly one order;
//   - afterwards no order is pending and the invariants hold.
func TestOrdersCrashMidConfirm(t *testing.T) {
	skipShort(t, "the crash test behind nginx")
	o := oxDeployment(t, 3, true, nil)
	victim := o.d.procs[0]
	vc := o.d.inst(0)
	lb := o.lb.inst(0)
	screenings := []tkScreening{o.newScreening(t), o.newScreening(t)}
	const clients, maxRounds = 18, 60
	const maxAttempts = 3 * oxLeaseSeconds // Retry-After is 1 s; a crashed key waits out its lease
	hc := pooledClient(t, clients+8)
	users := ticketUsers(t, o.lb, hc, clients, 8)

	// The load, and a sampler of the invariants.
	var (
		mu       sync.Mutex
		attempts []*oxAttempt
		loadErrs []error
	)
	fail := func(err error) { mu.Lock(); loadErrs = append(loadErrs, err); mu.Unlock() }
	var confirmed atomic.Int64
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, sc, seats := users[i].tk.AccessToken, screenings[i/len(oxPairs)].ID, oxPairs[i%len(oxPairs)]
			hb, _ := json.Marshal(map[string]any{"seat_ids": seats})
			ctx := context.Background()
			for range maxRounds {
				r, err := vc.oxSend(ctx, t, hc, "POST", "/v1/screenings/"+sc+"/holds", tok, hb)
				if err != nil {
					return // the instance died
				}
				if r.status != 201 {
					fail(fmt.Errorf("client %d: hold %v: %d %s", i, seats, r.status, r.body))
					return
				}
				var h tkHold
				if err := json.Unmarshal(r.body, &h); err != nil {
					fail(err)
					return
				}
				a := &oxAttempt{user: i, key: oxKey(), holdID: h.ID}
				a.body, _ = json.Marshal(oxBody(h.ID, testpay.TokenSuccess))
				mu.Lock()
				attempts = append(attempts, a)
				mu.Unlock()
				r, err = vc.oxSend(ctx, t, hc, "POST", "/v1/orders", tok, a.body, "Idempotency-Key", a.key)
				if err != nil {
					return // unknown outcome: retried below
				}
				answered := r
				mu.Lock()
				a.answer = &answered
				mu.Unlock()
				var ord oxOrder
				if r.status != 201 || json.Unmarshal(r.body, &ord) != nil || ord.Status != "confirmed" {
					fail(fmt.Errorf("client %d: order: %d %s", i, r.status, r.body))
					return
				}
				confirmed.Add(1)
				r, err = vc.oxSend(ctx, t, hc, "POST", "/v1/orders/"+ord.ID+"/cancel", tok, nil)
				if err != nil {
					return
				}
				if r.status != 200 {
					fail(fmt.Errorf("client %d: cancel %s: %d %s", i, ord.ID, r.status, r.body))
					return
				}
			}
		}()
	}
	loadDone := make(chan struct{})
	go func() { wg.Wait(); close(loadDone) }()
	var samples, sampledBad atomic.Int64
	var sampled []violation
	samplerDone := make(chan struct{})
	go func() {
		defer close(samplerDone)
		for {
			select {
			case <-loadDone:
				return
			case <-time.After(20 * time.Millisecond):
			}
			vs, err := o.invariantsNow()
			if err != nil {
				fail(fmt.Errorf("sampling the invariants: %w", err))
				return
			}
			samples.Add(1)
			if len(vs) > 0 {
				sampledBad.Add(1)
				mu.Lock()
				sampled = append(sampled, vs...)
				mu.Unlock()
			}
		}
	}()

	// Kill the instance after a random number of confirmed orders, plus a random instant.
	target := int64(clients + rand.IntN(3*clients))
	deadline := time.Now().Add(guard)
	for confirmed.Load() < target && time.Now().Before(deadline) {
		select {
		case <-loadDone:
			t.Fatalf("the load ended before the kill (%d orders confirmed): %v", confirmed.Load(), loadErrs)
		case <-time.After(time.Millisecond):
		}
	}
	time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
	victim.signal(syscall.SIGKILL)
	select {
	case <-victim.done:
	case <-time.After(guard):
		t.Fatal("the killed instance did not exit")
	}
	at := confirmed.Load()
	select {
	case <-loadDone:
	case <-time.After(2 * guard):
		t.Fatal("the clients did not stop after the kill")
	}
	<-samplerDone
	for _, err := range loadErrs {
		t.Error(err)
	}
	for i, v := range sampled {
		if i == 10 {
			break
		}
		t.Errorf("sampled during the load: %s: %s", v.kind, v.detail)
	}
	if t.Failed() {
		t.FailNow()
	}
	unknown := 0
	for _, a := range attempts {
		if a.answer == nil {
			unknown++
		}
	}
	inFlight := o.count(t, `SELECT count(*) FROM idempotency_keys WHERE status = 'in_flight'`)
	pending := o.count(t, `SELECT count(*) FROM orders WHERE status = 'pending'`)
	t.Logf("killed pid %d after %d confirmed orders (target %d): %d orders asked, %d without an answer; in the database then: %d keys in flight, %d orders pending; %d samples of the invariants during the load",
		victim.cmd.Process.Pid, at, target, len(attempts), unknown, inFlight, pending, samples.Load())

	// Right after the crash: the invariants, in one snapshot.
	o.mustHoldInvariants(t, "right after the kill")

	// The clients retry every key, through nginx and through a new instance.
	fresh := o.extra(t, 1, nil).inst(0)
	via := []*client{lb, fresh}
	results := make([]oxRetried, len(attempts))
	errs := make([]error, len(attempts))
	for i, a := range attempts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = oxRetry(t, hc, func(n int) *client { return via[(i+n)%2] },
				users[a.user].tk.AccessToken, a.key, a.body, maxAttempts)
		}()
	}
	wg.Wait()
	retries := 0
	for i, a := range attempts {
		if errs[i] != nil {
			t.Fatalf("key %s: %v", a.key, errs[i])
		}
		retries += results[i].attempts
		r := results[i].final
		if r.status != 201 {
			t.Fatalf("key %s (answer before the kill: %v) ended with %d %s after %d attempts", a.key, a.answer != nil, r.status, r.body, results[i].attempts)
		}
		if a.answer != nil && (!bytes.Equal(r.body, a.answer.body) || r.header.Get("Idempotent-Replayed") != "true") {
			t.Fatalf("key %s: answered before the kill\n%s\nand now (Idempotent-Replayed %q)\n%s", a.key, a.answer.body, r.header.Get("Idempotent-Replayed"), r.body)
		}
		var ord oxOrder
		r.decode(t, &ord)
		if ord.HoldID != a.holdID || ord.Status != "confirmed" {
			t.Fatalf("key %s for hold %s converged to %s", a.key, a.holdID, r.body)
		}
		keyed := o.strings(t, `SELECT k.status || ' ' || k.order_id FROM idempotency_keys k WHERE k.key = $1`, a.key)
		if len(keyed) != 1 || keyed[0] != "completed "+ord.ID {
			t.Fatalf("key %s: stored as %v, want completed for %s", a.key, keyed, ord.ID)
		}
		if n := o.count(t, `SELECT count(*) FROM orders WHERE hold_id = $1`, a.holdID); n != 1 {
			t.Fatalf("hold %s has %d orders, want 1", a.holdID, n)
		}
	}
	t.Logf("%d keys retried in %d requests: each converged to one 201 and one order", len(attempts), retries)
	if n, keys := o.count(t, `SELECT count(*) FROM orders`), o.count(t, `SELECT count(*) FROM idempotency_keys`); n != len(attempts) || keys != len(attempts) {
		t.Fatalf("%d orders and %d keys in the database for %d keys used", n, keys, len(attempts))
	}
	if n := o.count(t, `SELECT count(*) FROM orders WHERE status = 'pending'`); n != 0 {
		t.Fatalf("%d orders still pending after every key converged", n)
	}
	o.mustHoldInvariants(t, "after the retries")
}
