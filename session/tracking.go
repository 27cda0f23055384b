package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// link is the cache's invalidation link: one connection of its own to the Redis primary that
// turned on broadcast tracking (CLIENT TRACKING ON BCAST) of every key under "<prefix>{u:",
// redirected to itself, and subscribed to __redis__:invalidate. Redis then names every such
// key that changes — written by any script or command of any instance or tool, expired or
// evicted — so no writer can forget to invalidate. A heartbeat key written every Heartbeat
// through the ordinary client and echoed on the link proves the link current; see serving.
type link struct {
	opt       *redis.Options // how to reach and authenticate to the primary
	rdb       *redis.Client  // writes the heartbeats
	prefix    string
	cache     *cache
	now       func() time.Time
	staleness time.Duration
	heartbeat time.Duration
	hbPrefix  string // "<prefix>{u:~cache}:hb:<instance>:"; '~' is never in a user id
	log       *slog.Logger

	// fresh is the Now at which the newest heartbeat echoed on the current connection was
	// written: every change Redis applied before it has been applied here. nil while there is
	// no subscribed connection. Compared with the Now of a read, so with the monotonic clock
	// in production (a step of the wall clock cannot stretch the bound).
	fresh atomic.Pointer[time.Time]
	// busy is set before the reader takes bytes off the socket and cleared once it has applied
	// all of them, so "nothing unread on the socket and not busy" means every invalidation
	// that reached this host has been applied.
	busy atomic.Bool
	fd   atomic.Int64 // the socket's descriptor when it is plain TCP, else -1
	// epoch changes whenever the connection changes or is dropped: serving refuses when it
	// moved while it looked (the descriptor it polled may have been closed and reused), and a
	// reader applies echoes only while its connection is the current one.
	epoch  atomic.Uint64
	echoAt atomic.Int64 // monotonic ns since base of the last echo, for the watchdog
	base   time.Time

	// up asks beat for a heartbeat now: a new connection serves once one echoes on it, and
	// need not wait for the next tick. Buffered (1); setConn sends without blocking.
	up chan struct{}

	mu   sync.Mutex
	conn net.Conn // the current connection, closed by the watchdog
	seq  uint64   // heartbeats written
	sent [64]struct {
		seq uint64
		at  time.Time
	} // the write time (Now) of recent heartbeats
}

// serving reports whether cached entries may be served at now. It is called before every
// lookup: first whether invalidations wait unread (on the socket, or read and not yet
// applied), then whether the link proved itself current within the staleness bound.
func (l *link) serving(now time.Time) bool {
	e := l.epoch.Load()
	if fd := l.fd.Load(); fd >= 0 && pending(int(fd)) {
		return false
	}
	if l.busy.Load() {
		return false
	}
	f := l.fresh.Load()
	return f != nil && now.Sub(*f) <= l.staleness && l.epoch.Load() == e
}

// run keeps the link up until ctx is done: it connects, flushes the cache (nothing read before
// the subscription can be trusted), applies invalidations until the connection fails or the
// watchdog closes it, flushes again and reconnects with backoff.
func (l *link) run(ctx context.Context) {
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		conn, err := l.connect(ctx)
		if err == nil {
			l.cache.flush()
			l.setConn(conn)
			l.log.Info("session cache: invalidation link up")
			backoff = 50 * time.Millisecond
			err = l.read(ctx, conn)
			l.drop(conn)
			l.setConn(nil)
			l.cache.flush()
		}
		if ctx.Err() != nil {
			return
		}
		l.log.Warn("session cache: invalidation link down; reads go to Redis", "error", err.Error())
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// setConn makes conn (nil: none) the current connection; nothing is served until a heartbeat
// comes back on it.
func (l *link) setConn(conn net.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.epoch.Add(1)
	l.fresh.Store(nil)
	l.busy.Store(false)
	l.conn = conn
	l.fd.Store(-1)
	if tc, ok := conn.(*net.TCPConn); ok {
		if rc, err := tc.SyscallConn(); err == nil {
			_ = rc.Control(func(fd uintptr) { l.fd.Store(int64(fd)) })
		}
	}
	l.echoAt.Store(int64(time.Since(l.base)))
	if conn != nil {
		select {
		case l.up <- struct{}{}:
		default: // a heartbeat is already asked for
		}
	}
}

// drop stops serving from conn and closes it, unless it is no longer the current connection.
// The descriptor is forgotten before it is closed, so serving never trusts a reused one.
func (l *link) drop(conn net.Conn) {
	l.mu.Lock()
	if l.conn == conn {
		l.epoch.Add(1)
		l.fresh.Store(nil)
		l.fd.Store(-1)
	}
	l.mu.Unlock()
	_ = conn.Close()
}

// connect dials the primary (through the client's own dialer: TLS and Sentinel included),
// authenticates, selects the database, turns tracking on and subscribes.
func (l *link) connect(ctx context.Context) (net.Conn, error) {
	timeout := max(l.opt.DialTimeout, time.Second)
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := l.opt.Dialer(dctx, l.opt.Network, l.opt.Addr)
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(timeout))
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	var cmd []byte
	n := 1
	switch {
	case l.opt.Password != "" && l.opt.Username != "":
		cmd, n = appendCommand(cmd, "AUTH", l.opt.Username, l.opt.Password), n+1
	case l.opt.Password != "":
		cmd, n = appendCommand(cmd, "AUTH", l.opt.Password), n+1
	}
	if l.opt.DB != 0 {
		cmd, n = appendCommand(cmd, "SELECT", strconv.Itoa(l.opt.DB)), n+1
	}
	cmd = appendCommand(cmd, "CLIENT", "ID")
	replies, err := roundTrip(conn, cmd, n)
	if err == nil {
		id := replies[len(replies)-1]
		cmd = appendCommand(nil, "CLIENT", "TRACKING", "ON", "REDIRECT", strconv.FormatInt(id.num, 10),
			"BCAST", "PREFIX", l.prefix+"{u:")
		cmd = appendCommand(cmd, "SUBSCRIBE", trackingChannel)
		replies, err = roundTrip(conn, cmd, 2)
		if err == nil && (len(replies[1].arr) != 3 || replies[1].arr[0].str != "subscribe") {
			err = errRESP
		}
	}
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return conn, nil
}

const trackingChannel = "__redis__:invalidate"

// roundTrip writes cmd and reads n replies; an error reply is an error.
func roundTrip(conn net.Conn, cmd []byte, n int) ([]respValue, error) {
	if _, err := conn.Write(cmd); err != nil {
		return nil, err
	}
	var out []respValue
	buf := make([]byte, 0, 4096)
	for len(out) < n {
		v, used, err := parseRESP(buf)
		if err != nil {
			return nil, err
		}
		if used == 0 {
			if len(buf) == cap(buf) {
				return nil, errRESP
			}
			m, err := conn.Read(buf[len(buf):cap(buf)])
			if err != nil {
				return nil, err
			}
			buf = buf[:len(buf)+m]
			continue
		}
		if v.kind == '-' {
			return nil, fmt.Errorf("session cache: %s", v.str)
		}
		out = append(out, v)
		buf = buf[used:]
	}
	return out, nil
}

// linkBuffer bounds the bytes the reader holds: one invalidation message names at most the
// keys one Redis event-loop iteration changed.
const linkBuffer = 4 << 20

// read applies invalidations until the connection fails. On plain TCP it marks itself busy
// before each read takes bytes off the socket (see serving).
func (l *link) read(ctx context.Context, conn net.Conn) error {
	epoch := l.epoch.Load()
	stop := context.AfterFunc(ctx, func() { l.drop(conn) })
	defer stop()
	buf := make([]byte, 0, 64<<10)
	var rc syscall.RawConn
	if tc, ok := conn.(*net.TCPConn); ok && l.fd.Load() >= 0 {
		if c, err := tc.SyscallConn(); err == nil {
			rc = c
		}
	}
	for {
		if len(buf) == cap(buf) {
			if cap(buf) >= linkBuffer {
				return errors.New("session cache: invalidation message too large")
			}
			buf = append(buf, make([]byte, cap(buf))...)[:len(buf)]
		}
		var n int
		var err error
		if rc != nil {
			partial := len(buf) > 0
			rerr := rc.Read(func(fd uintptr) bool {
				l.busy.Store(true)
				n, err = syscall.Read(int(fd), buf[len(buf):cap(buf)])
				if err == syscall.EAGAIN || err == syscall.EINTR {
					l.busy.Store(partial)
					return false
				}
				return true
			})
			if err == nil {
				err = rerr
			}
			if err == nil && n == 0 {
				err = errors.New("EOF")
			}
		} else {
			n, err = conn.Read(buf[len(buf):cap(buf)])
			l.busy.Store(true)
		}
		if err != nil {
			return err
		}
		buf = buf[:len(buf)+n]
		used, err := l.apply(buf, epoch)
		if err != nil {
			return err
		}
		buf = buf[:copy(buf, buf[used:])]
		if len(buf) == 0 {
			l.busy.Store(false)
		}
	}
}

// apply handles every complete message in b and returns the bytes it used. Anything but an
// invalidation message means the stream is not what it should be: an error (run reconnects).
func (l *link) apply(b []byte, epoch uint64) (int, error) {
	done := 0
	for {
		v, n, err := parseRESP(b[done:])
		if err != nil {
			return 0, err
		}
		if n == 0 {
			return done, nil
		}
		done += n
		if len(v.arr) != 3 || v.arr[0].str != "message" || v.arr[1].str != trackingChannel {
			return 0, errRESP
		}
		if v.arr[2].null { // FLUSHALL or FLUSHDB
			l.cache.flush()
			continue
		}
		for _, k := range v.arr[2].arr {
			if rest, ok := strings.CutPrefix(k.str, l.hbPrefix); ok {
				l.echo(rest, epoch)
				continue
			}
			l.cache.invalidateKey(l.prefix, k.str)
		}
	}
}

// echo records that the heartbeat numbered seq came back on the connection of epoch.
func (l *link) echo(seq string, epoch uint64) {
	n, err := strconv.ParseUint(seq, 10, 64)
	if err != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	slot := l.sent[n%uint64(len(l.sent))]
	if slot.seq != n || l.epoch.Load() != epoch {
		return // an old heartbeat, or a connection dropped while this was being applied
	}
	l.echoAt.Store(int64(time.Since(l.base)))
	if f := l.fresh.Load(); f == nil || slot.at.After(*f) {
		at := slot.at
		l.fresh.Store(&at)
	}
}

// beat writes a heartbeat every Heartbeat, and at once when a connection comes up, until ctx
// is done; it closes a connection that echoed nothing for three staleness bounds (a link that
// stalled without failing).
func (l *link) beat(ctx context.Context) {
	t := time.NewTicker(l.heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-l.up:
		}
		l.mu.Lock()
		l.seq++
		seq := l.seq
		slot := &l.sent[seq%uint64(len(l.sent))]
		slot.seq, slot.at = seq, l.now()
		conn := l.conn
		l.mu.Unlock()
		hctx, cancel := context.WithTimeout(ctx, max(l.heartbeat, 100*time.Millisecond))
		_ = l.rdb.Set(hctx, l.hbPrefix+strconv.FormatUint(seq, 10), "", 2*l.staleness).Err()
		cancel()
		if conn != nil && time.Since(l.base)-time.Duration(l.echoAt.Load()) > 3*l.staleness+time.Second {
			l.drop(conn) // run reconnects
		}
	}
}
