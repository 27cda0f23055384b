package main

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// wrkResult is what the harness keeps of one wrk run's report.
type wrkResult struct {
	Requests    int64         // "N requests in …"
	Elapsed     time.Duration // the "in …" of that line
	ReqPerSec   float64       // "Requests/sec:"
	P50, P99    time.Duration // from "Latency Distribution" (--latency)
	Non2xx      int64         // "Non-2xx or 3xx responses:" (absent: 0)
	SocketErrs  int64         // the sum of "Socket errors:" (absent: 0)
	SocketError string        // that line as wrk printed it, if any
}

// parseWrk reads wrk 4's text report (run with --latency). It fails when a figure the harness
// needs is missing, so that a change in wrk's output cannot pass silently as zeros.
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	var haveReq, haveRPS, have50, have99 bool
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "50%":
			d, err := parseWrkDuration(f[1])
			if err != nil {
				return r, err
			}
			r.P50, have50 = d, true
		case len(f) == 2 && f[0] == "99%":
			d, err := parseWrkDuration(f[1])
			if err != nil {
				return r, err
			}
			r.P99, have99 = d, true
		case len(f) >= 4 && f[1] == "requests" && f[2] == "in":
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return r, fmt.Errorf("wrk: requests %q: %w", f[0], err)
			}
			d, err := parseWrkDuration(strings.TrimSuffix(f[3], ","))
			if err != nil {
				return r, err
			}
			r.Requests, r.Elapsed, haveReq = n, d, true
		case strings.HasPrefix(line, "Requests/sec:") && len(f) == 2:
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return r, fmt.Errorf("wrk: Requests/sec %q: %w", f[1], err)
			}
			r.ReqPerSec, haveRPS = v, true
		case strings.HasPrefix(line, "Non-2xx or 3xx responses:") && len(f) == 5:
			n, err := strconv.ParseInt(f[4], 10, 64)
			if err != nil {
				return r, fmt.Errorf("wrk: non-2xx %q: %w", f[4], err)
			}
			r.Non2xx = n
		case strings.HasPrefix(line, "Socket errors:"):
			// Socket errors: connect 0, read 0, write 0, timeout 0
			r.SocketError = line
			for i := 2; i+1 < len(f); i += 2 {
				n, err := strconv.ParseInt(strings.TrimSuffix(f[i+1], ","), 10, 64)
				if err != nil {
					return r, fmt.Errorf("wrk: %q: %w", line, err)
				}
				r.SocketErrs += n
			}
		}
	}
	if !haveReq || !haveRPS || !have50 || !have99 {
		return r, fmt.Errorf("wrk: report without requests, Requests/sec or the 50%%/99%% latencies (was --latency given?):\n%s", out)
	}
	return r, nil
}

// parseWrkDuration reads wrk's durations: a number followed by us, ms, s, m or h.
func parseWrkDuration(s string) (time.Duration, error) {
	units := []struct {
		suffix string
		d      time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil {
				break
			}
			return time.Duration(v * float64(u.d)), nil
		}
	}
	return 0, fmt.Errorf("wrk: duration %q", s)
}
