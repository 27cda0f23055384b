package tests

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"boxoffice/session/sessiontest"
)

// nginx is a Debian nginx process running deploy/nginx.conf on loopback.
type nginx struct {
	base, dir string
	cmd       *exec.Cmd
	done      chan struct{}
}

// startNginx runs deploy/nginx.conf with its upstream servers replaced by addrs (host:port)
// and its listen port by a free one. It is stopped when the test ends.
func startNginx(t *testing.T, addrs []string) *nginx {
	t.Helper()
	return startNginxFor(t, addrs, 0)
}

// startNginxFor is startNginx with room for conns streams (live seat maps) as well: a proxied
// stream holds two connections (client and upstream) for as long as it is open, so the worker
// allows 2*conns + 512 and its descriptor limit fits them. Stopped when the test ends.
func startNginxFor(t *testing.T, addrs []string, conns int) *nginx {
	t.Helper()
	bin := sessiontest.RequireBinary(t, "nginx", "Debian package nginx")
	ref, err := os.ReadFile("../deploy/nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	conf := string(ref)
	var servers []string
	for _, a := range addrs {
		servers = append(servers, "server "+a+";")
	}
	old := "server boxoffice1:8080;\n    server boxoffice2:8080;\n    server boxoffice3:8080;"
	if !strings.Contains(conf, old) || !strings.Contains(conf, "listen 8080;") {
		t.Fatal("deploy/nginx.conf no longer has the upstream block or listen line this test replaces")
	}
	conf = strings.Replace(conf, old, strings.Join(servers, "\n    "), 1)
	// nginx cannot report a port it chose, so a free one is picked first and another process may
	// take it before nginx binds it. nginx then fails to start (it only writes its pid file once
	// it holds every listening socket), and only that failure is retried, on another port.
	for attempt := 0; ; attempt++ {
		port, err := sessiontest.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		n, err := runNginxFor(t, bin, conf, port, 2*conns+512)
		if err == nil {
			waitFor(t, guard, func() bool { return get(n.base+"/healthz") == 200 })
			return n
		}
		if !errors.Is(err, errPortTaken) || attempt == 7 {
			t.Fatal(err)
		}
	}
}

var errPortTaken = errors.New("port taken")

// runNginx starts nginx listening on port and returns once it holds the port: it is stopped
// when the test ends.
func runNginx(t *testing.T, bin, conf string, port int) (*nginx, error) {
	t.Helper()
	return runNginxFor(t, bin, conf, port, 512)
}

// runNginxFor is runNginx with conns connections per worker (and a descriptor limit to match),
// a listen backlog of 4096 (a thousand clients connecting at once are not dropped) and a
// graceful stop that waits at most 10 s for open streams.
func runNginxFor(t *testing.T, bin, conf string, port, conns int) (*nginx, error) {
	t.Helper()
	dir := t.TempDir()
	conf = strings.Replace(conf, "listen 8080;", fmt.Sprintf("listen 127.0.0.1:%d backlog=4096;", port), 1)
	conf = strings.Replace(conf, "/var/log/nginx/boxoffice.log", filepath.Join(dir, "access.log"), 1)
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // the workers must reach the test's private temporary directory
	}
	main := fmt.Sprintf(`%s
worker_processes 1;
worker_rlimit_nofile %[4]d;
worker_shutdown_timeout 10s;
daemon off;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections %[5]d; }
http {
    client_body_temp_path %[2]s/body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
%[3]s
}
`, user, dir, conf, 2*conns+64, conns)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(main), 0o644); err != nil {
		return nil, err
	}
	out, err := os.Create(filepath.Join(dir, "nginx.out"))
	if err != nil {
		return nil, err
	}
	defer out.Close() // the child has its own descriptor
	cmd := exec.Command(bin, "-c", filepath.Join(dir, "nginx.conf"), "-p", dir, "-e", filepath.Join(dir, "error.log"))
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sessiontest.SysProcAttr()
	cmd.SysProcAttr.Setpgid = true // master and workers stop together
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	n := &nginx{base: fmt.Sprintf("http://127.0.0.1:%d", port), dir: dir, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(n.done) }()
	t.Cleanup(n.stop(t))
	pidFile := filepath.Join(dir, "nginx.pid")
	deadline := time.Now().Add(guard)
	for {
		select {
		case <-n.done:
			log := n.logs()
			if strings.Contains(log, "Address already in use") {
				return nil, fmt.Errorf("nginx on port %d: %w", port, errPortTaken)
			}
			return nil, fmt.Errorf("nginx exited at start: %s\n%s", cmd.ProcessState, log)
		default:
		}
		if b, err := os.ReadFile(pidFile); err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(cmd.Process.Pid) {
			return n, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("nginx did not start within %s:\n%s", guard, n.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop returns the cleanup that stops nginx's process group (master and workers, by the
// master's PID, which is the group's id), waits for the master and checks that no worker is
// left.
func (n *nginx) stop(t *testing.T) func() {
	return func() {
		pgid := n.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGQUIT) // graceful: workers finish their requests
		select {
		case <-n.done:
		case <-time.After(guard):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-n.done
		}
		left, err := sessiontest.InGroup(pgid)
		if err == nil && len(left) > 0 {
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			t.Errorf("nginx processes left after the master exited: %v", left)
		}
	}
}

func (n *nginx) logs() string {
	var b []byte
	for _, f := range []string{"nginx.out", "error.log"} {
		x, _ := os.ReadFile(filepath.Join(n.dir, f))
		b = append(b, x...)
	}
	return string(tailBytes(b, 3000))
}

// upstreams returns the distinct upstream addresses nginx used, from its access log.
func (n *nginx) upstreams(t *testing.T) map[string]int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(n.dir, "access.log"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 7 && strings.HasPrefix(f[len(f)-3], "127.0.0.1:") {
			out[f[len(f)-3]]++
		}
	}
	return out
}

// viaNginx is a deployment whose every instance is nginx: the client never talks to boxoffice
// directly.
type viaNginx struct{ base string }

func (v viaNginx) inst(int) *client { return &client{base: v.base} }

// TestBehindNginx runs the reference nginx configuration in front of three instances and the
// whole lifecycle through it; nginx spreads the requests round-robin, and the client address
// boxoffice records is nginx's view of it, whatever the client claims.
func TestBehindNginx(t *testing.T) {
	skipShort(t, "the nginx suite")
	sessiontest.RequireBinary(t, "nginx", "Debian package nginx") // before starting anything
	d := deploy(t, 3, shared.URL(), map[string]string{
		"BOXOFFICE_TRUSTED_PROXIES": "127.0.0.1", "BOXOFFICE_REGISTER_MAX_PER_IP": "0",
	})
	var addrs []string
	for _, p := range d.procs {
		addrs = append(addrs, strings.TrimPrefix(p.base, "http://"))
	}
	n := startNginx(t, addrs)
	lb := viaNginx{n.base}
	for i := 0; i < 3; i++ {
		lifecycle(t, lb)
	}
	used := n.upstreams(t)
	if len(used) != 3 {
		t.Fatalf("nginx used upstreams %v, want all three instances", used)
	}
	name, pw := newUser(t, lb.inst(0))
	r := lb.inst(0).do(t, "POST", "/v1/auth/login", "", map[string]string{"username": name, "password": pw}, "X-Real-IP", "203.0.113.66")
	expect(t, r, 200, "")
	var tk struct{ Session struct{ IP string } }
	r.decode(t, &tk)
	if tk.Session.IP != "127.0.0.1" {
		t.Fatalf("session IP %q: a client-supplied X-Real-IP passed through nginx", tk.Session.IP)
	}
}

// TestComposeTrustsOnlyNginx reads deploy/docker-compose.yml (no Docker engine needed): every
// boxoffice instance believes X-Real-IP from exactly one address, nginx's fixed address on the
// network they share, which Docker cannot hand to another container (it lies outside the
// network's ip_range); and the instances accept browser origins from nginx's published port.
func TestComposeTrustsOnlyNginx(t *testing.T) {
	raw, err := os.ReadFile("../deploy/docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Environment map[string]string
			Networks    map[string]*struct {
				IPv4Address string `yaml:"ipv4_address"`
			}
			Ports []string
		}
		Networks map[string]struct {
			IPAM struct {
				Config []struct {
					Subnet  string
					IPRange string `yaml:"ip_range"`
				}
			}
		}
	}
	if err := yaml.Unmarshal(raw, &compose); err != nil { // aliases (*boxoffice) resolved
		t.Fatal(err)
	}
	nginx, ok := compose.Services["nginx"]
	if !ok || len(nginx.Networks) != 1 {
		t.Fatalf("nginx must be on exactly one network with a fixed address: %+v", nginx)
	}
	var netName string
	var addr netip.Addr
	for name, n := range nginx.Networks {
		if n == nil {
			t.Fatalf("nginx has no ipv4_address on network %s", name)
		}
		netName = name
		addr, err = netip.ParseAddr(n.IPv4Address)
		if err != nil || !addr.Is4() {
			t.Fatalf("nginx ipv4_address %q: %v", n.IPv4Address, err)
		}
	}
	ipam := compose.Networks[netName].IPAM.Config
	if len(ipam) != 1 {
		t.Fatalf("network %s needs one fixed ipam subnet, has %+v", netName, ipam)
	}
	subnet, err1 := netip.ParsePrefix(ipam[0].Subnet)
	pool, err2 := netip.ParsePrefix(ipam[0].IPRange)
	if err1 != nil || err2 != nil {
		t.Fatalf("network %s: subnet %q (%v), ip_range %q (%v)", netName, ipam[0].Subnet, err1, ipam[0].IPRange, err2)
	}
	if !subnet.Contains(addr) || pool.Contains(addr) || !subnet.Contains(pool.Addr()) || pool.Bits() < subnet.Bits() {
		t.Fatalf("nginx's %s must be in subnet %s and outside the ip_range %s other containers draw from (inside the subnet)", addr, subnet, pool)
	}

	published := ""
	for _, p := range nginx.Ports {
		if host, container, ok := strings.Cut(p, ":"); ok && container == "8080" { // nginx.conf: listen 8080
			published = host
		}
	}
	if published == "" {
		t.Fatalf("nginx publishes no port for its listen 8080: %v", nginx.Ports)
	}
	instances := 0
	for name, s := range compose.Services {
		if _, ok := s.Environment["BOXOFFICE_JWT_SECRET"]; !ok {
			continue
		}
		instances++
		trusted := strings.Split(s.Environment["BOXOFFICE_TRUSTED_PROXIES"], ",")
		a, err := netip.ParseAddr(strings.TrimSpace(trusted[0]))
		if p, perr := netip.ParsePrefix(strings.TrimSpace(trusted[0])); perr == nil && p.Bits() == 32 {
			a, err = p.Addr(), nil
		}
		if len(trusted) != 1 || err != nil || a != addr {
			t.Errorf("%s: BOXOFFICE_TRUSTED_PROXIES=%q, want exactly nginx's address %s (or %s/32)",
				name, s.Environment["BOXOFFICE_TRUSTED_PROXIES"], addr, addr)
		}
		if _, ok := s.Networks[netName]; !ok && !(len(s.Networks) == 0 && netName == "default") {
			t.Errorf("%s is not on nginx's network %s", name, netName)
		}
		if got, want := s.Environment["BOXOFFICE_PUBLIC_ORIGINS"], "http://localhost:"+published; got != want {
			t.Errorf("%s: BOXOFFICE_PUBLIC_ORIGINS=%q, want %q (nginx's published port)", name, got, want)
		}
	}
	if instances != 3 {
		t.Fatalf("found %d boxoffice services, want the 3 of nginx.conf's upstream", instances)
	}
}
