package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the server's logger and the test to share.
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

// TestRunEmbeddedServesAndStops starts the real program in embedded mode, calls it over HTTP
// and stops it by cancelling its context.
func TestRunEmbeddedServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, env(map[string]string{"BOXOFFICE_ADDR": "127.0.0.1:0"}), io.Discard, &logs)
	}()
	re := regexp.MustCompile(`"msg":"listening","addr":"([0-9.:]+)"`)
	var addr string
	for deadline := time.Now().Add(time.Minute); addr == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(logs.String()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		t.Fatalf("server did not start: %s", logs.String())
	}
	if !strings.Contains(logs.String(), "embedded in-process Redis") || !strings.Contains(logs.String(), "random key") {
		t.Fatalf("embedded mode must warn clearly: %s", logs.String())
	}
	if !strings.Contains(logs.String(), "accepts fake payments") || !strings.Contains(logs.String(), "payment webhooks are refused") {
		t.Fatalf("test payments and a missing webhook secret must be logged: %s", logs.String())
	}
	// Ready within a minute: /readyz pings Redis with a short deadline, which a loaded machine
	// may miss now and then (a 503 is then the right answer).
	status := 0
	for deadline := time.Now().Add(time.Minute); status != 200 && time.Now().Before(deadline); {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			t.Fatalf("readyz: %v", err)
		}
		resp.Body.Close()
		if status = resp.StatusCode; status != 200 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if status != 200 {
		t.Fatalf("readyz: %d for a minute", status)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("run did not stop")
	}
}

func TestRunRejectsBadConfigAndCommands(t *testing.T) {
	err := run(context.Background(), nil, env(map[string]string{"BOXOFFICE_ACCESS_TTL": "x"}), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "invalid configuration") {
		t.Fatalf("bad config: %v", err)
	}
	if err := run(context.Background(), []string{"frobnicate"}, env(nil), io.Discard, io.Discard); err == nil {
		t.Fatal("unknown command accepted")
	}
}
