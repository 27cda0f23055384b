package session

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestClientLogIsJSONAndBounded: go-redis' lines become JSON warnings with component "redis",
// at most burst per second, and the next line says how many were dropped.
func TestClientLogIsJSONAndBounded(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(1000, 0)
	l := &clientLog{log: slog.New(slog.NewJSONHandler(&buf, nil)), burst: 2, now: func() time.Time { return now }}
	for i := 0; i < 5; i++ {
		l.Printf(context.Background(), "redis: connection pool: failed to dial after %d attempts: %v", 1, "dial tcp 127.0.0.1:1: connect: connection refused")
	}
	now = now.Add(time.Second)
	l.Printf(context.Background(), "redis: %s", "back")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 lines (2 + the one after the window), got:\n%s", buf.String())
	}
	var recs []map[string]any
	for _, line := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		recs = append(recs, m)
	}
	if recs[0]["level"] != "WARN" || recs[0]["component"] != "redis" ||
		recs[0]["msg"] != "connection pool: failed to dial after 1 attempts: dial tcp 127.0.0.1:1: connect: connection refused" {
		t.Fatalf("first line %v", recs[0])
	}
	if recs[2]["msg"] != "back" || recs[2]["suppressed"] != float64(3) {
		t.Fatalf("line after the window %v", recs[2])
	}
	if _, ok := recs[1]["suppressed"]; ok {
		t.Fatalf("nothing was suppressed before line 2: %v", recs[1])
	}
}
