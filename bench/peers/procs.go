package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is a process the harness started; stop ends it by its PID.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed once Wait returned
	log  *os.File      // its stderr (and stdout after the first line, for peers)
}

// procs are the processes started so far, stopped in reverse order by stopAll.
type procs struct{ list []*proc }

// start runs path with args and env (added to this process's environment), its output going to
// logPath.
func (ps *procs) start(name, logPath string, env []string, path string, args ...string) (*proc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{}), log: f}
	go func() { _ = cmd.Wait(); close(p.done) }()
	ps.list = append(ps.list, p)
	return p, nil
}

// startPeer starts a peer that prints "listening ADDR" as its first line on stdout and returns
// ADDR; all its output goes to logPath.
func (ps *procs) startPeer(ctx context.Context, name, logPath string, env []string, path string) (*proc, string, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, "", err
	}
	first := &firstLine{w: f, c: make(chan string, 1)}
	cmd := exec.Command(path, "-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = first, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, "", fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{}), log: f}
	ps.list = append(ps.list, p)
	go func() { _ = cmd.Wait(); close(p.done) }()
	select {
	case line := <-first.c:
		addr, ok := strings.CutPrefix(line, "listening ")
		if !ok {
			return p, "", fmt.Errorf("%s did not say where it listens (first line %q); see %s", name, line, logPath)
		}
		return p, addr, nil
	case <-p.done:
		return p, "", fmt.Errorf("%s exited before listening (%s); see %s", name, cmd.ProcessState, logPath)
	case <-time.After(30 * time.Second):
		return p, "", fmt.Errorf("%s did not start listening within 30 s; see %s", name, logPath)
	case <-ctx.Done():
		return p, "", ctx.Err()
	}
}

// firstLine copies everything to w and sends the first line, without its newline, on c.
type firstLine struct {
	w    io.Writer
	c    chan string
	buf  []byte
	sent bool
}

// Write is called by one goroutine at a time (exec's copy of the pipe).
func (l *firstLine) Write(b []byte) (int, error) {
	if !l.sent {
		l.buf = append(l.buf, b...)
		if i := bytes.IndexByte(l.buf, '\n'); i >= 0 {
			l.c <- strings.TrimSpace(string(l.buf[:i]))
			l.sent, l.buf = true, nil
		}
	}
	return l.w.Write(b)
}

// stop ends the process: SIGTERM, then SIGKILL after grace.
func (p *proc) stop(grace time.Duration) {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	p.log.Close()
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stopAll stops every process started, the last started first.
func (ps *procs) stopAll() {
	for i := len(ps.list) - 1; i >= 0; i-- {
		ps.list[i].stop(5 * time.Second)
	}
	ps.list = nil
}

// freePort asks the kernel for a free loopback port. Another process may take it before it is
// used; the harness then fails to start and says so.
func freePort() (int, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitRedis waits until a Redis server answers PING at addr.
func waitRedis(ctx context.Context, addr string, p *proc) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(time.Second))
			_, err = c.Write([]byte("PING\r\n"))
			var line string
			if err == nil {
				line, err = bufio.NewReader(c).ReadString('\n')
			}
			c.Close()
			if err == nil && strings.HasPrefix(line, "+PONG") {
				return nil
			}
		}
		if p.exited() {
			return errors.New("redis-server exited")
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server at %s did not answer PING within 10 s", addr)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// cpuTicks is the machine's busy and total time in /proc/stat's first line, in clock ticks.
type cpuTicks struct{ busy, total uint64 }

// readCPU reads /proc/stat. Busy is everything but idle and iowait (guest time is already part
// of user time, so it is not added twice).
func readCPU() (cpuTicks, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTicks{}, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return cpuTicks{}, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var v [8]uint64 // user nice system idle iowait irq softirq steal
	for i := range v {
		if v[i], err = strconv.ParseUint(f[i+1], 10, 64); err != nil {
			return cpuTicks{}, fmt.Errorf("/proc/stat: %w", err)
		}
	}
	var t cpuTicks
	for i, x := range v {
		t.total += x
		if i != 3 && i != 4 {
			t.busy += x
		}
	}
	return t, nil
}

// procTicks is a process's user + system time from /proc/PID/stat, in clock ticks.
func procTicks(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces; count after it.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return u + st, nil
}

// clockTick is the length of one clock tick (USER_HZ), from getconf; 10 ms when getconf fails
// (the value on every mainstream Linux build).
func clockTick() time.Duration {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if hz, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil && hz > 0 {
			return time.Second / time.Duration(hz)
		}
	}
	return 10 * time.Millisecond
}

// loadAvg is /proc/loadavg's first three fields.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
