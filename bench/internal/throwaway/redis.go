// Package throwaway starts a redis-server for a measurement tool: on a free loopback port, with
// no persistence, in a temporary directory, stopped by PID when the tool is done.
package throwaway

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis starts redis-server and returns its address and what stops it (the process, then the
// directory). It returns an error when redis-server is not installed or does not answer PING
// within 5 s.
func Redis(ctx context.Context) (addr string, stop func(), err error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", nil, errors.New("redis-server not found (apt-get install -y redis-server)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	dir, err := os.MkdirTemp("", "boxoffice-bench-redis")
	if err != nil {
		return "", nil, err
	}
	srv := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
	if err := srv.Start(); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	stop = func() { srv.Process.Kill(); srv.Wait(); os.RemoveAll(dir) }
	addr = "127.0.0.1:" + port
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	for i := 0; rdb.Ping(ctx).Err() != nil; i++ {
		if i > 100 {
			stop()
			return "", nil, errors.New("redis-server did not answer within 5s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return addr, stop, nil
}
