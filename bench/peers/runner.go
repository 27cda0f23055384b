package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// wrkRunner runs wrk against one contender and reads the CPU counters around it.
type wrkRunner struct {
	threads, conns int
	redis          *proc
	tick           time.Duration
}

func (w wrkRunner) run(ctx context.Context, c *contender, d time.Duration) (sample, error) {
	args := []string{fmt.Sprintf("-t%d", w.threads), fmt.Sprintf("-c%d", w.conns), fmt.Sprintf("-d%ds", int(d.Seconds())), "--latency"}
	if c.header != "" {
		args = append(args, "-H", c.header)
	}
	args = append(args, c.url)
	cmd := exec.CommandContext(ctx, "wrk", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out

	cpu0, err := readCPU()
	if err != nil {
		return sample{}, err
	}
	srv0, err1 := procTicks(c.server.cmd.Process.Pid)
	red0, err2 := procTicks(w.redis.cmd.Process.Pid)
	if err := errors.Join(err1, err2); err != nil {
		return sample{}, err
	}
	if err := cmd.Run(); err != nil {
		return sample{}, fmt.Errorf("wrk %s: %w\n%s", strings.Join(args, " "), err, out.String())
	}
	cpu1, err := readCPU()
	if err != nil {
		return sample{}, err
	}
	srv1, err1 := procTicks(c.server.cmd.Process.Pid)
	red1, err2 := procTicks(w.redis.cmd.Process.Pid)
	if err := errors.Join(err1, err2); err != nil {
		return sample{}, err
	}

	r, err := parseWrk(out.String())
	if err != nil {
		return sample{}, err
	}
	if r.Non2xx > 0 || r.SocketErrs > 0 || r.Requests == 0 {
		return sample{}, fmt.Errorf("%s (%s): %d non-2xx/3xx answers, %d socket errors in %d requests — the numbers would be meaningless:\n%s",
			c.key, c.url, r.Non2xx, r.SocketErrs, r.Requests, out.String())
	}
	per := func(ticks uint64) float64 {
		return float64(ticks) * float64(w.tick) / float64(time.Microsecond) / float64(r.Requests)
	}
	s := sample{
		wrk:       r,
		machineUS: per(cpu1.busy - cpu0.busy),
		serverUS:  per(srv1 - srv0),
		redisUS:   per(red1 - red0),
		wrkUS:     float64((cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())/time.Nanosecond) / 1e3 / float64(r.Requests),
	}
	if tot := cpu1.total - cpu0.total; tot > 0 {
		s.busyPct = 100 * float64(cpu1.busy-cpu0.busy) / float64(tot)
	}
	return s, nil
}
