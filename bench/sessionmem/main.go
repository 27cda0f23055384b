// Command sessionmem measures the Redis memory an idle session costs: it starts a throwaway
// redis-server on loopback, creates -n sessions through session.Store.Create (one per user, as
// a sign-in does: the session hash, the user's index and known-networks sets), and prints
// used_memory (INFO memory) per session, with MEMORY USAGE of one of each key.
//
//	go run ./bench/sessionmem -n 100000      # needs redis-server (Debian package)
//
// It stops the redis-server it started, by PID, and removes its directory.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"boxoffice/auth"
	"boxoffice/bench/internal/throwaway"
	"boxoffice/session"
)

func main() {
	n := flag.Int("n", 100000, "sessions to create")
	flag.Parse()
	if err := run(*n); err != nil {
		fmt.Fprintln(os.Stderr, "sessionmem:", err)
		os.Exit(1)
	}
}

func run(n int) error {
	ctx := context.Background()
	addr, stop, err := throwaway.Redis(ctx)
	if err != nil {
		return err
	}
	defer stop()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	store, err := session.New(rdb, session.DefaultConfig())
	if err != nil {
		return err
	}
	before, err := usedMemory(ctx, rdb)
	if err != nil {
		return err
	}
	const ua = "Mozilla/5.0 (X11; Linux x86_64) Firefox/132.0" // a typical browser's, cleaned
	var uid, sid string
	for i := range n {
		uid, sid = auth.NewID(), auth.NewID()
		_, err := store.Create(ctx, session.NewSession{ID: sid, UserID: uid, DeviceName: "Firefox on Linux",
			IP: fmt.Sprintf("198.51.%d.%d", i/256%256, i%256), UserAgent: ua, RefreshHash: auth.NewID() + auth.NewID(),
			AccessExpiresAt: time.Now().Add(5 * time.Minute), Network: fmt.Sprintf("198.51.%d.%d", i/256%256, i%256)})
		if err != nil {
			return fmt.Errorf("session %d: %w", i, err)
		}
	}
	after, err := usedMemory(ctx, rdb)
	if err != nil {
		return err
	}
	keys, _ := rdb.DBSize(ctx).Result()
	fmt.Printf("%d sessions, %d keys: used_memory %d → %d bytes, %.0f bytes per session\n",
		n, keys, before, after, float64(after-before)/float64(n))
	for _, k := range []string{"bx:{u:" + uid + "}:s:" + sid, "bx:{u:" + uid + "}:sessions", "bx:{u:" + uid + "}:nets"} {
		u, _ := rdb.MemoryUsage(ctx, k).Result()
		fields, _ := rdb.HLen(ctx, k).Result()
		fmt.Printf("  MEMORY USAGE %-48s %4d bytes (hash fields: %d)\n", k, u, fields)
	}
	return nil
}

// usedMemory is INFO memory's used_memory.
func usedMemory(ctx context.Context, rdb *redis.Client) (int64, error) {
	info, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("no used_memory in INFO memory")
}
