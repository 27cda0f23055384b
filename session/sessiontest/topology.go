package sessiontest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// fastSync returns the arguments that make a primary sync a replica as soon as the replica
// asks: by default redis-server first waits repl-diskless-sync-delay (5 s) for more replicas to
// share the transfer, a fixed pause that spends a test's time, and its deadlines, for nothing.
func fastSync() []string { return []string{"--repl-diskless-sync-delay", "0"} }

// syncTimeout bounds the wait for a replica's first sync, which takes about a second (a replica
// connects from its once-a-second cron): a guard against a hang, far above what a loaded machine
// needs (no test measures it).
const syncTimeout = 30 * time.Second

// StartReplicated starts a primary and one replica of it (redis-server required; skipped without
// it unless RequireServer) and returns once the replica has synced, so that it can acknowledge
// the primary's writes (WAIT). Both are stopped when the test ends.
func StartReplicated(t testing.TB) (primary, replica *Redis) {
	t.Helper()
	primary = StartServer(t, fastSync()...)
	_, port, _ := net.SplitHostPort(primary.Addr)
	replica = StartServer(t, "--replicaof", "127.0.0.1", port)
	deadline := time.Now().Add(syncTimeout)
	for !linkUp(replica.Addr) {
		if time.Now().After(deadline) {
			t.Fatalf("the replica did not sync with its primary within %v", syncTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return primary, replica
}

// linkUp reports whether the replica on addr has synced with its primary and is connected to it.
func linkUp(addr string) bool {
	info, err := command(addr, "INFO", "replication")
	return err == nil && strings.Contains(info, "master_link_status:up")
}

// Cluster is a throwaway Redis Cluster of 3 primaries and 3 replicas on loopback.
type Cluster struct {
	Nodes []*Redis
	Addrs []string
}

// Close stops every node.
func (c *Cluster) Close() {
	for _, n := range c.Nodes {
		n.Close()
	}
}

// StartCluster starts a 6-node cluster (redis-server and redis-cli required; skipped without
// them unless RequireServer). It is stopped when the test ends.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	requireBinaries(t, "redis-server", "redis-cli")
	c, err := NewCluster(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// NewCluster starts a 6-node cluster with its files under dir; Close it.
func NewCluster(dir string) (*Cluster, error) {
	c := &Cluster{}
	for i := 0; i < 6; i++ {
		nd := filepath.Join(dir, "node"+strconv.Itoa(i))
		if err := os.MkdirAll(nd, 0o755); err != nil {
			c.Close()
			return nil, err
		}
		n, err := startOnFreePort(nd, clusterPort, func(port int) []string {
			args := []string{"--cluster-enabled", "yes",
				"--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1500"}
			return serverArgs(nd, port, append(args, fastSync()...)...)
		})
		if err != nil {
			c.Close()
			return nil, err
		}
		c.Nodes = append(c.Nodes, n)
		c.Addrs = append(c.Addrs, n.Addr)
	}
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		c.Close()
		return nil, fmt.Errorf("redis-cli --cluster create: %v\n%s", err, out)
	}
	if err := c.WaitHealthy(30 * time.Second); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// WaitHealthy waits until every live node reports cluster_state:ok with 3 primaries serving
// slots, and every live replica has synced with its primary (a replica that never synced
// cannot be promoted).
func (c *Cluster) WaitHealthy(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		ok := true
		for _, n := range c.Nodes {
			if !n.alive() {
				continue
			}
			info, err := command(n.Addr, "CLUSTER", "INFO")
			if err != nil || !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_size:3") {
				ok = false
				break
			}
			repl, err := command(n.Addr, "INFO", "replication")
			if err != nil || (strings.Contains(repl, "role:slave") && !strings.Contains(repl, "master_link_status:up")) {
				ok = false
				break
			}
		}
		if ok {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("cluster did not become healthy")
}

// Primaries returns the nodes that are primaries now.
func (c *Cluster) Primaries() []*Redis {
	var out []*Redis
	for _, n := range c.Nodes {
		if role, err := command(n.Addr, "ROLE"); err == nil && strings.HasPrefix(role, "master") {
			out = append(out, n)
		}
	}
	return out
}

// clusterPort picks a port p such that p and its cluster bus port p+10000 are free.
func clusterPort() (int, error) {
	for i := 0; i < 200; i++ {
		p := 20000 + rand.IntN(10000)
		if free(p) && free(p+10000) {
			return p, nil
		}
	}
	return 0, errors.New("no free port pair for a cluster node")
}

func free(port int) bool {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// Sentinel is a throwaway primary, one replica and three sentinels watching them.
type Sentinel struct {
	Master    string
	Primary   *Redis
	Replica   *Redis
	Sentinels []*Redis
	Addrs     []string // the sentinels'
}

// Close stops every process.
func (s *Sentinel) Close() {
	for _, r := range append([]*Redis{s.Primary, s.Replica}, s.Sentinels...) {
		if r != nil {
			r.Close()
		}
	}
}

// StartSentinel starts the Sentinel setup; it is stopped when the test ends.
func StartSentinel(t testing.TB) *Sentinel {
	t.Helper()
	requireBinaries(t, "redis-server")
	s, err := NewSentinel(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// NewSentinel starts a primary, a replica and three sentinels (quorum 2, failure detected after
// 1 s) with files under dir; Close it.
func NewSentinel(dir string) (*Sentinel, error) {
	s := &Sentinel{Master: "boxoffice"}
	var err error
	// Either may become the primary that syncs the other (after a failover).
	if s.Primary, err = NewServer(mkdir(dir, "primary"), fastSync()...); err != nil {
		return nil, err
	}
	_, pport, _ := net.SplitHostPort(s.Primary.Addr)
	if s.Replica, err = NewServer(mkdir(dir, "replica"), append(fastSync(), "--replicaof", "127.0.0.1", pport)...); err != nil {
		s.Close()
		return nil, err
	}
	for i := 0; i < 3; i++ {
		sd := mkdir(dir, "sentinel"+strconv.Itoa(i))
		conf := filepath.Join(sd, "sentinel.conf")
		var werr error
		sn, err := startOnFreePort(sd, FreePort, func(port int) []string {
			// A sentinel rewrites its configuration file: write it afresh for every attempt.
			text := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor %s 127.0.0.1 %s 2\n"+
				"sentinel down-after-milliseconds %s 1000\nsentinel failover-timeout %s 4000\n"+
				"sentinel parallel-syncs %s 1\n", port, sd, s.Master, pport, s.Master, s.Master, s.Master)
			if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
				werr = err
			}
			return []string{conf, "--sentinel"}
		})
		if err == nil && werr != nil {
			sn.Close()
			err = werr
		}
		if err != nil {
			s.Close()
			return nil, err
		}
		s.Sentinels = append(s.Sentinels, sn)
		s.Addrs = append(s.Addrs, sn.Addr)
	}
	// Wait for the replica to sync and every sentinel to see it and the other sentinels.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if s.ready() {
			return s, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.Close()
	return nil, errors.New("sentinel setup did not converge")
}

func (s *Sentinel) ready() bool {
	if !linkUp(s.Replica.Addr) {
		return false
	}
	for _, sn := range s.Sentinels {
		out, err := command(sn.Addr, "SENTINEL", "MASTER", s.Master)
		if err != nil || !strings.Contains(out, "num-slaves\n1") || !strings.Contains(out, "num-other-sentinels\n2") {
			return false
		}
	}
	return true
}

// MasterAddr asks a sentinel which node is the primary now.
func (s *Sentinel) MasterAddr() (string, error) {
	out, err := command(s.Sentinels[0].Addr, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", s.Master)
	if err != nil {
		return "", err
	}
	f := strings.Fields(out)
	if len(f) != 2 {
		return "", fmt.Errorf("unexpected reply %q", out)
	}
	return net.JoinHostPort(f[0], f[1]), nil
}

func mkdir(dir, name string) string {
	d := filepath.Join(dir, name)
	_ = os.MkdirAll(d, 0o755)
	return d
}

func requireBinaries(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		requireBinary(t, n, "Debian package redis-server (redis-cli comes with redis-tools)", RequireServer())
	}
}

// command runs one command on a node and renders the reply as text: arrays one element per
// line (nested arrays flattened), maps as key and value lines.
func command(addr string, args ...string) (string, error) {
	c := redis.NewClient(&redis.Options{Addr: addr, DisableIdentity: true, DialTimeout: time.Second,
		ReadTimeout: time.Second, MaxRetries: -1, Protocol: 2})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	a := make([]any, len(args))
	for i, s := range args {
		a[i] = s
	}
	v, err := c.Do(ctx, a...).Result()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	var render func(any)
	render = func(v any) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				render(e)
			}
		default:
			fmt.Fprintf(&b, "%v\n", x)
		}
	}
	render(v)
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// alive reports whether the node answers PING.
func (r *Redis) alive() bool { return ping(r.Addr) == nil }
