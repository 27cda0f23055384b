package sessiontest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// InCI reports whether this is the CI machine (CI=true), where every suite must run: nothing is
// skipped for a missing program or for -short.
func InCI() bool { return os.Getenv("CI") == "true" }

// RequireBinary returns the path of the program name (searched on PATH, then in /usr/sbin and
// /sbin, where Debian puts daemons such as nginx). When it is missing the test fails in CI and is
// skipped elsewhere — loudly: install says how to get it.
func RequireBinary(t testing.TB, name, install string) string {
	t.Helper()
	return requireBinary(t, name, install, InCI())
}

func requireBinary(t testing.TB, name, install string, required bool) string {
	t.Helper()
	if p, err := lookPath(name); err == nil {
		return p
	}
	if required {
		t.Fatalf("%s is required in CI but not installed (%s)", name, install)
	}
	Loud(t, fmt.Sprintf("SKIPPED %s: %s is not installed (%s); CI runs it", t.Name(), name, install))
	t.SkipNow()
	return ""
}

func lookPath(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		c := filepath.Join(dir, name)
		if fi, e := os.Stat(c); e == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return c, nil
		}
	}
	return "", err
}

// Loud reports msg in the test's log, on stderr and, when there is one, on the terminal: go test
// shows neither the log nor the output of a package that passed unless run with -v, and a suite
// that never ran must not pass for one that did.
func Loud(t testing.TB, msg string) {
	t.Helper()
	t.Log(msg)
	fmt.Fprintln(os.Stderr, msg)
	if testing.Verbose() {
		return // the log and stderr are shown already
	}
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		fmt.Fprintln(tty, msg)
		tty.Close()
	}
}

// SysProcAttr returns the process attributes for a server a test starts: on Linux it is killed
// when the test binary dies (a panic or a -timeout must not leave it running; tests still stop
// every process they start, by PID). Callers may set more fields, such as Setpgid.
func SysProcAttr() *syscall.SysProcAttr { return sysProcAttr() }

// Proc is a process seen in /proc.
type Proc struct {
	PID, PPID, PGID int
	State           string // R, S, Z (a zombie: exited, never waited for), ...
	Cmd             string
}

func (p Proc) String() string {
	return fmt.Sprintf("pid %d (ppid %d, pgid %d, state %s): %s", p.PID, p.PPID, p.PGID, p.State, p.Cmd)
}

// ErrNoProc is returned where /proc is not available (not Linux): process checks are skipped.
var ErrNoProc = errors.New("sessiontest: /proc is not available")

// Processes lists the processes for which keep returns true, from /proc.
func Processes(keep func(Proc) bool) ([]Proc, error) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		return nil, ErrNoProc
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var out []Proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid pgrp ...; comm may contain spaces and parentheses.
		s := string(b)
		end := strings.LastIndexByte(s, ')')
		if end < 0 {
			continue
		}
		f := strings.Fields(s[end+1:])
		if len(f) < 3 {
			continue
		}
		p := Proc{PID: pid, State: f[0]}
		p.PPID, _ = strconv.Atoi(f[1])
		p.PGID, _ = strconv.Atoi(f[2])
		if !keep(p) {
			continue
		}
		if cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); err == nil && len(cmd) > 0 {
			p.Cmd = strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " "))
		} else {
			p.Cmd = s[strings.IndexByte(s, '(')+1 : end]
		}
		out = append(out, p)
	}
	return out, nil
}

// Children lists the live (or unreaped) child processes of this process.
func Children() ([]Proc, error) {
	me := os.Getpid()
	return Processes(func(p Proc) bool { return p.PPID == me })
}

// InGroup lists the processes of process group pgid.
func InGroup(pgid int) ([]Proc, error) {
	return Processes(func(p Proc) bool { return p.PGID == pgid })
}

// waitExit waits up to d for done to close; false when it did not.
func waitExit(done <-chan struct{}, d time.Duration) bool {
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}
