package main

import (
	"testing"
	"time"
)

const wrkSample = `Running 10s test @ http://127.0.0.1:40001/v1/session
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.61ms    1.23ms  31.02ms   87.10%
    Req/Sec    13.92k   612.44    15.01k    71.00%
  Latency Distribution
     50%  837.50us
     75%    4.90ms
     90%    5.72ms
     99%    1.02s
  138512 requests in 10.01s, 60.17MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:  13837.41
Transfer/sec:      6.01MB
`

func TestParseWrk(t *testing.T) {
	r, err := parseWrk(wrkSample)
	if err != nil {
		t.Fatal(err)
	}
	want := wrkResult{
		Requests: 138512, Elapsed: 10010 * time.Millisecond, ReqPerSec: 13837.41,
		P50: 837500 * time.Nanosecond, P99: 1020 * time.Millisecond, Non2xx: 7, SocketErrs: 3,
		SocketError: "Socket errors: connect 0, read 2, write 0, timeout 1",
	}
	if r != want {
		t.Errorf("parseWrk:\n got %+v\nwant %+v", r, want)
	}
}

func TestParseWrkWithoutLatencyFails(t *testing.T) {
	if _, err := parseWrk("  10 requests in 1.00s, 1KB read\nRequests/sec: 10.00\n"); err == nil {
		t.Error("a report without the latency distribution was accepted")
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{3}, 3}, {[]float64{4, 2}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{1, 9, 2, 4}, 3}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}
