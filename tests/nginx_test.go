package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

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
	bin, err := exec.LookPath("nginx")
	if err != nil {
		for _, p := range []string{"/usr/sbin/nginx", "/sbin/nginx"} {
			if _, e := os.Stat(p); e == nil {
				bin, err = p, nil
			}
		}
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("nginx is required in CI (Debian package nginx)")
		}
		t.Skip("nginx not installed")
	}
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
	port, err := freePortNginx()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	conf = strings.Replace(conf, old, strings.Join(servers, "\n    "), 1)
	conf = strings.Replace(conf, "listen 8080;", fmt.Sprintf("listen 127.0.0.1:%d;", port), 1)
	conf = strings.Replace(conf, "/var/log/nginx/boxoffice.log", filepath.Join(dir, "access.log"), 1)
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // the workers must reach the test's private temporary directory
	}
	main := fmt.Sprintf(`%s
worker_processes 1;
daemon off;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 512; }
http {
    client_body_temp_path %[2]s/body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
%[3]s
}
`, user, dir, conf)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", filepath.Join(dir, "nginx.conf"), "-p", dir)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // master and workers stop together
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n := &nginx{base: fmt.Sprintf("http://127.0.0.1:%d", port), dir: dir, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(n.done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGQUIT)
		select {
		case <-n.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-n.done
		}
	})
	waitFor(t, 10*time.Second, func() bool { return get(n.base+"/healthz") == 200 })
	return n
}

func freePortNginx() (int, error) { return sessiontest.FreePort() }

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
	d, err := startDeployment(t.TempDir(), 3, shared.URL(), map[string]string{
		"BOXOFFICE_TRUSTED_PROXIES": "127.0.0.1", "BOXOFFICE_REGISTER_MAX_PER_IP": "0",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer d.stop()
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
