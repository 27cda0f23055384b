package tests

import (
	"bytes"
	"net"
	"sync"
	"testing"
	"time"
)

// stallProxy forwards TCP between boxoffice and Redis. Once armed, the first command that
// carries marker goes through, and then nothing moves in either direction for hold: Redis
// has executed that command but nobody hears back, as when Redis stalls right after a write.
type stallProxy struct {
	ln        net.Listener
	target    string
	marker    []byte
	hold      time.Duration
	mu        sync.Mutex
	armed     bool
	until     time.Time
	triggered chan struct{}
	conns     []net.Conn
}

func startStallProxy(t *testing.T, target string, marker string, hold time.Duration) *stallProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln, target: target, marker: []byte(marker), hold: hold, triggered: make(chan struct{})}
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *stallProxy) addr() string { return p.ln.Addr().String() }

func (p *stallProxy) arm() {
	p.mu.Lock()
	p.armed = true
	p.mu.Unlock()
}

func (p *stallProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		go p.copy(s, c, true)
		go p.copy(c, s, false)
	}
}

func (p *stallProxy) copy(dst, src net.Conn, inspect bool) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			trigger := false
			p.mu.Lock()
			if inspect && p.armed && bytes.Contains(buf[:n], p.marker) {
				p.armed, trigger = false, true
				p.until = time.Now().Add(p.hold)
				close(p.triggered)
			}
			until := p.until
			p.mu.Unlock()
			if !trigger {
				time.Sleep(time.Until(until))
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

func (p *stallProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}
