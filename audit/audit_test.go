package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"boxoffice/audit"
)

// memory keeps appended events, or fails with err.
type memory struct {
	mu     sync.Mutex
	events []audit.Event
	err    error
	ctxErr error // the append context's error when it was called
}

func (m *memory) Append(ctx context.Context, e audit.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ctxErr = ctx.Err()
	if m.err != nil {
		return m.err
	}
	m.events = append(m.events, e)
	return nil
}

var fixed = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return fixed }

// TestFill: the request's circumstances fill what the event leaves empty, the actor only when
// it is not the event's user; At and Outcome get defaults.
func TestFill(t *testing.T) {
	ctx := audit.WithRequest(context.Background(), audit.Request{IP: "198.51.100.1", UserAgent: "ua",
		RequestID: "rid", TraceID: "tid", ActorID: "admin"})
	e := audit.Fill(ctx, audit.Event{Type: audit.SessionRevoked, UserID: "u1", IP: "own"}, fixedNow)
	want := audit.Event{Type: audit.SessionRevoked, UserID: "u1", IP: "own", UserAgent: "ua", RequestID: "rid",
		TraceID: "tid", ActorID: "admin", At: fixed, Outcome: audit.Success}
	if e != want {
		t.Fatalf("Fill = %+v, want %+v", e, want)
	}
	self := audit.Fill(ctx, audit.Event{Type: audit.AuthzAdmin, UserID: "admin", Outcome: audit.Failure}, fixedNow)
	if self.ActorID != "" || self.Outcome != audit.Failure {
		t.Fatalf("an admin's own event = %+v, want no separate actor and the outcome kept", self)
	}
	if got := audit.Fill(context.Background(), audit.Event{Type: audit.LoginFail}, fixedNow); got.IP != "" || got.At != fixed {
		t.Fatalf("without a request: %+v", got)
	}
}

// TestLogLines: every event is one JSON line marked "log":"audit" with the event's fields and
// no empty ones; nothing else is written.
func TestLogLines(t *testing.T) {
	var buf bytes.Buffer
	l := audit.NewLog(&buf, fixedNow)
	ctx := audit.WithRequest(context.Background(), audit.Request{IP: "203.0.113.5", RequestID: "r1"})
	l.Record(ctx, audit.Event{ID: "e1", Type: audit.LoginFail, Outcome: audit.Failure, Reason: "unknown_user"})
	l.Record(context.Background(), audit.Event{Type: audit.UserCreated, UserID: "u2"})
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %q", len(lines), buf.String())
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatalf("not JSON: %q", lines[0])
	}
	for k, v := range map[string]any{"log": "audit", "msg": "audit", "level": "INFO", "id": "e1",
		"type": "authn_login_fail", "outcome": "failure", "reason": "unknown_user", "ip": "203.0.113.5",
		"request_id": "r1", "at": "2026-12-01T10:00:00Z"} {
		if first[k] != v {
			t.Errorf("%s = %v, want %v (line %s)", k, first[k], v, lines[0])
		}
	}
	for _, k := range []string{"user_id", "session_id", "user_agent", "trace_id", "actor_id", "target"} {
		if _, ok := first[k]; ok {
			t.Errorf("empty field %s written: %s", k, lines[0])
		}
	}
	if _, ok := first["time"]; !ok {
		t.Errorf("no time: %s", lines[0])
	}
}

// TestKeeper: a kept event gets an ID and the request's circumstances; a failure is counted
// and logged at warn, never returned, and the write has its own deadline even when the
// request is cancelled.
func TestKeeper(t *testing.T) {
	m := &memory{}
	var logBuf bytes.Buffer
	k := &audit.Keeper{Store: m, Now: fixedNow, Log: slog.New(slog.NewJSONHandler(&logBuf, nil))}
	ctx, cancel := context.WithCancel(audit.WithRequest(context.Background(), audit.Request{RequestID: "r9"}))
	cancel() // the client hung up: the event is still kept
	k.Record(ctx, audit.Event{Type: audit.LoginSuccess, UserID: "u1"})
	if len(m.events) != 1 || m.events[0].ID == "" || m.events[0].RequestID != "r9" || m.ctxErr != nil {
		t.Fatalf("kept %+v (append context error %v)", m.events, m.ctxErr)
	}
	m.err = errors.New("redis down")
	k.Record(ctx, audit.Event{Type: audit.LoginFail})
	k.Record(ctx, audit.Event{Type: audit.LoginFail}) // skipped: the Keeper pauses after a failure
	if k.Failures() != 2 {
		t.Fatalf("Failures = %d, want 2", k.Failures())
	}
	if n := strings.Count(logBuf.String(), `"level":"WARN","msg":"audit event not kept"`); n != 1 {
		t.Fatalf("%d warnings, want one for the failed write:\n%s", n, logBuf.String())
	}
	if n := strings.Count(logBuf.String(), `"level":"WARN","msg":"audit events not kept: writes paused after a failure"`); n != 1 {
		t.Fatalf("%d warnings, want one for the skipped event:\n%s", n, logBuf.String())
	}
}

// hanging is a Store that answers only when the write's deadline has passed (Redis
// blackholed), or at once with nil once up.
type hanging struct {
	calls atomic.Int64
	up    atomic.Bool
}

func (h *hanging) Append(ctx context.Context, e audit.Event) error {
	h.calls.Add(1)
	if h.up.Load() {
		return nil
	}
	<-ctx.Done()
	return ctx.Err()
}

// TestKeeperPausesAfterFailure: after a failed write the Keeper skips the Store for Pause
// (application clock), so a request recording many events while Redis hangs waits for one
// write's deadline, not one per event; every skipped event is a failure, each run of them
// logged once; after the pause it tries again; repeats are never written nor failures.
func TestKeeperPausesAfterFailure(t *testing.T) {
	h := &hanging{}
	var logBuf syncBuffer
	var offset atomic.Int64
	now := func() time.Time { return fixed.Add(time.Duration(offset.Load())) }
	k := &audit.Keeper{Store: h, Timeout: 50 * time.Millisecond, Now: now, Log: slog.New(slog.NewJSONHandler(&logBuf, nil))}
	ctx := context.Background()
	burst := func(n int) {
		for range n {
			k.Record(ctx, audit.Event{Type: audit.OrderCancelled, UserID: "u"})
		}
	}
	// One write tried means one deadline waited for (the count, not the time, is asserted).
	burst(20)
	if h.calls.Load() != 1 {
		t.Fatalf("20 events with the store hanging: %d writes tried, want 1", h.calls.Load())
	}
	if k.Failures() != 20 {
		t.Fatalf("Failures = %d, want 20", k.Failures())
	}
	offset.Add(int64(999 * time.Millisecond))
	burst(3)
	if h.calls.Load() != 1 || k.Failures() != 23 {
		t.Fatalf("within the pause: %d writes, %d failures; want 1 and 23", h.calls.Load(), k.Failures())
	}
	offset.Add(int64(time.Second))
	burst(5) // one write tried, it fails, the other 4 are skipped
	if h.calls.Load() != 2 || k.Failures() != 28 {
		t.Fatalf("after the pause: %d writes, %d failures; want 2 and 28", h.calls.Load(), k.Failures())
	}
	logs := logBuf.String()
	if n := strings.Count(logs, `"msg":"audit event not kept"`); n != 2 {
		t.Fatalf("%d failed-write warnings, want 2:\n%s", n, logs)
	}
	if n := strings.Count(logs, `"msg":"audit events not kept: writes paused after a failure"`); n != 2 {
		t.Fatalf("%d skipped-run warnings, want one per run (2):\n%s", n, logs)
	}
	h.up.Store(true)
	offset.Add(int64(2 * time.Second))
	burst(3)
	k.Record(ctx, audit.Event{Type: audit.LoginLock, Repeat: true})
	if h.calls.Load() != 5 || k.Failures() != 28 {
		t.Fatalf("store back: %d writes, %d failures; want 5 and 28 (a repeat is neither)", h.calls.Load(), k.Failures())
	}

	// Concurrent failures are each counted once.
	m := &memory{err: errors.New("redis down")}
	k = &audit.Keeper{Store: m, Now: now}
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() { defer wg.Done(); k.Record(ctx, audit.Event{Type: audit.UserCreated}) }()
	}
	wg.Wait()
	if k.Failures() != 64 {
		t.Fatalf("Failures = %d after 64 concurrent failed events", k.Failures())
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestStamp: every destination sees the same event under the same ID.
func TestStamp(t *testing.T) {
	a, b := &memory{}, &memory{}
	rec := audit.Stamp{Now: fixedNow, Next: audit.Recorders{&audit.Keeper{Store: a}, &audit.Keeper{Store: b}}}
	rec.Record(context.Background(), audit.Event{Type: audit.UserCreated, UserID: "u"})
	if len(a.events) != 1 || len(b.events) != 1 || a.events[0] != b.events[0] || len(a.events[0].ID) != 26 ||
		a.events[0].At != fixed {
		t.Fatalf("destinations got %+v and %+v", a.events, b.events)
	}
	audit.Discard{}.Record(context.Background(), audit.Event{}) // keeps nothing, does not panic
}

// TestCursor: a cursor round-trips; anything but a canonical encoding is refused.
func TestCursor(t *testing.T) {
	for _, c := range []audit.Cursor{{}, {MS: 1767225600000, Seq: 3}, {MS: 1<<63 - 1, Seq: 1<<64 - 1}} {
		got, err := audit.ParseCursor(c.String())
		if err != nil || got != c || !audit.ValidCursor(c.String()) {
			t.Fatalf("%+v: %q -> %+v, %v", c, c.String(), got, err)
		}
	}
	for _, s := range []string{"", "x", "MS0w=", "MA", "LTEtMA", "MDEtMA", "MS0wMQ", strings.Repeat("A", 65)} {
		if audit.ValidCursor(s) {
			t.Errorf("%q accepted", s)
		}
	}
}

// TestTypes: every declared type is known, nothing else is.
func TestTypes(t *testing.T) {
	if len(audit.Types()) != 13 {
		t.Fatalf("%d types", len(audit.Types()))
	}
	for _, typ := range audit.Types() {
		if !typ.Known() {
			t.Fatalf("%s unknown", typ)
		}
	}
	if audit.Type("authn_login").Known() || audit.Type("").Known() {
		t.Fatal("an undeclared type is known")
	}
	if got := (audit.Page{Limit: 500}).Size(); got != audit.MaxPageLimit {
		t.Fatalf("Size of 500 = %d", got)
	}
}

// source is a RequestSource that counts how often it is asked.
type source struct{ asked int }

func (s *source) AuditRequest() audit.Request { s.asked++; return audit.Request{IP: "192.0.2.4"} }

// TestRequestSource: a source is asked only when an event is filled.
func TestRequestSource(t *testing.T) {
	s := &source{}
	ctx := audit.WithRequestSource(context.Background(), s)
	if s.asked != 0 {
		t.Fatal("asked before any event")
	}
	if e := audit.Fill(ctx, audit.Event{Type: audit.UserCreated}, fixedNow); e.IP != "192.0.2.4" || s.asked != 1 {
		t.Fatalf("filled %+v, asked %d times", e, s.asked)
	}
}
