package session_test

import (
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"boxoffice/session"
)

// observed records what the hook reports.
type observed struct {
	mu   sync.Mutex
	cmds []string
	bad  map[string]int
}

func (o *observed) ObserveRedisCommand(name string, d time.Duration, failed bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if name == "hello" || name == "client" { // a new connection's handshake (reported too)
		return
	}
	o.cmds = append(o.cmds, name)
	if failed {
		o.bad[name]++
	}
	if d < 0 {
		panic("negative duration")
	}
}

func TestObserveReportsCommands(t *testing.T) {
	backends(t, func(t *testing.T, start func(mutate ...func(*session.Config)) *env) {
		e := start()
		rdb, err := session.NewClient(session.ClientConfig{URL: e.redis.URL(), ReadTimeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer rdb.Close()
		o := &observed{bad: map[string]int{}}
		session.Observe(rdb, o)
		if err := rdb.Get(e.ctx, "bx:nothing").Err(); err != redis.Nil {
			t.Fatalf("get: %v", err)
		}
		rdb.Set(e.ctx, "bx:k", "v", time.Minute)
		if err := rdb.Incr(e.ctx, "bx:k").Err(); err == nil {
			t.Fatal("INCR of a non-number succeeded")
		}
		rdb.Pipelined(e.ctx, func(p redis.Pipeliner) error {
			p.Get(e.ctx, "bx:k")
			p.Get(e.ctx, "bx:nothing")
			return nil
		})
		o.mu.Lock()
		defer o.mu.Unlock()
		want := []string{"get", "set", "incr", "pipeline"}
		if len(o.cmds) != len(want) {
			t.Fatalf("observed %v, want %v", o.cmds, want)
		}
		for i := range want {
			if o.cmds[i] != want[i] {
				t.Fatalf("observed %v, want %v", o.cmds, want)
			}
		}
		// A nil reply is an answer, not a failure; the wrong-type error is.
		if len(o.bad) != 1 || o.bad["incr"] != 1 {
			t.Fatalf("failures %v, want incr only", o.bad)
		}
	})
}

func TestEstimateSessions(t *testing.T) {
	// The exact estimates need a Redis holding only what the test wrote: a session cache's
	// heartbeat keys, written on a timer, would be sampled too.
	t.Setenv("BOXOFFICE_SESSION_CACHE", "off")
	backends(t, func(t *testing.T, start func(mutate ...func(*session.Config)) *env) {
		e := start()
		n, err := e.store.EstimateSessions(e.ctx)
		if err != nil || n != 0 {
			t.Fatalf("empty Redis: %v, %v", n, err)
		}
		e.rdb.Set(e.ctx, "bx:throttle:x", 1, time.Minute)
		e.rdb.HSet(e.ctx, "bx:{u:a}:sessions", "x", 1) // not a session hash
		if n, err := e.store.EstimateSessions(e.ctx); err != nil || n != 0 {
			t.Fatalf("no sessions: %v, %v", n, err)
		}
		e.rdb.FlushDB(e.ctx)
		for i := range 20 {
			e.rdb.HSet(e.ctx, "bx:{u:user"+string(rune('a'+i))+"}:s:sid", "uid", "x")
		}
		if n, err := e.store.EstimateSessions(e.ctx); err != nil || n != 20 {
			t.Fatalf("only sessions: %v, %v; want exactly 20", n, err)
		}
		// Real sessions among other keys: the estimate is statistical. 30 sessions among about
		// 90 keys: 100 samples put it within 30 ± 5 standard errors (about 4 each) all but
		// never.
		e.rdb.FlushDB(e.ctx)
		for i := range 30 {
			e.login(t, "user"+string(rune('a'+i)))
		}
		keys, _ := e.rdb.DBSize(e.ctx).Result()
		n, err = e.store.EstimateSessions(e.ctx)
		if err != nil || n < 10 || n > 50 {
			t.Fatalf("30 sessions among %d keys estimated as %v (%v)", keys, n, err)
		}
		t.Logf("30 sessions among %d keys: estimate %.1f", keys, n)
	})
}
