package audit

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Keeper is a Recorder that keeps events in a Store. It writes in the request path but never
// in the action's way: each write has a deadline of its own (Timeout), detached from the
// request's cancellation (a client that hangs up does not erase its trace), and a failure is
// logged at warn and counted (Failures), never returned. After a failed write the Keeper
// skips the Store for Pause, so that a Store that hangs (Redis unreachable) holds a request
// that records many events for one Timeout per Pause, not one per event: the events skipped
// count as failures, and each run of them is logged once. Repeats (Event.Repeat) are not
// kept. It is safe for concurrent use.
type Keeper struct {
	Store   Appender
	Timeout time.Duration    // per write; default 200ms
	Pause   time.Duration    // how long writes are skipped after a failed one; default 1s
	Log     *slog.Logger     // where failures are logged; default: discarded
	Now     func() time.Time // the application clock; default time.Now

	failures atomic.Uint64

	mu     sync.Mutex
	paused time.Time // writes are skipped until then (after a failure)
	told   bool      // the events skipped in this pause were logged
}

// Record implements Recorder. It fills the event (Fill) and gives it an ID when it has none.
func (k *Keeper) Record(ctx context.Context, e Event) {
	if e.Repeat {
		return
	}
	now := k.Now
	if now == nil {
		now = time.Now
	}
	e = Fill(ctx, e, now)
	if e.ID == "" {
		e.ID = NewID()
	}
	if k.skip(ctx, e, now()) {
		return
	}
	timeout := k.Timeout
	if timeout <= 0 {
		timeout = 200 * time.Millisecond
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	err := k.Store.Append(wctx, e)
	k.mu.Lock()
	if err == nil {
		k.paused = time.Time{}
	} else {
		pause := k.Pause
		if pause <= 0 {
			pause = time.Second
		}
		k.paused, k.told = now().Add(pause), false
	}
	k.mu.Unlock()
	if err != nil {
		k.failures.Add(1)
		if k.Log != nil {
			k.Log.LogAttrs(ctx, slog.LevelWarn, "audit event not kept", slog.String("event_id", e.ID),
				slog.String("type", string(e.Type)), slog.String("request_id", e.RequestID), slog.Any("err", err))
		}
	}
}

// skip reports whether writes are paused at t, after a failure; then it counts e as a failure
// and logs it when it is the first skipped in this pause.
func (k *Keeper) skip(ctx context.Context, e Event, t time.Time) bool {
	k.mu.Lock()
	paused, until, first := t.Before(k.paused), k.paused, !k.told
	if paused {
		k.told = true
	}
	k.mu.Unlock()
	if !paused {
		return false
	}
	k.failures.Add(1)
	if first && k.Log != nil {
		k.Log.LogAttrs(ctx, slog.LevelWarn, "audit events not kept: writes paused after a failure",
			slog.String("event_id", e.ID), slog.String("type", string(e.Type)),
			slog.String("request_id", e.RequestID), slog.Time("until", until))
	}
	return true
}

// Failures returns how many events could not be kept since the Keeper was made: each failed
// write and each event skipped after one, once (repeats are not failures).
func (k *Keeper) Failures() uint64 { return k.failures.Load() }

// Stamp is a Recorder that completes each event once — request circumstances and time (Fill)
// and a new ID — before handing it to Next, so that every destination shows the same event
// under the same ID.
type Stamp struct {
	Next Recorder
	Now  func() time.Time // the application clock; default time.Now
}

// Record implements Recorder.
func (s Stamp) Record(ctx context.Context, e Event) {
	now := s.Now
	if now == nil {
		now = time.Now
	}
	e = Fill(ctx, e, now)
	if e.ID == "" {
		e.ID = NewID()
	}
	s.Next.Record(ctx, e)
}

// NewID returns a new random event ID: 26 characters of [a-z2-7] (128 bits).
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}
