package tests

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"boxoffice/session/sessiontest"
	"boxoffice/tickets/testpay"
)

// The end-to-end tests of live seat maps (GET /v1/screenings/{id}/seats/events, Server-Sent
// Events): real instances over one throwaway PostgreSQL database and one Redis, clients that
// keep a seat map up to date from the stream exactly as the documentation tells them to
// (liveMap), and changes made through the API. Timings are reported, never asserted.

// TestSeatEventsFanOut: 1 000 clients follow one screening through nginx, which spreads them
// over three instances. Changes made through the API — holds, a release, an order, a hold that
// replaces another, blocking and unblocking — reach every client, each once, in version order
// without gaps, with the seats the database's outbox committed, and leave every client's map
// equal to the seat map. The delay from each change's answer to each client's reading of its
// event is logged (docs/benchmarks.md, "Live seat maps").
func TestSeatEventsFanOut(t *testing.T) {
	skipShort(t, "the live seat map fan-out (1 000 streams)")
	const subscribers = 1000
	o := oxDeployment(t, 3, false, nil)
	var addrs []string
	var ports []int
	for _, p := range o.d.procs {
		addrs = append(addrs, strings.TrimPrefix(p.base, "http://"))
		ports = append(ports, p.port(t))
	}
	n := startNginxFor(t, addrs, subscribers)
	lb := viaNginx{n.base}
	c := lb.inst(0)
	sc := o.newScreening(t)
	u1, u2, u3 := signIn(t, c).tk.AccessToken, signIn(t, c).tk.AccessToken, signIn(t, c).tk.AccessToken
	m0 := o.settledMap(t, c, sc.ID)
	t.Logf("load average at the start: %s", loadAverage())

	began := time.Now()
	fan := startFollowers(t, subscribers, func(int) string { return lb.base }, m0, time.Now().Add(4*guard))
	connected := time.Since(began)
	spread, err := inboundConns(ports...)
	if err != nil {
		t.Logf("connections per instance not counted: %v", err)
	} else {
		var per []string
		for i, p := range ports {
			per = append(per, strconv.Itoa(spread[p]))
			// nginx's round robin gives each about a third; fewer than a tenth means the streams
			// did not really spread.
			if spread[p] < subscribers/10 {
				t.Errorf("instance %d holds %d connections with %d streams open: nginx did not spread them (%v)", i, spread[p], subscribers, spread)
			}
		}
		t.Logf("%d streams ready through nginx after %s; connections per instance: %s", subscribers, connected.Round(time.Millisecond), strings.Join(per, ", "))
	}

	// The changes, one at a time: each is answered, then the seat map's version says which
	// versions it made, then every client must have read them before the next change.
	type change struct {
		what          string
		sent, arrived time.Time
		from, to      int64 // its versions: from < v <= to
	}
	var changes []change
	last := m0.Version
	step := func(what string, status int, r timedReply) timedReply {
		t.Helper()
		expect(t, r.reply, status, "")
		v := o.settledMap(t, c, sc.ID).Version
		if v <= last {
			t.Fatalf("%s left the seat map at version %d", what, v)
		}
		fan.await(t, v, guard)
		changes = append(changes, change{what: what, sent: r.sent, arrived: r.arrived, from: last, to: v})
		last = v
		return r
	}
	holdSeats := func(seats ...string) map[string]any { return map[string]any{"seat_ids": seats} }
	var h1, h2, h3 tkHold
	step("hold A1 A2", 201, c.timedDo(t, "POST", "/v1/screenings/"+sc.ID+"/holds", u1, holdSeats("A1", "A2"))).decode(t, &h1)
	step("hold A5 A6", 201, c.timedDo(t, "POST", "/v1/screenings/"+sc.ID+"/holds", u2, holdSeats("A5", "A6"))).decode(t, &h2)
	step("release A1 A2", 204, c.timedDo(t, "DELETE", "/v1/holds/"+h1.ID, u1, nil))
	step("hold C1 C2", 201, c.timedDo(t, "POST", "/v1/screenings/"+sc.ID+"/holds", u3, holdSeats("C1", "C2"))).decode(t, &h3)
	step("order C1 C2", 201, c.timedDo(t, "POST", "/v1/orders", u3, oxBody(h3.ID, testpay.TokenSuccess), "Idempotency-Key", oxKey()))
	step("hold B1-B4 replacing A5 A6", 201, c.timedDo(t, "POST", "/v1/screenings/"+sc.ID+"/holds", u2, holdSeats("B1", "B2", "B3", "B4"))).decode(t, &h2)
	step("block E1-E3", 204, c.timedDo(t, "POST", "/v1/admin/screenings/"+sc.ID+"/block", o.admin, map[string]any{"seat_ids": []string{"E1", "E2", "E3"}}))
	step("unblock E1-E3", 204, c.timedDo(t, "POST", "/v1/admin/screenings/"+sc.ID+"/unblock", o.admin, map[string]any{"seat_ids": []string{"E1", "E2", "E3"}}))
	step("release B1-B4", 204, c.timedDo(t, "DELETE", "/v1/holds/"+h2.ID, u2, nil))
	mf := o.settledMap(t, c, sc.ID)
	seatsAre(t, mf, "sold", "C1", "C2")
	fan.stop()
	fan.check(t)

	// Every client read every version once, in order (liveMap.apply refuses anything else),
	// with the outbox's seats, and ends with the seat map.
	outbox := o.outbox(t, sc.ID, m0.Version)
	if int64(len(outbox)) != mf.Version-m0.Version {
		t.Fatalf("the outbox holds %d events after version %d, the seat map is at %d", len(outbox), m0.Version, mf.Version)
	}
	for i, f := range fan.subs {
		if got, want := int64(len(f.live.got)), mf.Version-m0.Version; got != want {
			t.Fatalf("stream %d read %d events (versions %v), want %d", i, got, f.live.versions(), want)
		}
		for _, e := range f.live.got {
			if e.seats != outbox[e.version] {
				t.Fatalf("stream %d: version %d with seats %s, the outbox has %s", i, e.version, e.seats, outbox[e.version])
			}
		}
		if d := f.live.matches(mf); d != "" {
			t.Fatalf("stream %d differs from the seat map: %s", i, d)
		}
	}

	// The delays, from each change's answer (and from its request) to each client's reading.
	var fromReply, fromSent []time.Duration
	early := 0
	for ci, ch := range changes {
		var per []time.Duration
		for _, f := range fan.subs {
			for _, e := range f.live.got {
				if e.version > ch.from && e.version <= ch.to {
					d := e.at.Sub(ch.arrived)
					if d < 0 {
						early++
					}
					per = append(per, d)
					fromSent = append(fromSent, e.at.Sub(ch.sent))
				}
			}
		}
		slices.Sort(per)
		fromReply = append(fromReply, per...)
		t.Logf("change %d, %s (version %s, answered in %s): read by the %d clients min %s, p50 %s, p99 %s, max %s after the answer",
			ci+1, ch.what, versionRange(ch.from+1, ch.to), ms(ch.arrived.Sub(ch.sent)), subscribers,
			ms(per[0]), ms(percentile(per, 50)), ms(percentile(per, 99)), ms(per[len(per)-1]))
	}
	slices.Sort(fromReply)
	slices.Sort(fromSent)
	t.Logf("seat event delay over %d deliveries (%d changes x %d clients, %d read before the answer arrived): "+
		"from the answer p50 %s, p99 %s, max %s; from the request p50 %s, p99 %s, max %s; load average at the end: %s",
		len(fromReply), len(changes), subscribers, early,
		ms(percentile(fromReply, 50)), ms(percentile(fromReply, 99)), ms(fromReply[len(fromReply)-1]),
		ms(percentile(fromSent, 50)), ms(percentile(fromSent, 99)), ms(fromSent[len(fromSent)-1]), loadAverage())
}

// versionRange renders versions from..to ("7" when from == to).
func versionRange(from, to int64) string {
	if from == to {
		return strconv.FormatInt(from, 10)
	}
	return fmt.Sprintf("%d..%d", from, to)
}

// ms renders a duration in milliseconds with one decimal.
func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

// TestSeatEventsResume: a client that leaves and comes back with Last-Event-ID, to another
// instance, gets exactly the events it missed, then the stream goes on live; a Last-Event-ID
// the screening never reached gets a reset to the current version; and once the events it
// missed are older than the retention (an instance with BOXOFFICE_EVENTS_RETENTION=1s prunes
// them), the client gets a reset whose version is the seat map's, and the stream goes on from
// there. An instance at BOXOFFICE_MAX_STREAMS refuses another stream (503, Retry-After); one
// that shuts down ends its streams cleanly and exits, and the client resumes on another.
// Malformed Last-Event-IDs and unknown screenings are refused as the contract says.
func TestSeatEventsResume(t *testing.T) {
	o := oxDeployment(t, 2, false, nil)
	c0, c1 := o.d.inst(0), o.d.inst(1)
	sc := o.newScreening(t)
	u1, u2, u3 := signIn(t, c0).tk.AccessToken, signIn(t, c0).tk.AccessToken, signIn(t, c1).tk.AccessToken
	ctx := context.Background()
	deadline := time.Now().Add(streamGuard)

	for _, id := range []string{"01", "-1", "-0", "+3", "x", "1.5", "99999999999999999999"} {
		refusedStream(t, c0.base, sc.ID, "", 400, "invalid_last_event_id", "Last-Event-ID", id)
	}
	refusedStream(t, c0.base, sc.ID, "after=-1", 400, "invalid_last_event_id")
	refusedStream(t, c0.base, sc.ID, "after=-0", 400, "invalid_last_event_id")
	refusedStream(t, c0.base, "scr_aaaaaaaaaaaaaaaaaaaaaaaaaa", "", 404, "not_found")

	// A client reads the seat map, streams after its version, and sees two changes.
	m0 := o.settledMap(t, c0, sc.ID)
	a, err := openStream(ctx, c0.base, sc.ID, "after="+strconv.FormatInt(m0.Version, 10), deadline)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	if v, err := a.ready(); err != nil || v != m0.Version {
		t.Fatalf("ready at version %d (%v), want the seat map's %d", v, err, m0.Version)
	}
	live := newLiveMap(sc.ID, m0.Version, m0.status())
	h1 := mustHold(t, c1, u1, sc.ID, "A1", "A2")
	mustHold(t, c1, u2, sc.ID, "A5", "A6")
	m := o.settledMap(t, c1, sc.ID)
	if err := follow(a, live, m.Version); err != nil {
		t.Fatal(err)
	}
	if d := live.matches(m); d != "" {
		t.Fatalf("before leaving: %s", d)
	}
	left := live.version
	a.close()

	// While it is away: a release, an order (a hold, then the sale), a hold that replaces another.
	expect(t, c0.do(t, "DELETE", "/v1/holds/"+h1.ID, u1, nil), 204, "")
	oxMustOrder(t, c0, u3, sc.ID, testpay.TokenSuccess, "confirmed", "C1", "C2")
	h2 := mustHold(t, c0, u2, sc.ID, "B1", "B2", "B3", "B4")
	m1 := o.settledMap(t, c1, sc.ID)
	if m1.Version-left < 4 {
		t.Fatalf("the seat map went from version %d to %d while the client was away: want at least 4 changes", left, m1.Version)
	}

	// It comes back to the other instance with Last-Event-ID (which wins over a stale after).
	b, err := openStream(ctx, c1.base, sc.ID, "after="+strconv.FormatInt(m0.Version, 10), deadline, "Last-Event-ID", strconv.FormatInt(left, 10))
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	if v, err := b.ready(); err != nil || v != left {
		t.Fatalf("resumed stream ready at version %d (%v), want the Last-Event-ID %d", v, err, left)
	}
	before := len(live.got)
	if err := follow(b, live, m1.Version); err != nil {
		t.Fatal(err)
	}
	missed := live.versions()[before:]
	for i, v := range missed {
		if v != left+1+int64(i) {
			t.Fatalf("after Last-Event-ID %d the stream sent versions %v, want %d..%d", left, missed, left+1, m1.Version)
		}
	}
	if d := live.matches(m1); d != "" {
		t.Fatalf("after resuming: %s", d)
	}
	t.Logf("left at version %d, resumed on another instance and received versions %v", left, missed)
	// The resumed stream goes on live.
	expect(t, c0.do(t, "DELETE", "/v1/holds/"+h2.ID, u2, nil), 204, "")
	m2 := o.settledMap(t, c0, sc.ID)
	if err := follow(b, live, m2.Version); err != nil {
		t.Fatal(err)
	}
	if d := live.matches(m2); d != "" {
		t.Fatalf("after a change on the resumed stream: %s", d)
	}
	b.close()

	// A Last-Event-ID beyond the screening's version is not one it had: a reset to the current.
	x, err := openStream(ctx, c0.base, sc.ID, "", deadline, "Last-Event-ID", strconv.FormatInt(m2.Version+1000, 10))
	if err != nil {
		t.Fatal(err)
	}
	defer x.close()
	if v, err := x.ready(); err != nil || v != m2.Version+1000 {
		t.Fatalf("ready at version %d (%v), want the Last-Event-ID %d", v, err, m2.Version+1000)
	}
	if v := expectReset(t, x); v != m2.Version {
		t.Fatalf("reset to version %d after a Last-Event-ID beyond the screening's version, want its version %d", v, m2.Version)
	}
	x.close()

	// An instance with a retention of one second prunes the events once they are older than
	// that on the database's clock; the client that left at `left` now gets a reset.
	short := o.extra(t, 1, map[string]string{"BOXOFFICE_EVENTS_RETENTION": "1s", "BOXOFFICE_MAX_STREAMS": "1"})
	began := time.Now()
	waitFor(t, guard, func() bool {
		return o.count(t, `SELECT count(*) FROM seat_log WHERE screening_id = $1 AND version = $2`, sc.ID, left+1) == 0
	})
	t.Logf("the events after version %d were pruned %s after the 1 s retention instance started", left, time.Since(began).Round(time.Millisecond))
	r, err := openStream(ctx, short.procs[0].base, sc.ID, "", deadline, "Last-Event-ID", strconv.FormatInt(left, 10))
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	if v, err := r.ready(); err != nil || v != left {
		t.Fatalf("ready at version %d (%v), want the Last-Event-ID %d", v, err, left)
	}
	w := expectReset(t, r)
	// That instance streams as many as it may (BOXOFFICE_MAX_STREAMS=1): it refuses another.
	refusedStream(t, short.procs[0].base, sc.ID, "", 503, "service_unavailable") // with Retry-After
	m3 := o.settledMap(t, c1, sc.ID)
	if w != m3.Version {
		t.Fatalf("reset to version %d, the seat map is at version %d", w, m3.Version)
	}
	if etag := seatMapETag(t, c1, sc.ID); !strings.HasPrefix(etag, `"`+strconv.FormatInt(w, 10)+"-") {
		t.Fatalf("seat map ETag %s, want one of the reset's version %d", etag, w)
	}
	// After the reset the stream goes on from the seat map it tells the client to read. (With a
	// one-second retention, an event may itself be pruned before this instance passes it on if
	// the machine stalls for a second; the client is then told to reset again, which is right,
	// and does what the documentation says: reads the seat map again and ignores the events
	// whose versions are not above the seat map's.)
	after := newLiveMap(sc.ID, w, m3.status())
	mustHold(t, c0, u1, sc.ID, "D3")
	m4 := o.settledMap(t, c0, sc.ID)
	for after.version < m4.Version {
		ev, err := r.next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.name == "reset" {
			v, err := versionEvent(ev)
			if err != nil {
				t.Fatal(err)
			}
			m := o.settledMap(t, c0, sc.ID)
			t.Logf("reset again to version %d (seat map at %d): an event was pruned before it was passed on (a stalled machine)", v, m.Version)
			after = newLiveMap(sc.ID, m.Version, m.status())
			continue
		}
		if v, err := strconv.ParseInt(ev.id, 10, 64); err == nil && v <= after.version {
			continue // already in the seat map read after a reset
		}
		if err := after.apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	if d := after.matches(m4); d != "" {
		t.Fatalf("after the reset: %s", d)
	}

	// An instance that shuts down ends its streams cleanly (the end of the chunked body), so that
	// it can exit; the client resumes on another instance with the last id it read.
	p := short.procs[0]
	p.signal(syscall.SIGTERM)
	for {
		ev, err := r.next()
		if err == nil {
			if ev.name == "seats" {
				err = after.apply(ev)
			} else {
				err = fmt.Errorf("event %q (id %s) from an instance shutting down: %s", ev.name, ev.id, ev.data)
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("stream of an instance shutting down: %v (want its clean end)", err)
		}
	}
	select {
	case <-p.done:
		if code := p.cmd.ProcessState.ExitCode(); code != 0 {
			t.Fatalf("exit code %d after SIGTERM with a stream open", code)
		}
	case <-time.After(guard):
		t.Fatal("the instance did not exit after SIGTERM with a stream open")
	}
	mustHold(t, c1, u1, sc.ID, "D4", "D5") // replaces D3
	m5 := o.settledMap(t, c1, sc.ID)
	back, err := openStream(ctx, c0.base, sc.ID, "", deadline, "Last-Event-ID", strconv.FormatInt(after.version, 10))
	if err != nil {
		t.Fatal(err)
	}
	defer back.close()
	if v, err := back.ready(); err != nil || v != after.version {
		t.Fatalf("ready at version %d (%v), want %d", v, err, after.version)
	}
	if err := follow(back, after, m5.Version); err != nil {
		t.Fatal(err)
	}
	if d := after.matches(m5); d != "" {
		t.Fatalf("after resuming from an instance that shut down: %s", d)
	}
}

// refusedStream asks for a stream that must be refused with status and code, as openapi.yaml
// documents; a stream accepted instead is closed at once (and the test fails).
func refusedStream(t *testing.T, base, screening, query string, status int, code string, headers ...string) {
	t.Helper()
	s, err := openStream(context.Background(), base, screening, query, time.Now().Add(guard), headers...)
	if err == nil {
		s.close()
		t.Fatalf("stream of %s with %q %v accepted, want %d %s", screening, query, headers, status, code)
	}
	var refused *errRefused
	if !errors.As(err, &refused) {
		t.Fatal(err)
	}
	if refused.status != status || (reply{body: refused.body}).code() != code || (status == 503 && refused.header.Get("Retry-After") == "") {
		t.Fatalf("stream of %s with %q %v: %v, want %d %s", screening, query, headers, err, status, code)
	}
	if err := refused.contract(); err != nil {
		t.Errorf("contract: %v", err)
	}
}

// expectReset reads the next event of s, which must be a reset, and returns its version.
func expectReset(t *testing.T, s *sseStream) int64 {
	t.Helper()
	ev, err := s.next()
	if err != nil {
		t.Fatal(err)
	}
	if ev.name != "reset" {
		t.Fatalf("event %q (id %s), want reset: %s", ev.name, ev.id, ev.data)
	}
	v, err := versionEvent(ev)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// seatMapETag reads the ETag of a screening's seat map.
func seatMapETag(t *testing.T, c *client, screening string) string {
	t.Helper()
	r := c.do(t, "GET", "/v1/screenings/"+screening+"/seats", "", nil)
	expect(t, r, 200, "")
	return r.header.Get("ETag")
}

// TestSeatEventsRedisRestart: Redis (with an append-only file, as in the fault tests) is
// killed while clients follow a screening and restarted later. Meanwhile the changes that do
// not need a session keep working — a payment webhook sells a pending order's seats, the
// sweeper expires a hold — while those that do (holds, orders) are refused with 503 and
// Retry-After, as the outage contract says; a client that left comes back with Last-Event-ID
// during the outage. Every connected client and the resumed one receive every change in order
// (from the database poll, within a bound, while Redis is down) and end equal to the seat map;
// after the restart a hold works again, reaches everyone, and the outbox is published to the
// last event.
func TestSeatEventsRedisRestart(t *testing.T) {
	skipShort(t, "the live seat map Redis outage")
	r := sessiontest.StartServer(t, "--appendonly", "yes", "--appendfsync", "always")
	o := oxDeploymentOn(t, 3, r, nil)
	quick := o.extra(t, 1, map[string]string{"BOXOFFICE_HOLD_TTL": "3s"}) // its holds expire during the outage
	c := o.d.inst
	sc := o.newScreening(t)
	buyer, other, hurried := signIn(t, c(0)).tk.AccessToken, signIn(t, c(1)).tk.AccessToken, signIn(t, c(2)).tk.AccessToken
	ctx := context.Background()
	deadline := time.Now().Add(streamGuard)
	m0 := o.settledMap(t, c(0), sc.ID)
	fol := startFollowers(t, 30, func(i int) string { return o.d.procs[i%3].base }, m0, deadline)

	// A client that will leave before the outage and resume during it.
	res, err := openStream(ctx, c(0).base, sc.ID, "after="+strconv.FormatInt(m0.Version, 10), deadline)
	if err != nil {
		t.Fatal(err)
	}
	defer res.close()
	if v, err := res.ready(); err != nil || v != m0.Version {
		t.Fatalf("ready at version %d (%v), want %d", v, err, m0.Version)
	}
	resLive := newLiveMap(sc.ID, m0.Version, m0.status())
	_, pending := oxMustOrder(t, c(0), buyer, sc.ID, testpay.TokenAsync, "pending", "A1", "A2")
	if err := follow(res, resLive, o.settledMap(t, c(0), sc.ID).Version); err != nil {
		t.Fatal(err)
	}
	left := resLive.version
	res.close()
	hq := mustHold(t, quick.inst(0), hurried, sc.ID, "E1", "E2", "E3") // expires 3 s from now
	vBefore := o.settledMap(t, c(0), sc.ID).Version
	fol.await(t, vBefore, guard)

	r.Kill()
	down := time.Now()
	// Holds need the session, which lives in Redis: refused, never served unchecked.
	hr := c(1).do(t, "POST", "/v1/screenings/"+sc.ID+"/holds", other, map[string]any{"seat_ids": []string{"D3"}})
	expect(t, hr, 503, "service_unavailable")
	or := oxPlace(t, c(1), hurried, oxKey(), hq.ID, testpay.TokenSuccess)
	expect(t, or, 503, "service_unavailable")
	// The payment webhook needs no session: the pending order is paid and its seats sold.
	wh := oxWebhook(t, c(2), oxWebhookSecret, "evt_paid_while_redis_down", testpay.EventSucceeded, pending.Payment.ID)
	expect(t, wh, 200, "")
	var ack oxWebhookAck
	wh.decode(t, &ack)
	if ack.OrderID != pending.ID || ack.OrderStatus != "confirmed" {
		t.Fatalf("webhook during the outage: %s", wh.body)
	}
	paidAt := time.Now()
	vPaid := o.dbVersion(t, sc.ID)
	fol.await(t, vPaid, guard)
	t.Logf("Redis down: the sale (version %d) reached all %d connected clients %s after the webhook's answer",
		vPaid, len(fol.subs), time.Since(paidAt).Round(time.Millisecond))

	// The client that left resumes, on another instance, while Redis is still down.
	res2, err := openStream(ctx, c(1).base, sc.ID, "", deadline, "Last-Event-ID", strconv.FormatInt(left, 10))
	if err != nil {
		t.Fatalf("resuming while Redis is down: %v", err)
	}
	defer res2.close()
	if v, err := res2.ready(); err != nil || v != left {
		t.Fatalf("resumed stream ready at version %d (%v), want %d", v, err, left)
	}

	// The quick hold passes its deadline; the sweeper marks it expired (no Redis needed).
	waitFor(t, guard, func() bool {
		return o.count(t, `SELECT count(*) FROM holds WHERE id = $1 AND status = 'expired'`, hq.ID) == 1
	})
	vExpired := o.dbVersion(t, sc.ID)
	fol.await(t, vExpired, guard)
	if err := follow(res2, resLive, vExpired); err != nil {
		t.Fatal(err)
	}
	t.Logf("Redis down for %s so far: every client is at version %d, the hold's expiry included", time.Since(down).Round(time.Millisecond), vExpired)
	m := o.settledMap(t, c(0), sc.ID)
	seatsAre(t, m, "sold", "A1", "A2")
	seatsAre(t, m, "available", "E1", "E2", "E3")

	if err := r.Restart(); err != nil {
		t.Fatal(err)
	}
	allReady(t, o.d)
	allReady(t, quick)
	t.Logf("Redis was down for %s", time.Since(down).Round(time.Millisecond))
	// The sessions survived (append-only file): a hold works again, and reaches every client.
	mustHold(t, c(1), other, sc.ID, "D3")
	mf := o.settledMap(t, c(1), sc.ID)
	fol.await(t, mf.Version, guard)
	if err := follow(res2, resLive, mf.Version); err != nil {
		t.Fatal(err)
	}
	// What was committed while Redis was down is published once it is back.
	waitFor(t, guard, func() bool {
		return o.count(t, `SELECT count(*) FROM seat_feed WHERE screening_id = $1 AND published < version`, sc.ID) == 0
	})
	fol.stop()
	fol.check(t)
	for i, f := range fol.subs {
		if got, want := int64(len(f.live.got)), mf.Version-m0.Version; got != want {
			t.Fatalf("stream %d read versions %v, want %d..%d", i, f.live.versions(), m0.Version+1, mf.Version)
		}
		if d := f.live.matches(mf); d != "" {
			t.Fatalf("stream %d differs from the seat map: %s", i, d)
		}
	}
	if d := resLive.matches(mf); d != "" || int64(len(resLive.got)) != mf.Version-m0.Version {
		t.Fatalf("the resumed client read versions %v and differs from the seat map: %s", resLive.versions(), d)
	}
}

// TestSeatEventsNoLeak: 1 000 clients come and go in four waves, spread over three instances,
// and leave abruptly: some drop the connection before the answer, some close it, some reset it
// (RST), some after reading a change. With a heartbeat (": ping", which an idle stream is
// checked to get) every 200 ms the instances notice; their goroutines, the connections to them
// and their open sockets return to within a small margin of what they were before the first
// stream (counted from pprof and /proc, and logged).
func TestSeatEventsNoLeak(t *testing.T) {
	skipShort(t, "the live seat map leak check (1 000 streams)")
	const total, waves = 1000, 4
	o := oxDeployment(t, 3, false, map[string]string{
		"BOXOFFICE_EVENTS_HEARTBEAT": "200ms", "BOXOFFICE_DEBUG_ADDR": "127.0.0.1:0",
	})
	c := o.d.inst(0)
	sc := o.newScreening(t)
	u := signIn(t, c).tk.AccessToken
	// The pools (PostgreSQL, Redis) are warm before the baseline, as after any request.
	h := mustHold(t, c, u, sc.ID, "A1")
	expect(t, c.do(t, "DELETE", "/v1/holds/"+h.ID, u, nil), 204, "")
	var debug []string
	var ports []int
	for _, p := range o.d.procs {
		debug = append(debug, p.debug)
		ports = append(ports, p.port(t))
	}
	type usage struct{ goroutines, conns, sockets int }
	measure := func() []usage {
		out := make([]usage, len(o.d.procs))
		conns, cerr := inboundConns(ports...)
		for i, p := range o.d.procs {
			out[i].goroutines = goroutines(t, debug[i])
			out[i].conns = -1
			if cerr == nil {
				out[i].conns = conns[ports[i]]
			}
			out[i].sockets = -1
			if n, err := socketFDs(p.cmd.Process.Pid); err == nil {
				out[i].sockets = n
			}
		}
		return out
	}
	before := measure()
	t.Logf("before: %+v (goroutines, connections to the instance, sockets of the instance)", before)

	// An idle stream gets a heartbeat every BOXOFFICE_EVENTS_HEARTBEAT: that is how an instance
	// finds out that a client left without a word. The hold's release above is numbered a moment
	// after it commits, so the stream starts once it is, at its version: no seat change is then
	// due to this stream, only heartbeats.
	start := o.settledMap(t, c, sc.ID).Version
	idle, err := openStream(context.Background(), o.d.procs[0].base, sc.ID, "", time.Now().Add(guard))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := idle.ready(); err != nil || v != start {
		idle.close()
		t.Fatalf("idle stream ready at version %d (%v), want %d", v, err, start)
	}
	for i := 0; i < 3; i++ {
		if err := idle.heartbeat(); err != nil {
			idle.close()
			t.Fatalf("heartbeat %d of an idle stream: %v", i+1, err)
		}
	}
	idle.close()

	seat := 0 // each wave's change holds the next pair of row A
	for w := 0; w < waves; w++ {
		n := total / waves
		streams := make([]*sseStream, n)
		errs := make(chan error, n)
		deadline := time.Now().Add(streamGuard)
		var wg sync.WaitGroup
		sem := make(chan struct{}, 64)
		cur := o.settledMap(t, c, sc.ID).Version
		for i := range streams {
			k := w*n + i
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				s, err := dialStream(context.Background(), o.d.procs[k%3].base, sc.ID, "", deadline)
				if err != nil {
					errs <- err
					return
				}
				if k%4 == 0 { // gone before reading the answer
					s.abort()
					return
				}
				if err := s.head(); err != nil {
					s.close()
					errs <- err
					return
				}
				if v, err := s.ready(); err != nil || v != cur {
					s.close()
					errs <- fmt.Errorf("ready at version %d (%v), want %d", v, err, cur)
					return
				}
				streams[i] = s
			}()
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			for _, s := range streams {
				if s != nil {
					s.abort()
				}
			}
			t.Fatalf("wave %d: %v", w+1, err)
		}
		open := map[int]int{} // streams open per instance
		for i, s := range streams {
			if s != nil {
				open[(w*n+i)%3]++
			}
		}
		if w == 0 {
			peak := measure()
			t.Logf("wave 1, %d streams open (%v by instance): %+v", len(streams)-n/4, open, peak)
			for i := range peak {
				// The counts must see the streams, or they could not see a leak either.
				if peak[i].conns >= 0 && peak[i].conns < before[i].conns+open[i] {
					t.Fatalf("instance %d: %d connections counted with %d streams open (%d before)", i, peak[i].conns, open[i], before[i].conns)
				}
			}
		}
		// A change while they are connected; some read it before leaving.
		seat += 2
		mustHold(t, c, u, sc.ID, fmt.Sprintf("A%d", seat-1), fmt.Sprintf("A%d", seat))
		v := o.settledMap(t, c, sc.ID).Version
		var rd sync.WaitGroup
		readErrs := make(chan error, n)
		for i, s := range streams {
			if s == nil {
				continue
			}
			switch (w*n + i) % 4 {
			case 1: // closes (FIN) without reading the change
				s.close()
			case 2: // reads the change, then resets
				rd.Add(1)
				go func() {
					defer rd.Done()
					defer s.abort()
					l := newLiveMap(sc.ID, cur, nil)
					for l.version < v {
						ev, err := s.next()
						if err == nil {
							err = l.apply(ev)
						}
						if err != nil {
							readErrs <- err
							return
						}
					}
				}()
			case 3: // resets without reading
				s.abort()
			}
		}
		rd.Wait()
		close(readErrs)
		if err := <-readErrs; err != nil {
			t.Fatalf("wave %d: reading the change: %v", w+1, err)
		}
	}

	// Poll until every instance is back near its baseline, bounded by the guard: a stream is
	// noticed at its next heartbeat, and Fiber's idle workers (one per connection served) are
	// let go after ten seconds without work.
	const margin, connMargin = 25, 5
	began := time.Now()
	var after []usage
	settled := func() bool {
		after = measure()
		for i := range after {
			if after[i].goroutines > before[i].goroutines+margin ||
				after[i].conns > before[i].conns+connMargin ||
				after[i].sockets > before[i].sockets+margin {
				return false
			}
		}
		return true
	}
	for !settled() && time.Since(began) < guard {
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("after %d streams in %d waves: %+v, %s after the last one left", total, waves, after, time.Since(began).Round(time.Millisecond))
	for i := range after {
		if after[i].goroutines > before[i].goroutines+margin {
			t.Errorf("instance %d: %d goroutines, %d before the streams: a leak\n%s", i, after[i].goroutines, before[i].goroutines, goroutineDump(debug[i]))
		}
		if after[i].conns > before[i].conns+connMargin {
			t.Errorf("instance %d: %d connections to it, %d before the streams: streams left open", i, after[i].conns, before[i].conns)
		}
		if after[i].sockets > before[i].sockets+margin {
			t.Errorf("instance %d: %d sockets open, %d before the streams", i, after[i].sockets, before[i].sockets)
		}
	}
}

// goroutineDump returns the start of an instance's goroutine profile (grouped by stack), for a
// failure's diagnosis.
func goroutineDump(debugBase string) string {
	resp, err := httpc.Get(debugBase + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 6000))
	if err != nil && !errors.Is(err, io.EOF) {
		return err.Error()
	}
	return string(b)
}
