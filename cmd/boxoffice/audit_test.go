package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"boxoffice/audit"
)

// deadlineAppender keeps nothing and remembers the deadline each append was given.
type deadlineAppender struct{ deadlines []time.Time }

func (a *deadlineAppender) Append(ctx context.Context, _ audit.Event) error {
	dl, _ := ctx.Deadline()
	a.deadlines = append(a.deadlines, dl)
	return nil
}

// TestAuditWriteDeadlineIsRedisTimeout: an audit event is kept within the configured Redis
// timeout (REDIS_TIMEOUT), not the audit package's 200 ms default, so that a slow Redis the
// other commands wait for does not drop audit events (and pause recording for a second).
func TestAuditWriteDeadlineIsRedisTimeout(t *testing.T) {
	cfg, err := loadConfig(func(k string) string {
		return map[string]string{"BOXOFFICE_JWT_SECRET": "0123456789abcdef0123456789abcdef", "REDIS_TIMEOUT": "1h"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	store := &deadlineAppender{}
	start := time.Now()
	rec := newAuditRecorder(nil, store, cfg.RedisTimeout, slog.New(slog.DiscardHandler), time.Now, nil)
	rec.Record(context.Background(), audit.Event{Type: audit.LoginSuccess, UserID: "u1"})
	if len(store.deadlines) != 1 {
		t.Fatalf("%d appends, want 1", len(store.deadlines))
	}
	if left := store.deadlines[0].Sub(start); left < time.Hour {
		t.Fatalf("the append had %v, want REDIS_TIMEOUT (1h)", left)
	}
}
