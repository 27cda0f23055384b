package session

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// RouteClientLogs sends go-redis' own log lines ("connection pool: failed to dial …"), which it
// otherwise prints as plain text on stderr, to log as JSON records at warn level with
// component "redis". While Redis is down go-redis logs several lines per request, so at most
// burst lines are written per second; the first line after a quiet second carries how many were
// dropped ("suppressed"). go-redis keeps one logger for the whole process (redis.SetLogger), so
// this affects every client in it: call it once, at start-up.
func RouteClientLogs(log *slog.Logger, burst int) {
	redis.SetLogger(&clientLog{log: log, burst: max(burst, 1), now: time.Now})
}

// clientLog is go-redis' Logging interface over slog, rate-limited per one-second window.
type clientLog struct {
	log   *slog.Logger
	burst int
	now   func() time.Time

	mu         sync.Mutex
	window     time.Time // start of the current one-second window
	n          int       // lines logged in it
	suppressed int       // lines dropped since the last one logged
}

func (l *clientLog) Printf(ctx context.Context, format string, v ...any) {
	l.mu.Lock()
	now := l.now()
	if now.Sub(l.window) >= time.Second {
		l.window, l.n = now, 0
	}
	if l.n >= l.burst {
		l.suppressed++
		l.mu.Unlock()
		return
	}
	l.n++
	dropped := l.suppressed
	l.suppressed = 0
	l.mu.Unlock()

	if ctx == nil {
		ctx = context.Background()
	}
	msg := strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: ")
	attrs := []slog.Attr{slog.String("component", "redis")}
	if dropped > 0 {
		attrs = append(attrs, slog.Int("suppressed", dropped))
	}
	l.log.LogAttrs(ctx, slog.LevelWarn, msg, attrs...)
}
