package tests

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"boxoffice/tickets"
	"boxoffice/tickets/postgres"
	"boxoffice/tickets/testpay"
)

// BenchmarkTicketsOrdersHotScreening measures purchases on one hot 200-seat screening, on the
// rig of BenchmarkTicketsHotScreening (docs/benchmarks.md, "Orders on a hot screening"). A
// purchase is one cycle of a client: a hold of 2 or 4 adjacent seats (hotSeats), an order
// paying for it with the test provider's test_success token under a fresh idempotency key,
// and the order's cancellation with its refund, so that the hall never sells out (the
// screening starts a day or more ahead: cancellation is open). A hold refused because a seat
// is taken (409) is counted and the client starts again. Contenders:
//
//   - http: boxoffice, 3 instances, the clients signed-in users spread round-robin over them:
//     POST /v1/screenings/{id}/holds, POST /v1/orders (Idempotency-Key), POST
//     /v1/orders/{id}/cancel;
//   - service (a diagnostic): tickets.Service.Hold, PlaceOrder and CancelOrder in-process over
//     a postgres.Store with the testpay provider, without HTTP, Redis or sessions;
//   - ceiling: the same store transactions driven in-process through postgres.Store: Hold
//     (a Plan returning the chosen seats), BeginOrder, FinishOrder (payment succeeded, the
//     tickets, a reply stored with the key), CancelOrder, RefundSucceeded — no HTTP, no
//     sessions, no provider, no rules.
//
// Numbers are printed as markdown tables and reported, never asserted; the benchmark fails
// only when something broke (an error at any step, or no purchase at all). Settings as for
// BenchmarkTicketsHotScreening (BOXOFFICE_BENCH_PROFILE profiles one instance during the first
// round's http run). The database is analyzed at the end of each warm-up, as autovacuum does
// for a database in service: on a fresh one, the generic plan a connection caches for the
// read of an order's tickets while the table is nearly empty scans it whole, at a cost that
// grows with the run, until statistics replace it.
//
//	go test ./tests -run '^$' -bench TicketsOrdersHotScreening -benchtime 1x
func BenchmarkTicketsOrdersHotScreening(b *testing.B) {
	ctx := context.Background()
	rig := hotStart(b)
	set := rig.set
	contenders := []ordContender{
		{name: "http", label: fmt.Sprintf("boxoffice over HTTP (%d instances)", hotInstances),
			open: func() (ordBuyer, func(), error) { return rig.web, func() {}, nil }},
		{name: "service", label: "tickets.Service in-process (testpay)",
			open: ordServiceOpener(rig.dbURL, set.storeConns, rig.owners)},
		{name: "ceiling", label: "ceiling: postgres.Store in-process",
			open: ordStoreOpener(rig.dbURL, set.storeConns, rig.owners)},
	}
	var results []ordResult
	for round := range set.rounds {
		for k := range contenders {
			c := contenders[(k+round)%len(contenders)]
			buyer, closeBuyer, err := c.open()
			if err != nil {
				b.Fatalf("%s: %v", c.name, err)
			}
			var profile func() error
			if c.name == "http" && round == 0 && set.profile != "" {
				profile = hotProfile(rig.d.procs[0], set)
			}
			scr := hotScreening(b, rig.admin)
			r := ordDrive(ctx, buyer, scr, set, rig.analyze, rig.cpu, rig.walSyncs, profile)
			closeBuyer()
			r.name, r.label, r.round = c.name, c.label, round+1
			results = append(results, r)
			if r.err != nil {
				b.Errorf("%s, round %d: %d errors, the first: %v", c.name, round+1, r.errors, r.err)
			}
			if r.purchases == 0 {
				b.Errorf("%s, round %d: no purchase completed", c.name, round+1)
			}
		}
	}
	ordReport(b, set, results)
	rig.finish(b)
}

// ordBuyer holds (hotHolder), orders a held hold and cancels the order, for client i.
type ordBuyer interface {
	hotHolder
	order(ctx context.Context, client int, holdID string) (orderID string, err error)
	cancel(ctx context.Context, client int, orderID string) error
}

type ordContender struct {
	name, label string
	open        func() (ordBuyer, func(), error) // the buyer and what closes it
}

// ordKey returns a fresh idempotency key ("k" and 26 base32 digits: a bare key in the header).
func ordKey() string { return hotID("k") }

func (h *hotHTTP) order(ctx context.Context, client int, holdID string) (string, error) {
	body := fmt.Appendf(nil, `{"hold_id":%q,"payment":{"method":"test","token":%q}}`, holdID, testpay.TokenSuccess)
	st, resp, err := hotCall(ctx, h.hc, "POST", h.bases[client]+"/v1/orders", h.tokens[client], body,
		"Idempotency-Key", ordKey())
	if err != nil {
		return "", err
	}
	var v struct{ ID, Status string }
	if st != 201 || json.Unmarshal(resp, &v) != nil || v.ID == "" || v.Status != tickets.OrderConfirmed {
		return "", fmt.Errorf("POST /v1/orders: %d %s", st, resp)
	}
	return v.ID, nil
}

func (h *hotHTTP) cancel(ctx context.Context, client int, id string) error {
	st, resp, err := hotCall(ctx, h.hc, "POST", h.bases[client]+"/v1/orders/"+id+"/cancel", h.tokens[client], nil)
	if err != nil {
		return err
	}
	var v struct{ Status string }
	if st != 200 || json.Unmarshal(resp, &v) != nil || v.Status != tickets.OrderCancelled {
		return fmt.Errorf("POST /v1/orders/%s/cancel: %d %s", id, st, resp)
	}
	return nil
}

// ordRender renders the reply stored with an order's idempotency key in the in-process
// contenders: the order as JSON, about the size of the API's (whose renderer is package api's).
func ordRender(o tickets.Order) tickets.Reply {
	type ticket struct{ ID, SeatID, Code, Status string }
	v := struct {
		ID, Status, ScreeningID, HoldID string
		SeatIDs                         []string
		Total                           tickets.Money
		PaymentID, Method, PaymentState string
		Tickets                         []ticket
		CreatedAt, UpdatedAt            time.Time
	}{ID: o.ID, Status: o.Status, ScreeningID: o.ScreeningID, HoldID: o.HoldID, SeatIDs: o.SeatIDs,
		Total: o.Total, PaymentID: o.Payment.ID, Method: o.Payment.Method, PaymentState: o.Payment.Status,
		CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
	for _, t := range o.Tickets {
		v.Tickets = append(v.Tickets, ticket{t.ID, t.SeatID, t.Code, t.Status})
	}
	body, _ := json.Marshal(v) // strings, numbers and times
	status := 201
	if o.Status != tickets.OrderConfirmed {
		status = 402
	}
	return tickets.Reply{Status: status, ContentType: "application/json", Location: "/v1/orders/" + o.ID, Body: body}
}

// ordStoreOpener opens a postgres.Store of conns connections for the ceiling; client i is
// owners[i].
func ordStoreOpener(url string, conns int, owners []tickets.Owner) func() (ordBuyer, func(), error) {
	return func() (ordBuyer, func(), error) {
		s, err := postgres.Open(context.Background(), url, postgres.Options{MaxConns: int32(conns)})
		if err != nil {
			return nil, nil, err
		}
		return &hotStore{s, owners}, s.Close, nil
	}
}

// ordCancelCutoff is the instances' default BOXOFFICE_CANCEL_CUTOFF.
const ordCancelCutoff = 2 * time.Hour

func (h *hotStore) order(ctx context.Context, client int, holdID string) (string, error) {
	o := h.owners[client]
	fp := sha256.Sum256([]byte("POST /v1/orders\x00" + holdID + "\x00test\x00" + testpay.TokenSuccess))
	begun, err := h.s.BeginOrder(ctx, tickets.BeginOrderTx{
		Key:   tickets.IdempotencyKey{UserID: o.UserID, Key: ordKey(), Fingerprint: fp[:]},
		Lease: 15 * time.Second,
		Order: tickets.Order{ID: hotID("order_"), UserID: o.UserID, SessionID: o.SessionID, HoldID: holdID,
			Payment: tickets.Payment{ID: hotID("pay_"), Method: "test", Token: testpay.TokenSuccess}},
	})
	if err != nil {
		return "", fmt.Errorf("BeginOrder: %w", err)
	}
	ord := begun.Order
	res, err := h.s.FinishOrder(ctx, tickets.FinishOrderTx{OrderID: ord.ID,
		Payment: tickets.Payment{Status: tickets.PaymentSucceeded, ProviderRef: "test_ch_" + ord.Payment.ID},
		Tickets: ordTickets(ord.SeatIDs), Reply: ordRender})
	if err != nil {
		return "", fmt.Errorf("FinishOrder: %w", err)
	}
	if res.Order.Status != tickets.OrderConfirmed || res.Reply == nil {
		return "", fmt.Errorf("FinishOrder: order %s is %s", ord.ID, res.Order.Status)
	}
	return ord.ID, nil
}

// ordTickets makes one ticket per seat, as tickets.Service does (an ID, a 128-bit code).
func ordTickets(seatIDs []string) []tickets.Ticket {
	out := make([]tickets.Ticket, len(seatIDs))
	for i, id := range seatIDs {
		var b [16]byte
		_, _ = rand.Read(b[:])
		out[i] = tickets.Ticket{ID: hotID("ticket_"), SeatID: id, Status: tickets.TicketValid,
			Code: base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])}
	}
	return out
}

func (h *hotStore) cancel(ctx context.Context, client int, id string) error {
	ord, err := h.s.CancelOrder(ctx, id, h.owners[client].UserID, time.Now().Add(ordCancelCutoff))
	if err != nil {
		return fmt.Errorf("CancelOrder: %w", err)
	}
	if ord.Status != tickets.OrderCancelled || ord.Refund == nil {
		return fmt.Errorf("CancelOrder: order %s is %s", id, ord.Status)
	}
	if err := h.s.RefundSucceeded(ctx, ord.Refund.ID, "test_re_"+ord.Refund.ID); err != nil {
		return fmt.Errorf("RefundSucceeded: %w", err)
	}
	return nil
}

// ordServiceOpener opens a tickets.Service over a postgres.Store of conns connections, paying
// with the test provider; client i is owners[i].
func ordServiceOpener(url string, conns int, owners []tickets.Owner) func() (ordBuyer, func(), error) {
	return func() (ordBuyer, func(), error) {
		s, err := postgres.Open(context.Background(), url, postgres.Options{MaxConns: int32(conns)})
		if err != nil {
			return nil, nil, err
		}
		svc := tickets.NewService(s, tickets.Config{HoldTTL: hotHoldTTL,
			Payments: map[string]tickets.PaymentProvider{"test": &testpay.Provider{}}})
		return &hotService{svc, owners}, s.Close, nil
	}
}

func (h *hotService) order(ctx context.Context, client int, holdID string) (string, error) {
	reply, _, err := h.svc.PlaceOrder(ctx, h.owners[client], ordKey(),
		tickets.OrderRequest{HoldID: holdID, Method: "test", Token: testpay.TokenSuccess}, ordRender)
	if err != nil {
		return "", fmt.Errorf("PlaceOrder: %w", err)
	}
	if reply.Status != 201 {
		return "", fmt.Errorf("PlaceOrder: %d %s", reply.Status, reply.Body)
	}
	return strings.TrimPrefix(reply.Location, "/v1/orders/"), nil
}

func (h *hotService) cancel(ctx context.Context, client int, id string) error {
	ord, err := h.svc.CancelOrder(ctx, h.owners[client], id)
	if err != nil {
		return fmt.Errorf("CancelOrder: %w", err)
	}
	if ord.Status != tickets.OrderCancelled {
		return fmt.Errorf("CancelOrder: order %s is %s", id, ord.Status)
	}
	return nil
}

// ordResult is one contender's run.
type ordResult struct {
	name, label string
	round       int
	elapsed     time.Duration // the measured window
	attempts    int64         // cycles started in the window (hold requests)
	refused     int64         // of which the hold was refused: a seat was taken (409)
	orders      int64         // orders confirmed (201)
	purchases   int64         // cycles completed: held, ordered and cancelled
	errors      int64         // failed requests, at any step
	err         error         // the first of them
	orderLat    []time.Duration
	cycleLat    []time.Duration // of every completed purchase, hold to cancellation
	cpu         hotCPU
	walSyncs    int64
}

func (r ordResult) rate(n int64) float64 { return float64(n) / r.elapsed.Seconds() }

func quantile(lat []time.Duration, q float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	return lat[min(len(lat)-1, int(q*float64(len(lat))))]
}

// ordDrive runs the clients' purchase cycles against buyer on the screening, as hotDrive,
// except that analyze runs at the end of the warm-up, which lasts until it returns: the
// measured window starts then.
func ordDrive(ctx context.Context, buyer ordBuyer, screening string, set hotSettings, analyze func() error, cpu func() hotCPU, wal func() int64, profile func() error) ordResult {
	start := time.Now()
	var fromNs, endNs atomic.Int64 // the window, in Unix nanoseconds; not yet known
	fromNs.Store(math.MaxInt64)
	endNs.Store(math.MaxInt64)
	per := make([]ordResult, set.clients)
	var wg sync.WaitGroup
	for c := range set.clients {
		wg.Go(func() {
			r := &per[c]
			rng := mrand.New(mrand.NewPCG(uint64(c), uint64(start.UnixNano())))
			for {
				t0 := time.Now()
				if t0.UnixNano() >= endNs.Load() {
					return
				}
				measured := t0.UnixNano() >= fromNs.Load()
				var orderLat time.Duration
				holdID, refused, err := buyer.hold(ctx, c, screening, hotSeats(rng))
				orderID := ""
				if err == nil && holdID != "" {
					t1 := time.Now()
					orderID, err = buyer.order(ctx, c, holdID)
					orderLat = time.Since(t1)
					if err != nil { // give the seats back; the error is counted below
						_ = buyer.release(ctx, c, holdID)
					}
				}
				if err == nil && orderID != "" {
					err = buyer.cancel(ctx, c, orderID)
				}
				cycle := time.Since(t0)
				if measured {
					r.attempts++
					if refused {
						r.refused++
					}
					if orderID != "" {
						r.orders++
						r.orderLat = append(r.orderLat, orderLat)
						if err == nil {
							r.purchases++
							r.cycleLat = append(r.cycleLat, cycle)
						}
					}
					if err != nil {
						if r.errors++; r.err == nil {
							r.err = err
						}
					}
				}
				if err != nil {
					time.Sleep(10 * time.Millisecond) // a broken server must not make this a busy loop
				}
			}
		})
	}
	time.Sleep(set.warmup)
	analyzeErr := analyze()
	cpu0, wal0 := cpu(), wal()
	from := time.Now()
	endNs.Store(from.Add(set.duration).UnixNano())
	fromNs.Store(from.UnixNano())
	var profileErr error
	var profiling sync.WaitGroup
	if profile != nil {
		profiling.Go(func() { profileErr = profile() })
	}
	wg.Wait()
	elapsed := time.Since(from)
	cpu1, wal1 := cpu(), wal()
	profiling.Wait()

	out := ordResult{elapsed: elapsed, cpu: cpu1.minus(cpu0), walSyncs: wal1 - wal0, err: errors.Join(analyzeErr, profileErr)}
	for _, r := range per {
		out.attempts += r.attempts
		out.refused += r.refused
		out.orders += r.orders
		out.purchases += r.purchases
		out.errors += r.errors
		out.orderLat = append(out.orderLat, r.orderLat...)
		out.cycleLat = append(out.cycleLat, r.cycleLat...)
		if out.err == nil {
			out.err = r.err
		}
	}
	if analyzeErr != nil {
		out.errors++
	}
	if profileErr != nil {
		out.errors++
	}
	slices.Sort(out.orderLat)
	slices.Sort(out.cycleLat)
	return out
}

// ordReport prints the results as markdown tables and reports the totals as metrics.
func ordReport(b *testing.B, set hotSettings, results []ordResult) {
	var w strings.Builder
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
	fmt.Fprintf(&w, "\nPurchases (hold → order → cancel) on one hot %d-seat screening: %d clients, %s per contender and round (after a %s warm-up), %d round(s); in-process stores with %d connections\n\n",
		hotRows*hotCols, set.clients, set.duration, set.warmup, set.rounds, set.storeConns)
	fmt.Fprintln(&w, "| Round | Contender | purchases/s | orders/s | hold attempts/s | 409 share | order p50 | order p99 | purchase p50 | purchase p99 | errors |")
	fmt.Fprintln(&w, "|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range results {
		share := 0.0
		if r.attempts > 0 {
			share = float64(r.refused) / float64(r.attempts)
		}
		fmt.Fprintf(&w, "| %d | %s | %.0f | %.0f | %.0f | %.0f%% | %s | %s | %s | %s | %d |\n", r.round, r.label,
			r.rate(r.purchases), r.rate(r.orders), r.rate(r.attempts), 100*share,
			ms(quantile(r.orderLat, 0.50)), ms(quantile(r.orderLat, 0.99)),
			ms(quantile(r.cycleLat, 0.50)), ms(quantile(r.cycleLat, 0.99)), r.errors)
	}
	total := map[string]*ordResult{}
	for _, r := range results {
		t := total[r.name]
		if t == nil {
			t = &ordResult{name: r.name}
			total[r.name] = t
		}
		t.elapsed += r.elapsed
		t.purchases += r.purchases
	}
	ratio := func(a, b string) float64 {
		if total[a] == nil || total[b] == nil || total[b].purchases == 0 {
			return 0
		}
		return total[a].rate(total[a].purchases) / total[b].rate(total[b].purchases)
	}
	fmt.Fprintln(&w)
	for round := 1; round <= set.rounds; round++ {
		rate := map[string]float64{}
		for _, r := range results {
			if r.round == round {
				rate[r.name] = r.rate(r.purchases)
			}
		}
		fmt.Fprintf(&w, "Round %d: http / ceiling = %.2f (goal ≥ 0.6); service / ceiling = %.2f\n",
			round, rate["http"]/rate["ceiling"], rate["service"]/rate["ceiling"])
	}
	fmt.Fprintf(&w, "All rounds: http / ceiling = %.2f; service / ceiling = %.2f\n",
		ratio("http", "ceiling"), ratio("service", "ceiling"))

	fmt.Fprintln(&w, "\nCPU per purchase (hold, order, cancellation), in ms, and WAL flushes per write transaction (≈: server-wide pg_stat_wal):")
	fmt.Fprintln(&w)
	fmt.Fprintln(&w, "| Round | Contender | clients (this process) | boxoffice ×3 | redis | postgres backends | machine busy | WAL flushes per commit |")
	fmt.Fprintln(&w, "|---|---|---|---|---|---|---|---|")
	for _, r := range results {
		per := func(s float64) string {
			if r.purchases == 0 {
				return "—"
			}
			return fmt.Sprintf("%.2f", 1000*s/float64(r.purchases))
		}
		busy := "—"
		if r.cpu.total > 0 {
			busy = fmt.Sprintf("%.0f%%", 100*r.cpu.busy/r.cpu.total)
		}
		flushes := "—"
		// A purchase commits five transactions (hold, begin, finish, cancel, refund); a
		// refused hold one.
		if commits := 5*r.purchases + r.refused; commits > 0 && r.walSyncs > 0 {
			flushes = fmt.Sprintf("%.2f", float64(r.walSyncs)/float64(commits))
		}
		fmt.Fprintf(&w, "| %d | %s | %s | %s | %s | %s | %s | %s |\n", r.round, r.name, per(r.cpu.bench),
			per(r.cpu.server), per(r.cpu.redis), per(r.cpu.postgres), busy, flushes)
	}
	fmt.Print(w.String())

	for _, name := range []string{"http", "service", "ceiling"} {
		if t := total[name]; t != nil {
			b.ReportMetric(t.rate(t.purchases), name+"-purchases/s")
		}
	}
	b.ReportMetric(ratio("http", "ceiling"), "http/ceiling")
}
