package tests

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"boxoffice/session/sessiontest"
	"boxoffice/tickets/ticketstest"
)

// TestWebClientInBrowser runs the reference web client (web/, served at /) in headless
// Chromium through playwright-core (web/e2e/purchase.mjs), against a realistic deployment: two
// instances with PostgreSQL (the demo catalogue) and Redis behind the reference nginx
// configuration served over HTTPS, so that the browser enforces the __Host- cookie prefixes and
// Secure cookies, with BOXOFFICE_PUBLIC_ORIGINS set to that origin. The script signs up,
// holds seats with the keyboard, pays, cancels and signs out in one browser context while a
// second one watches the seat map change live; a page of another origin on the same host tries
// state changes with the first context's cookies. This test checks the script's verdict and,
// on the server's side, that nginx logged those foreign requests refused (403) and that both
// instances served the browser. BOXOFFICE_WRITE_SCREENSHOTS=1 writes the desktop screenshot
// to docs/screenshots/web-seat-map.png.
func TestWebClientInBrowser(t *testing.T) {
	skipShort(t, "the web client's browser test")
	chromium := sessiontest.RequireBinary(t, "chromium", "Debian package chromium")
	node := sessiontest.RequireBinary(t, "node", "Debian package nodejs")
	nginxBin := sessiontest.RequireBinary(t, "nginx", "Debian package nginx")
	if _, err := os.Stat("../web/node_modules/playwright-core/package.json"); err != nil {
		msg := "web/node_modules has no playwright-core: run (cd web && npm ci --ignore-scripts)"
		if sessiontest.InCI() {
			t.Fatal(msg)
		}
		sessiontest.Loud(t, "SKIPPED "+t.Name()+": "+msg+"; CI runs it")
		t.SkipNow()
	}
	dbURL := ticketstest.PostgresURL(t) // first: its cleanup (the drop) runs last
	loadDemoCatalogue(t, dbURL)
	r := sessiontest.Start(t)
	dir := t.TempDir()
	cert, key, pool := selfSignedCert(t, dir)

	// The public origin must be known before the instances start, and nginx binds its port
	// after them: a port taken meanwhile by another process starts everything again.
	var (
		d    *deployment
		n    *nginx
		base string
	)
	for attempt := 0; ; attempt++ {
		port, err := sessiontest.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		base = fmt.Sprintf("https://127.0.0.1:%d", port)
		d = deploy(t, 2, r.URL(), map[string]string{
			"DATABASE_URL":                  dbURL,
			"BOXOFFICE_DEMO_DATA":           "false",
			"BOXOFFICE_PUBLIC_ORIGINS":      base,
			"BOXOFFICE_TRUSTED_PROXIES":     "127.0.0.1",
			"BOXOFFICE_REGISTER_MAX_PER_IP": "0",
			"BOXOFFICE_LOGIN_MAX_PER_IP":    "100000",
		})
		n, err = runNginx(t, nginxBin, tlsNginxConf(t, d, port, cert, key), port)
		if err == nil {
			break
		}
		d.stop()
		if !errors.Is(err, errPortTaken) || attempt == 5 {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		d.checkLogs(t, "DATA RACE", "panic:", "fatal error")
		if t.Failed() {
			d.dumpLogs(os.Stderr)
			fmt.Fprintf(os.Stderr, "--- nginx ---\n%s\n", n.logs())
		}
	})
	hc := &http.Client{Timeout: guard, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	t.Cleanup(hc.CloseIdleConnections)
	waitFor(t, guard, func() bool {
		resp, err := hc.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	screening, movie := cancellableScreening(t, hc, base)

	// Another origin on the same host (same site, so SameSite=Strict cookies go with its
	// requests): only the origin check stands between its page and the user's session.
	foreign := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><title>Another site</title><p>Not boxoffice.</p>")
	}))
	foreign.Config.ErrorLog = log.New(io.Discard, "", 0) // the browser's first handshake rejects its certificate
	foreign.StartTLS()
	t.Cleanup(foreign.Close)

	shots := t.TempDir()
	out, err := runBrowserScript(t, node, map[string]string{
		"BOXOFFICE_URL":   base,
		"SCREENING_ID":    screening,
		"MOVIE_ID":        movie,
		"FOREIGN_URL":     foreign.URL + "/",
		"SCREENSHOT_DIR":  shots,
		"CHROMIUM":        chromium,
		"STEP_TIMEOUT_MS": "60000",
	})
	t.Logf("web/e2e/purchase.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("web/e2e/purchase.mjs failed: %v", err)
	}
	if !strings.Contains(out, "\nPASS in ") || !strings.Contains(out, "FOREIGN-REFUSED") {
		t.Fatal("web/e2e/purchase.mjs exited 0 without reporting every check")
	}

	access, err := os.ReadFile(filepath.Join(n.dir, "access.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range []string{"POST /v1/auth/logout", "POST /v1/screenings/" + screening + "/holds"} {
		if !strings.Contains(string(access), `"`+req+` HTTP/1.1" 403 `) {
			t.Errorf("nginx logged no 403 for the foreign page's %s:\n%s", req, tailBytes(access, 3000))
		}
	}
	if !strings.Contains(string(access), `"GET /v1/screenings/`+screening+`/seats/events?after=`) {
		t.Errorf("the seat map did not follow the live stream through nginx")
	}
	if used := n.upstreams(t); len(used) != 2 {
		t.Errorf("nginx used upstreams %v, want both instances", used)
	}
	for _, f := range []string{"web-seat-map.png", "web-seat-map-phone.png"} {
		if b, err := os.ReadFile(filepath.Join(shots, f)); err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Errorf("screenshot %s: %v", f, err)
		}
	}
	if os.Getenv("BOXOFFICE_WRITE_SCREENSHOTS") == "1" && !t.Failed() {
		b, err := os.ReadFile(filepath.Join(shots, "web-seat-map.png"))
		if err == nil {
			err = os.WriteFile("../docs/screenshots/web-seat-map.png", b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Log("wrote docs/screenshots/web-seat-map.png")
	}
}

// loadDemoCatalogue runs `boxoffice demo-data` against the database, as an operator would.
func loadDemoCatalogue(t *testing.T, dbURL string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "demo-data")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL)
	cmd.SysProcAttr = sessiontest.SysProcAttr()
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "demo catalogue loaded") {
		t.Fatalf("boxoffice demo-data: %v\n%s", err, out)
	}
}

// selfSignedCert writes a certificate for 127.0.0.1 and its key into dir, and returns their
// paths and a pool that trusts the certificate.
func selfSignedCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "boxoffice e2e"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(parsed)
	return certFile, keyFile, pool
}

// tlsNginxConf is deploy/nginx.conf with the deployment's instances as its upstream servers and
// its listen line made an HTTPS listener on 127.0.0.1:port (runNginx finds no plain listen
// line to replace then).
func tlsNginxConf(t *testing.T, d *deployment, port int, cert, key string) string {
	t.Helper()
	ref, err := os.ReadFile("../deploy/nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	conf := string(ref)
	var servers []string
	for _, p := range d.procs {
		servers = append(servers, "server "+strings.TrimPrefix(p.base, "http://")+";")
	}
	old := "server boxoffice1:8080;\n    server boxoffice2:8080;\n    server boxoffice3:8080;"
	if !strings.Contains(conf, old) || strings.Count(conf, "listen 8080;") != 1 {
		t.Fatal("deploy/nginx.conf no longer has the upstream block or listen line this test replaces")
	}
	conf = strings.Replace(conf, old, strings.Join(servers, "\n    "), 1)
	return strings.Replace(conf, "listen 8080;", fmt.Sprintf("listen 127.0.0.1:%d ssl;\n    ssl_certificate %s;\n    ssl_certificate_key %s;",
		port, cert, key), 1)
}

// cancellableScreening picks a screening of the demo catalogue's Kino Mitte, Saal 1 (standard
// and premium rows, wheelchair spaces, seats D5-D10 and E7-E8 free) that starts at least three
// hours from now, so that its orders can still be cancelled. It returns its id and its movie's.
func cancellableScreening(t *testing.T, hc *http.Client, base string) (screening, movie string) {
	t.Helper()
	from := time.Now().Add(3 * time.Hour).UTC().Format(time.RFC3339)
	resp, err := hc.Get(base + "/v1/screenings?cinema_id=kino-mitte&limit=100&from=" + url.QueryEscape(from))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Items []tkScreening `json:"items"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /v1/screenings: %d %v", resp.StatusCode, err)
	}
	for _, s := range page.Items {
		if s.HallID == "kino-mitte-1" && s.Status == "scheduled" {
			return s.ID, s.MovieID
		}
	}
	t.Fatalf("the demo catalogue has no screening in kino-mitte-1 from %s: %+v", from, page.Items)
	return "", ""
}

// runBrowserScript runs web/e2e/purchase.mjs with node in its own process group, bounded in
// time, and returns its output. Whatever happens, every process of the group (node and the
// browser it started) is gone when it returns: stopped by the group's id, the node process's
// PID, when the time is up or when any outlives node.
func runBrowserScript(t *testing.T, node string, env map[string]string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(node, "e2e/purchase.mjs")
	cmd.Dir = "../web"
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = sessiontest.SysProcAttr()
	cmd.SysProcAttr.Setpgid = true
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return "", err
	}
	pgid := cmd.Process.Pid
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Minute): // far above what it needs: it only turns a hang into a failure
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
		err = errors.New("still running after 10 minutes: killed")
	}
	t.Logf("web/e2e/purchase.mjs ran for %s", time.Since(start).Round(time.Millisecond))
	deadline := time.Now().Add(guard) // the browser's processes end once node has closed it
	for {
		left, lerr := sessiontest.InGroup(pgid)
		if lerr != nil || len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			t.Errorf("processes of the browser script left after it exited: %v", left)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return out.String(), err
}
