package tests

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Helpers of the live seat map tests (seat_events_test.go): a Server-Sent Events client over
// connections of its own, a client-side seat map that applies the events, an nginx with room for
// a thousand streams, and counts of an instance's connections from /proc.

// sseEvent is one dispatched event of a stream.
type sseEvent struct {
	name, id string
	data     []byte
	at       time.Time // when the test had read it
}

// sseStream is GET /v1/screenings/{id}/seats/events read over a TCP connection of its own
// (not a pooled http.Client's), so that the test decides how it ends: closed (FIN), reset
// (RST), or dropped before the answer was read. Every read and write is bounded by the
// deadline given to dialStream.
type sseStream struct {
	conn  *net.TCPConn
	br    *bufio.Reader // the connection
	req   *http.Request
	body  *bufio.Reader // the answer's body, de-chunked
	retry string        // the last retry field
}

// dialStream connects to base (http://host:port) and sends the stream request for screening
// with the query (e.g. "after=7", "" for none) and header pairs; the answer is read by head.
func dialStream(ctx context.Context, base, screening, query string, deadline time.Time, headers ...string) (*sseStream, error) {
	host := strings.TrimPrefix(base, "http://")
	path := "/v1/screenings/" + url.PathEscape(screening) + "/seats/events"
	if query != "" {
		path += "?" + query
	}
	d := net.Dialer{Deadline: deadline}
	c, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	conn := c.(*net.TCPConn)
	_ = conn.SetDeadline(deadline)
	req, err := http.NewRequest("GET", base+path, nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n", path, host)
	for i := 0; i+1 < len(headers); i += 2 {
		fmt.Fprintf(&b, "%s: %s\r\n", headers[i], headers[i+1])
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		conn.Close()
		return nil, err
	}
	return &sseStream{conn: conn, br: bufio.NewReader(conn), req: req}, nil
}

// errRefused is the error of head for an answer other than a 200 event stream.
type errRefused struct {
	req    *http.Request
	status int
	header http.Header
	body   []byte
}

// contract checks the refusal against openapi.yaml.
func (e *errRefused) contract() error {
	return spec.check(e.req, nil, &http.Response{StatusCode: e.status, Header: e.header}, e.body)
}

func (e *errRefused) Error() string {
	return fmt.Sprintf("stream refused: %d (Retry-After %q) %s", e.status, e.header.Get("Retry-After"), tailBytes(e.body, 300))
}

// head reads the answer's head: a 200 text/event-stream with Cache-Control: no-store, or an
// *errRefused.
func (s *sseStream) head() error {
	resp, err := http.ReadResponse(s.br, s.req)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return &errRefused{req: s.req, status: resp.StatusCode, header: resp.Header, body: b}
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		return fmt.Errorf("stream with Content-Type %q", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		return fmt.Errorf("stream with Cache-Control %q, want no-store", cc)
	}
	s.body = bufio.NewReader(resp.Body)
	return nil
}

// openStream is dialStream and head.
func openStream(ctx context.Context, base, screening, query string, deadline time.Time, headers ...string) (*sseStream, error) {
	s, err := dialStream(ctx, base, screening, query, deadline, headers...)
	if err != nil {
		return nil, err
	}
	if err := s.head(); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// next reads up to the next dispatched event (one with data), as an EventSource would: comment
// lines (heartbeats) are skipped, retry is kept, a block without data (the retry) dispatches
// nothing.
func (s *sseStream) next() (sseEvent, error) {
	var ev sseEvent
	var data [][]byte
	for {
		line, err := s.body.ReadBytes('\n')
		if err != nil {
			return sseEvent{}, err
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if len(line) == 0 {
			if data != nil {
				ev.data, ev.at = bytes.Join(data, []byte("\n")), time.Now()
				return ev, nil
			}
			ev = sseEvent{}
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "event":
			ev.name = string(value)
		case "id":
			ev.id = string(value)
		case "data":
			data = append(data, slices.Clone(value))
		case "retry":
			s.retry = string(value)
		}
	}
}

// heartbeat reads up to the next comment line, which must be ": ping"; an event before it is an
// error.
func (s *sseStream) heartbeat() error {
	for {
		line, err := s.body.ReadBytes('\n')
		if err != nil {
			return err
		}
		switch {
		case bytes.HasPrefix(line, []byte(":")):
			if string(line) != ": ping\n" {
				return fmt.Errorf("comment %q, want \": ping\"", line)
			}
			return nil
		case len(bytes.TrimSpace(line)) > 0:
			return fmt.Errorf("%q before a heartbeat", line)
		}
	}
}

// ready reads the first event, which must be ready with the version the stream starts after.
func (s *sseStream) ready() (int64, error) {
	ev, err := s.next()
	if err != nil {
		return 0, fmt.Errorf("reading ready: %w", err)
	}
	if ev.name != "ready" {
		return 0, fmt.Errorf("first event %q (id %s), want ready: %s", ev.name, ev.id, ev.data)
	}
	if s.retry != "2000" {
		return 0, fmt.Errorf("retry %q before ready, want 2000", s.retry)
	}
	return versionEvent(ev)
}

// versionEvent decodes a ready or reset event: its id and data version must agree.
func versionEvent(ev sseEvent) (int64, error) {
	var d struct {
		ScreeningID string `json:"screening_id"`
		Version     *int64 `json:"version"`
	}
	if err := json.Unmarshal(ev.data, &d); err != nil || d.Version == nil || d.ScreeningID == "" {
		return 0, fmt.Errorf("%s data %s: %v", ev.name, ev.data, err)
	}
	if ev.id != strconv.FormatInt(*d.Version, 10) {
		return 0, fmt.Errorf("%s with id %q and version %d", ev.name, ev.id, *d.Version)
	}
	return *d.Version, nil
}

// close closes the connection (FIN).
func (s *sseStream) close() { s.conn.Close() }

// abort resets the connection (RST): the peer's next write fails at once.
func (s *sseStream) abort() {
	_ = s.conn.SetLinger(0)
	s.conn.Close()
}

// seatsData is the data of a seats event.
type seatsData struct {
	ScreeningID string `json:"screening_id"`
	Version     int64  `json:"version"`
	Seats       []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	} `json:"seats"`
	At time.Time `json:"at"`
}

var seatStatuses = map[string]bool{"available": true, "held": true, "sold": true, "blocked": true}

// liveMap is a client's seat map kept up to date by a stream, as the documentation tells clients
// to: read the seat map (version V), stream after V, apply each seats event, re-read the seat
// map on reset. It checks what a client relies on: one screening, ids equal to versions, every
// version exactly one above the last, known statuses.
type liveMap struct {
	screening string
	version   int64
	status    map[string]string // by seat; nil when the test only checks versions
	got       []liveEvent       // every seats or reset event applied, in order
}

// liveEvent is an event a liveMap applied.
type liveEvent struct {
	name    string
	version int64
	seats   string // the seats as "A1=held,A2=held" (seats events)
	at      time.Time
}

// newLiveMap starts from a seat map read at version m.Version (status nil: versions only).
func newLiveMap(screening string, version int64, status map[string]string) *liveMap {
	var own map[string]string
	if status != nil {
		own = make(map[string]string, len(status))
		for k, v := range status {
			own[k] = v
		}
	}
	return &liveMap{screening: screening, version: version, status: own}
}

// apply takes a seats event; a reset is an error here (the caller handles resets itself).
func (l *liveMap) apply(ev sseEvent) error {
	if ev.name != "seats" {
		return fmt.Errorf("event %q id %s after version %d, want seats: %s", ev.name, ev.id, l.version, ev.data)
	}
	var d seatsData
	if err := json.Unmarshal(ev.data, &d); err != nil {
		return fmt.Errorf("seats data %s: %v", ev.data, err)
	}
	switch {
	case d.ScreeningID != l.screening:
		return fmt.Errorf("seats event of screening %q in the stream of %s", d.ScreeningID, l.screening)
	case ev.id != strconv.FormatInt(d.Version, 10):
		return fmt.Errorf("seats event with id %q and version %d", ev.id, d.Version)
	case d.Version != l.version+1:
		return fmt.Errorf("seats event version %d after version %d: versions must run without gaps or repeats", d.Version, l.version)
	case len(d.Seats) == 0 || d.At.IsZero():
		return fmt.Errorf("seats event without seats or time: %s", ev.data)
	}
	parts := make([]string, len(d.Seats))
	for i, s := range d.Seats {
		if !seatStatuses[s.Status] {
			return fmt.Errorf("seat %s with status %q in %s", s.ID, s.Status, ev.data)
		}
		if l.status != nil {
			if _, ok := l.status[s.ID]; !ok {
				return fmt.Errorf("seat %q is not in the hall: %s", s.ID, ev.data)
			}
			l.status[s.ID] = s.Status
		}
		parts[i] = s.ID + "=" + s.Status
	}
	slices.Sort(parts)
	l.version = d.Version
	l.got = append(l.got, liveEvent{name: "seats", version: d.Version, seats: strings.Join(parts, ","), at: ev.at})
	return nil
}

// matches reports how the live map differs from a seat map read at the same version ("" when
// it does not).
func (l *liveMap) matches(m tkSeatMap) string {
	if l.version != m.Version {
		return fmt.Sprintf("live map at version %d, seat map at %d", l.version, m.Version)
	}
	var diff []string
	for id, st := range m.status() {
		if l.status[id] != st {
			diff = append(diff, fmt.Sprintf("%s: live %q, seat map %q", id, l.status[id], st))
		}
	}
	slices.Sort(diff)
	return strings.Join(diff, "; ")
}

// versions returns the versions of the events applied.
func (l *liveMap) versions() []int64 {
	out := make([]int64, len(l.got))
	for i, e := range l.got {
		out[i] = e.version
	}
	return out
}

// follow applies the stream's events to l until it has reached version until; it returns the
// stream's failure, or the first event a client could not apply.
func follow(s *sseStream, l *liveMap, until int64) error {
	for l.version < until {
		ev, err := s.next()
		if err != nil {
			return fmt.Errorf("stream at version %d (want %d): %w", l.version, until, err)
		}
		if err := l.apply(ev); err != nil {
			return err
		}
	}
	return nil
}

// percentile returns the nearest-rank percentile p (0 < p ≤ 100) of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// port returns the TCP port of an instance.
func (p *process) port(t *testing.T) int {
	t.Helper()
	u, err := url.Parse(p.base)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// errNoProcNet: /proc/net/tcp cannot be read (not Linux): connections are not counted.
var errNoProcNet = errors.New("no /proc/net/tcp")

// inboundConns counts, by local port, the established TCP connections to each of the ports
// (the connections clients and nginx hold to the instances), from /proc/net/tcp and tcp6.
func inboundConns(ports ...int) (map[int]int, error) {
	want := map[int]bool{}
	for _, p := range ports {
		want[p] = true
	}
	out := map[int]int{}
	read := 0
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		read++
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fields := strings.Fields(line)
			if len(fields) < 4 || fields[3] != "01" { // 01: ESTABLISHED
				continue
			}
			_, hexPort, ok := strings.Cut(fields[1], ":") // local address
			if !ok {
				continue
			}
			p, err := strconv.ParseInt(hexPort, 16, 32)
			if err == nil && want[int(p)] {
				out[int(p)]++
			}
		}
	}
	if read == 0 {
		return nil, errNoProcNet
	}
	return out, nil
}

// socketFDs counts the sockets a process has open (/proc/<pid>/fd): its listeners, the
// connections of its clients, and those of its own pools (PostgreSQL, Redis).
func socketFDs(pid int) (int, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && strings.HasPrefix(l, "socket:") {
			n++
		}
	}
	return n, nil
}

// dbVersion reads a screening's current version (seat_feed) straight from the database.
func (e *ticketEnv) dbVersion(t *testing.T, screening string) int64 {
	t.Helper()
	var v int64
	err := e.db.QueryRow(context.Background(),
		`SELECT coalesce((SELECT version FROM seat_feed WHERE screening_id = $1), 0)`, screening).Scan(&v)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// followers are streams of one screening, each read by a goroutine of its own that applies its
// events to its own liveMap, as a thousand browsers would.
type followers struct {
	subs    []*follower
	wg      sync.WaitGroup
	closing atomic.Bool
	errs    chan error // one per failed follower at most
	once    sync.Once
}

type follower struct {
	s    *sseStream
	live *liveMap     // the follower's goroutine's until stop
	last atomic.Int64 // live.version, for the test to watch
}

// startFollowers opens n streams of m's screening from its current version, stream i to base(i)
// (at most 64 connecting at a time), and returns once every one has read ready, which must be
// at m's version (nothing changes the screening meanwhile). Every read is bounded by deadline;
// the streams are closed, at the latest, when the test ends.
func startFollowers(t *testing.T, n int, base func(i int) string, m tkSeatMap, deadline time.Time) *followers {
	t.Helper()
	f := &followers{subs: make([]*follower, n), errs: make(chan error, n)}
	t.Cleanup(f.stop)
	var ready sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := range f.subs {
		fl := &follower{}
		f.subs[i] = fl
		f.wg.Add(1)
		ready.Add(1)
		go func() {
			defer f.wg.Done()
			sem <- struct{}{}
			s, err := openStream(context.Background(), base(i), m.ScreeningID, "", deadline)
			var v int64
			if err == nil {
				if v, err = s.ready(); err == nil && v != m.Version {
					err = fmt.Errorf("ready at version %d, want the seat map's %d", v, m.Version)
				}
				if err != nil {
					s.close()
				}
			}
			<-sem
			if err != nil {
				f.errs <- fmt.Errorf("stream %d (%s): %w", i, base(i), err)
				ready.Done()
				return
			}
			fl.s, fl.live = s, newLiveMap(m.ScreeningID, v, m.status())
			fl.last.Store(v)
			ready.Done()
			for {
				ev, err := s.next()
				if err == nil {
					err = fl.live.apply(ev)
				}
				if err != nil {
					if !f.closing.Load() {
						f.errs <- fmt.Errorf("stream %d (%s): %w", i, base(i), err)
					}
					return
				}
				fl.last.Store(fl.live.version)
			}
		}()
	}
	ready.Wait()
	f.check(t)
	return f
}

// check fails the test if a follower failed.
func (f *followers) check(t *testing.T) {
	t.Helper()
	var errs []string
	for len(f.errs) > 0 && len(errs) < 5 {
		errs = append(errs, (<-f.errs).Error())
	}
	if len(errs) > 0 {
		t.Fatalf("live seat map streams failed:\n%s", strings.Join(errs, "\n"))
	}
}

// await waits until every follower has read version v (bounded by timeout) and returns how long
// that took; it fails the test when a follower failed.
func (f *followers) await(t *testing.T, v int64, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		f.check(t)
		behind, lowest := 0, v
		for _, fl := range f.subs {
			if l := fl.last.Load(); l < v {
				behind++
				lowest = min(lowest, l)
			}
		}
		if behind == 0 {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("%d of %d streams have not read version %d after %s (the lowest is at %d)", behind, len(f.subs), v, timeout, lowest)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stop closes every stream and waits for the followers' goroutines; their liveMaps are the
// test's afterwards.
func (f *followers) stop() {
	f.once.Do(func() {
		f.closing.Store(true)
		for _, fl := range f.subs {
			if fl.s != nil {
				fl.s.close()
			}
		}
		f.wg.Wait()
	})
}

// outbox returns the seats of each of a screening's events after version after, read from the
// database (seat_log), as liveEvent.seats renders them.
func (e *ticketEnv) outbox(t *testing.T, screening string, after int64) map[int64]string {
	t.Helper()
	rows, err := e.db.Query(context.Background(),
		`SELECT version, seats FROM seat_log WHERE screening_id = $1 AND version > $2 ORDER BY version`, screening, after)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var v int64
		var raw []byte
		if err := rows.Scan(&v, &raw); err != nil {
			t.Fatal(err)
		}
		var seats map[string]string
		if err := json.Unmarshal(raw, &seats); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, 0, len(seats))
		for id, st := range seats {
			parts = append(parts, id+"="+st)
		}
		slices.Sort(parts)
		out[v] = strings.Join(parts, ",")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// loadAverage is the machine's load average (1, 5, 15 minutes), for the record.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// settledMap reads a screening's seat map once every change committed before is numbered (the
// sequencer numbers seat events a moment after they commit): its version then counts them all.
func (o *oxEnv) settledMap(t *testing.T, c *client, screening string) tkSeatMap {
	t.Helper()
	waitFor(t, guard, func() bool {
		return o.count(t, `SELECT count(*) FROM seat_events WHERE screening_id = $1`, screening) == 0
	})
	return seatMap(t, c, screening)
}
