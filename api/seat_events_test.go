package api

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sseEvent is one Server-Sent Event as a client parses it.
type sseEvent struct {
	name, id string
	data     string
}

// sseStream is a client of GET /v1/screenings/{id}/seats/events over a real connection.
type sseStream struct {
	resp   *http.Response
	r      *bufio.Reader
	events chan sseEvent
	errs   chan error
}

// serveTCP serves ts on a loopback listener (streams need a real connection: Fiber's Test
// reads whole answers) and returns its base URL.
func serveTCP(tb testing.TB, ts *testServer) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- ts.srv.Serve(ln) }()
	tb.Cleanup(func() {
		ts.hub.Close() // streams end, so that Shutdown does not wait for them
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = ts.srv.Shutdown(ctx)
		<-done
	})
	return "http://" + ln.Addr().String()
}

// openStream opens a stream with the given headers (name, value pairs) and reads its events in
// the background. The stream is closed when the test ends.
func openStream(tb testing.TB, url string, hdr ...string) *sseStream {
	tb.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	s := &sseStream{resp: resp, r: bufio.NewReader(resp.Body), events: make(chan sseEvent, 100), errs: make(chan error, 1)}
	tb.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 {
		return s
	}
	go func() {
		var ev sseEvent
		for {
			line, err := s.r.ReadString('\n')
			if err != nil {
				s.errs <- err
				close(s.events)
				return
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == "":
				if ev.name != "" || ev.data != "" {
					s.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
				s.events <- sseEvent{name: "comment", data: line}
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "id: "):
				ev.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return s
}

// next returns the next event other than a comment, failing after 20s.
func (s *sseStream) next(tb testing.TB) sseEvent {
	tb.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				tb.Fatalf("stream ended: %v", <-s.errs)
			}
			if ev.name != "comment" {
				return ev
			}
		case <-timeout:
			tb.Fatal("no event within 20s")
		}
	}
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

func (s *sseStream) nextSeats(tb testing.TB, name string) seatsData {
	tb.Helper()
	ev := s.next(tb)
	if ev.name != name {
		tb.Fatalf("event %q (%s), want %q", ev.name, ev.data, name)
	}
	var d seatsData
	if err := json.Unmarshal([]byte(ev.data), &d); err != nil {
		tb.Fatalf("%s data %q: %v", name, ev.data, err)
	}
	if ev.id != strconv.FormatInt(d.Version, 10) {
		tb.Fatalf("%s id %q, data version %d", name, ev.id, d.Version)
	}
	return d
}

func seatsOf(d seatsData) string {
	var parts []string
	for _, s := range d.Seats {
		parts = append(parts, s.ID+"="+s.Status)
	}
	return strings.Join(parts, " ")
}

func TestSeatEventsStream(t *testing.T) {
	w := newTicketWorld(t)
	base := serveTCP(t, w.ts)
	var m seatMapView
	w.ts.do(t, "GET", "/v1/screenings/"+w.scr+"/seats", "", "", 200, &m)
	url := base + "/v1/screenings/" + w.scr + "/seats/events"

	s := openStream(t, url)
	if s.resp.StatusCode != 200 {
		t.Fatalf("status %d", s.resp.StatusCode)
	}
	for h, want := range map[string]string{"Content-Type": "text/event-stream; charset=utf-8",
		"Cache-Control": "no-store", "X-Accel-Buffering": "no"} {
		if got := s.resp.Header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	ready := s.nextSeats(t, "ready")
	if ready.Version != m.Version || ready.ScreeningID != w.scr {
		t.Fatalf("ready %+v, seat map version %d", ready, m.Version)
	}

	w.hold(t, w.alice.AccessToken, `{"seat_ids":["C3","C4"]}`)
	d := s.nextSeats(t, "seats")
	if d.Version != m.Version+1 || seatsOf(d) != "C3=held C4=held" || d.ScreeningID != w.scr || d.At.IsZero() {
		t.Fatalf("after the hold: %+v", d)
	}
	// A hold that replaces it is one change: one version, the new seats held and the old free.
	w.hold(t, w.alice.AccessToken, `{"seat_ids":["C4","A1"]}`)
	d = s.nextSeats(t, "seats")
	if d.Version != m.Version+2 || seatsOf(d) != "A1=held C3=available C4=held" {
		t.Fatalf("after the replacing hold: %+v", d)
	}
	var after seatMapView
	w.ts.do(t, "GET", "/v1/screenings/"+w.scr+"/seats", "", "", 200, &after)
	if after.Version != d.Version {
		t.Fatalf("seat map version %d after the events, last event %d", after.Version, d.Version)
	}

	t.Run("resume after a version", func(t *testing.T) {
		r := openStream(t, url+"?after="+strconv.FormatInt(m.Version, 10))
		if got := r.nextSeats(t, "ready").Version; got != m.Version {
			t.Fatalf("ready %d", got)
		}
		if d := r.nextSeats(t, "seats"); d.Version != m.Version+1 || seatsOf(d) != "C3=held C4=held" {
			t.Fatalf("first resumed event %+v", d)
		}
		if d := r.nextSeats(t, "seats"); d.Version != m.Version+2 {
			t.Fatalf("second resumed event %+v", d)
		}
	})
	t.Run("Last-Event-ID wins over after", func(t *testing.T) {
		r := openStream(t, url+"?after=0", "Last-Event-ID", strconv.FormatInt(m.Version+1, 10))
		r.nextSeats(t, "ready")
		if d := r.nextSeats(t, "seats"); d.Version != m.Version+2 {
			t.Fatalf("resumed at %+v", d)
		}
	})
	t.Run("a version this screening never had resets", func(t *testing.T) {
		r := openStream(t, url+"?after=999999")
		r.nextSeats(t, "ready")
		if d := r.nextSeats(t, "reset"); d.Version != after.Version {
			t.Fatalf("reset to %d, want the current version %d", d.Version, after.Version)
		}
	})
}

func TestSeatEventsRefused(t *testing.T) {
	w := newTicketWorld(t)
	base := serveTCP(t, w.ts)
	for _, tc := range []struct {
		name, path, lastID string
		status             int
		code               string
	}{
		{"negative after", "/v1/screenings/" + w.scr + "/seats/events?after=-1", "", 400, "invalid_last_event_id"},
		{"leading zero", "/v1/screenings/" + w.scr + "/seats/events?after=01", "", 400, "invalid_last_event_id"},
		{"plus sign", "/v1/screenings/" + w.scr + "/seats/events?after=%2B1", "", 400, "invalid_last_event_id"},
		{"not a number", "/v1/screenings/" + w.scr + "/seats/events", "abc", 400, "invalid_last_event_id"},
		{"minus zero", "/v1/screenings/" + w.scr + "/seats/events", "-0", 400, "invalid_last_event_id"},
		{"too large", "/v1/screenings/" + w.scr + "/seats/events", "99999999999999999999", 400, "invalid_last_event_id"},
		{"unknown screening", "/v1/screenings/scr_aaaaaaaaaaaaaaaaaaaaaaaaaa/seats/events", "", 404, "not_found"},
		{"malformed screening id", "/v1/screenings/nope/seats/events", "", 404, "not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", base+tc.path, nil)
			if tc.lastID != "" {
				req.Header.Set("Last-Event-ID", tc.lastID)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			var p struct{ Code string }
			_ = json.Unmarshal(b, &p)
			if resp.StatusCode != tc.status || p.Code != tc.code || resp.Header.Get("Content-Type") != mimeProblem {
				t.Fatalf("%d %s %s, want %d %s", resp.StatusCode, resp.Header.Get("Content-Type"), b, tc.status, tc.code)
			}
		})
	}
	if n := w.ts.hub.Streams(); n != 0 {
		t.Fatalf("%d streams open after refusals", n)
	}
}

// TestSeatEventsClientLeaves: fasthttp does not say that a client left; the next heartbeat's
// write fails and the stream (and its subscription) ends.
func TestSeatEventsClientLeaves(t *testing.T) {
	ts, _ := buildTestServer(t, testServerOptions{cfg: Config{Streams: StreamConfig{Heartbeat: 50 * time.Millisecond}}, tickets: openSQLite})
	w := stockTicketWorld(t, ts)
	base := serveTCP(t, ts)
	var streams []*sseStream
	for range 5 {
		s := openStream(t, base+"/v1/screenings/"+w.scr+"/seats/events")
		s.nextSeats(t, "ready")
		streams = append(streams, s)
	}
	if n := ts.hub.Streams(); n != 5 {
		t.Fatalf("%d streams, want 5", n)
	}
	// A heartbeat arrives on an idle stream.
	select {
	case ev := <-streams[0].events:
		if ev.name != "comment" || ev.data != ": ping" {
			t.Fatalf("idle stream got %+v, want a ping comment", ev)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no heartbeat within 20s")
	}
	for _, s := range streams[:4] {
		s.resp.Body.Close()
	}
	waitFor(t, "the streams of clients that left to end", func() bool { return ts.hub.Streams() == 1 })
	// Shutdown ends the last one: its client sees the end of the stream.
	ts.hub.Close()
	select {
	case <-streams[4].errs:
	case <-time.After(20 * time.Second):
		t.Fatal("the stream did not end when the hub closed")
	}
	resp, err := http.Get(base + "/v1/screenings/" + w.scr + "/seats/events")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("a stream asked for during shutdown: %d (Retry-After %q), want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

// waitFor polls cond every 10ms for up to 20s.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
