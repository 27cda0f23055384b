package audit

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"
)

// Keeper is a Recorder that keeps events in a Store. It writes in the request path but never
// in the action's way: each write has a deadline of its own (Timeout), detached from the
// request's cancellation (a client that hangs up does not erase its trace), and a failure is
// logged at warn, once per failed event, and counted (Failures), never returned.
type Keeper struct {
	Store   Appender
	Timeout time.Duration    // per write; default 200ms
	Log     *slog.Logger     // where failures are logged; default: discarded
	Now     func() time.Time // the application clock; default time.Now

	failures atomic.Uint64
}

// Record implements Recorder. It fills the event (Fill) and gives it an ID when it has none.
func (k *Keeper) Record(ctx context.Context, e Event) {
	now := k.Now
	if now == nil {
		now = time.Now
	}
	e = Fill(ctx, e, now)
	if e.ID == "" {
		e.ID = NewID()
	}
	timeout := k.Timeout
	if timeout <= 0 {
		timeout = 200 * time.Millisecond
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if err := k.Store.Append(wctx, e); err != nil {
		k.failures.Add(1)
		if k.Log != nil {
			k.Log.LogAttrs(ctx, slog.LevelWarn, "audit event not kept", slog.String("event_id", e.ID),
				slog.String("type", string(e.Type)), slog.String("request_id", e.RequestID), slog.Any("err", err))
		}
	}
}

// Failures returns how many events could not be kept since the Keeper was made.
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
