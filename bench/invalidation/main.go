// Command invalidation measures what each way of invalidating the session cache costs Redis on
// writes, the two options issue 13 named: Redis' broadcast tracking (what boxoffice uses: every
// instance's link gets every change under the users' prefix) against scripts that PUBLISH the
// changed key to a channel every instance subscribes to. It starts a throwaway redis-server on
// loopback and, for each mode, runs the same write for -d with -c concurrent writers — a Lua
// script that sets one field of a session-like hash, as every session write does — and prints
// writes per second and Redis' CPU per write (INFO cpu), with -n listening instances:
//
//	go run ./bench/invalidation [-d 5s] [-c 32] [-n 3] [-rounds 2]
//
// Modes: "none" (no listener, the floor), "tracking" (-n session caches started with
// session.Store.StartCache: CLIENT TRACKING BCAST on their own links) and "publish" (the script
// also PUBLISHes the key; -n go-redis subscribers). It stops the redis-server it started.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"boxoffice/bench/internal/throwaway"
	"boxoffice/session"
)

func main() {
	d := flag.Duration("d", 5*time.Second, "duration of each measurement")
	c := flag.Int("c", 32, "concurrent writers")
	n := flag.Int("n", 3, "listening instances")
	rounds := flag.Int("rounds", 2, "rounds over the three modes, in alternating order")
	flag.Parse()
	if err := run(*d, *c, *n, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "invalidation:", err)
		os.Exit(1)
	}
}

var (
	plain   = redis.NewScript(`redis.call('HSET', KEYS[1], 'ls', ARGV[1]) return 1`)
	publish = redis.NewScript(`redis.call('HSET', KEYS[1], 'ls', ARGV[1]) redis.call('PUBLISH', 'bx:invalidate', KEYS[1]) return 1`)
)

func run(d time.Duration, writers, listeners, rounds int) error {
	ctx := context.Background()
	addr, stop, err := throwaway.Redis(ctx)
	if err != nil {
		return err
	}
	defer stop()
	rdb := redis.NewClient(&redis.Options{Addr: addr, PoolSize: writers})
	defer rdb.Close()
	fmt.Printf("%d writers, %d listening instances, %s per run, Redis %s\n\n", writers, listeners, d, redisVersion(ctx, rdb))
	fmt.Printf("%-5s %-9s %12s %18s %14s\n", "round", "mode", "writes/s", "Redis CPU µs/write", "messages seen")
	modes := []string{"none", "tracking", "publish"}
	for r := range rounds {
		order := modes
		if r%2 == 1 {
			order = []string{"publish", "tracking", "none"}
		}
		for _, mode := range order {
			rate, cpu, seen, err := measure(ctx, addr, rdb, mode, d, writers, listeners)
			if err != nil {
				return fmt.Errorf("%s: %w", mode, err)
			}
			fmt.Printf("%-5d %-9s %12.0f %18.1f %14d\n", r+1, mode, rate, cpu, seen)
		}
	}
	return nil
}

// measure runs the writes of one mode and returns writes/s, Redis CPU µs per write and how
// many invalidation messages the listeners received (tracking: counted by the caches).
func measure(ctx context.Context, addr string, rdb *redis.Client, mode string, d time.Duration, writers, listeners int) (float64, float64, int64, error) {
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	var seen atomic.Int64
	var stores []*session.Store
	var waits []func()
	var clients []*redis.Client
	defer func() {
		stop()
		for _, w := range waits {
			w()
		}
		for _, c := range clients {
			c.Close()
		}
	}()
	script := plain
	switch mode {
	case "tracking":
		for range listeners {
			c := redis.NewClient(&redis.Options{Addr: addr})
			clients = append(clients, c)
			st, err := session.New(c, session.DefaultConfig())
			if err != nil {
				return 0, 0, 0, err
			}
			wait, err := st.StartCache(lctx, session.CacheConfig{}, nil)
			if err != nil {
				return 0, 0, 0, err
			}
			waits = append(waits, wait)
			stores = append(stores, st)
		}
		for _, st := range stores {
			for !st.CacheStats().Serving {
				time.Sleep(10 * time.Millisecond)
			}
		}
	case "publish":
		script = publish
		for range listeners {
			c := redis.NewClient(&redis.Options{Addr: addr})
			clients = append(clients, c)
			ps := c.Subscribe(lctx, "bx:invalidate")
			if _, err := ps.Receive(lctx); err != nil {
				return 0, 0, 0, err
			}
			ch := ps.Channel()
			waits = append(waits, func() { ps.Close() })
			go func() {
				for range ch {
					seen.Add(1)
				}
			}()
		}
	}
	if err := script.Load(ctx, rdb).Err(); err != nil {
		return 0, 0, 0, err
	}
	before, err := redisCPU(ctx, rdb)
	if err != nil {
		return 0, 0, 0, err
	}
	var writes atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	start := time.Now()
	for w := range writers {
		wg.Go(func() {
			key := fmt.Sprintf("bx:{u:bench%02d}:s:session", w)
			for time.Now().Before(deadline) {
				if err := script.Run(ctx, rdb, []string{key}, time.Now().UnixMilli()).Err(); err == nil {
					writes.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	after, err := redisCPU(ctx, rdb)
	if err != nil {
		return 0, 0, 0, err
	}
	n := writes.Load()
	if mode == "tracking" {
		for _, st := range stores {
			seen.Add(int64(st.CacheStats().Invalidations))
		}
	}
	return float64(n) / elapsed.Seconds(), (after - before) * 1e6 / float64(n), seen.Load(), nil
}

// redisCPU is Redis' own CPU time (user and system), in seconds.
func redisCPU(ctx context.Context, rdb *redis.Client) (float64, error) {
	info, err := rdb.Info(ctx, "cpu").Result()
	if err != nil {
		return 0, err
	}
	var sum float64
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0, err
			}
			sum += f
		}
	}
	return sum, nil
}

func redisVersion(ctx context.Context, rdb *redis.Client) string {
	info, _ := rdb.Info(ctx, "server").Result()
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			return v
		}
	}
	return "?"
}
