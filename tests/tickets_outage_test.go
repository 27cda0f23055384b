package tests

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"
)

// cutProxy forwards TCP to PostgreSQL until cut: then every connection through it is closed
// and new ones are closed as soon as they are accepted (refuse), or nothing moves through any
// connection, old or new (stall: a database that hangs). restore lets new connections through
// again (connections cut or stalled stay dead: the pool opens new ones).
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	mode   string // "pass", "refuse" or "stall"
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

func startCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, mode: "pass", conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *cutProxy) addr() string { return p.ln.Addr().String() }

func (p *cutProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		mode := p.mode
		if mode == "refuse" {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c] = true
		p.mu.Unlock()
		if mode == "stall" {
			continue // held open, never answered; closed by restore or close
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			p.drop(c)
			continue
		}
		p.mu.Lock()
		p.conns[s] = true
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(s, c)
		go p.pipe(c, s)
	}
}

// pipe copies src to dst until either fails, holding every chunk while the proxy stalls.
func (p *cutProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	defer p.drop(dst)
	defer p.drop(src)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			for {
				p.mu.Lock()
				mode, alive := p.mode, p.conns[src]
				p.mu.Unlock()
				if !alive || mode == "refuse" {
					return
				}
				if mode != "stall" {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *cutProxy) drop(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

// cut closes every connection (refuse) or freezes them (stall).
func (p *cutProxy) cut(mode string) {
	p.mu.Lock()
	p.mode = mode
	var conns []net.Conn
	if mode == "refuse" {
		for c := range p.conns {
			conns = append(conns, c)
		}
	}
	p.mu.Unlock()
	for _, c := range conns {
		p.drop(c)
	}
}

// restore closes what was cut or stalled and lets new connections through.
func (p *cutProxy) restore() {
	p.mu.Lock()
	p.mode = "pass"
	var conns []net.Conn
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		p.drop(c)
	}
}

func (p *cutProxy) close() {
	p.ln.Close()
	p.restore()
	p.wg.Wait()
}

// TestTicketsPostgresDown: an instance reaches PostgreSQL through a proxy the test controls
// (it migrated and served the catalogue through it). When the database is cut off — every
// connection closed and new ones refused, then a database that hangs — the ticket routes
// answer 503 service_unavailable with Retry-After, never a 500 and never a 201 for a hold not
// stored, while the session routes keep working; once the database is back they answer 200
// again.
func TestTicketsPostgresDown(t *testing.T) {
	skipShort(t, "the PostgreSQL outage")
	var proxy *cutProxy
	e := ticketDeploymentVia(t, 1, map[string]string{"BOXOFFICE_REQUEST_TIMEOUT": "3s"}, func(dbURL string) string {
		proxy = startCutProxy(t, pgHostPort(t, dbURL))
		return replaceHost(t, dbURL, proxy.addr())
	})
	c := e.d.inst(0)
	sc := e.newScreening(t)
	name, pw := newUser(t, c)
	u := login(t, c, name, pw)
	h := mustHold(t, c, u.AccessToken, sc.ID, "A1", "A2")
	expect(t, c.do(t, "DELETE", "/v1/holds/"+h.ID, u.AccessToken, nil), 204, "")

	for _, mode := range []string{"refuse", "stall"} {
		t.Run(mode, func(t *testing.T) {
			proxy.cut(mode)
			restored := false
			defer func() {
				if !restored {
					proxy.restore()
				}
			}()
			rounds := 3 // a refused connection fails fast: the pool is tried in several states
			if mode == "stall" {
				rounds = 1 // each answer waits for the request's deadline (3 s)
			}
			for i := 0; i < rounds; i++ {
				for _, req := range []struct{ method, path, token string }{
					{"GET", "/v1/screenings/" + sc.ID + "/seats", ""},
					{"GET", "/v1/screenings/" + sc.ID, ""},
					{"GET", "/v1/movies", ""},
					{"GET", "/v1/holds/" + h.ID, u.AccessToken},
				} {
					r := c.do(t, req.method, req.path, req.token, nil)
					expect(t, r, 503, "service_unavailable")
					retryAfter(t, r)
				}
				r, _ := hold(t, c, u.AccessToken, sc.ID, "A3", "A4")
				expect(t, r, 503, "service_unavailable")
				retryAfter(t, r)
				// Sessions live in Redis: they keep working.
				expect(t, c.do(t, "GET", "/v1/session", u.AccessToken, nil), 200, "")
			}
			other := login(t, c, name, pw)
			expect(t, c.do(t, "GET", "/v1/me", other.AccessToken, nil), 200, "")
			expect(t, c.do(t, "POST", "/v1/auth/logout", other.AccessToken, nil), 204, "")

			proxy.restore()
			restored = true
			// Back: the pool opens new connections; until it has, answers are still 503.
			deadline := time.Now().Add(guard)
			for {
				r := c.do(t, "GET", "/v1/screenings/"+sc.ID+"/seats", "", nil)
				if r.status == 200 {
					break
				}
				expect(t, r, 503, "service_unavailable")
				if time.Now().After(deadline) {
					t.Fatalf("the seat map still answers %d %s after the database came back", r.status, r.body)
				}
				time.Sleep(100 * time.Millisecond)
			}
			noHolds := seatMap(t, c, sc.ID)
			seatsAre(t, noHolds, "available", "A3", "A4")
			var n int
			if err := e.db.QueryRow(context.Background(), `SELECT count(*) FROM holds WHERE screening_id = $1 AND status = 'active'`, sc.ID).Scan(&n); err != nil || n != 0 {
				t.Fatalf("%d active holds stored during the outage (%v)", n, err)
			}
			h2 := mustHold(t, c, u.AccessToken, sc.ID, "A3", "A4")
			expect(t, c.do(t, "DELETE", "/v1/holds/"+h2.ID, u.AccessToken, nil), 204, "")
		})
	}
	e.d.checkLogs(t, `"status":500`)
}

// retryAfter fails unless the reply's Retry-After is a positive number of seconds.
func retryAfter(t *testing.T, r reply) {
	t.Helper()
	if n, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || n < 1 {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
}
