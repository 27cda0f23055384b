package sdk_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// recorder is the tests' HTTP transport: it forwards every request to the server and counts
// them by "METHOD /path". It can also lose the answers of refreshes (the request reaches the
// server, which acts on it, but the client gets a transport error), answer refreshes itself
// with the 503 a proxy or a draining instance gives or the 429 of a throttle (the request does
// not reach the server), and slow refreshes down, and it notes whether a refresh and a logout
// were ever in flight together.
type recorder struct {
	next http.RoundTripper

	mu          sync.Mutex
	counts      map[string]int
	refreshes   []string    // the bodies of the refresh requests, in order
	refreshedAt []time.Time // when they were sent
	unavailable int         // answer this many next refreshes 503 with Retry-After: retryAfter
	tooMany     int         // answer this many next refreshes 429 with Retry-After: retryAfter
	retryAfter  string      // "1" when ""
	lost        []string    // the bodies of the answers that were lost
	loseNext    int         // lose the answers of this many next refreshes
	slowRefresh time.Duration
	inFlight    map[string]int
	overlapped  bool                // a refresh and a logout were in flight together
	auth        map[string][]string // the Authorization headers sent, by "METHOD /path"
}

func newRecorder() *recorder {
	return &recorder{next: http.DefaultTransport, counts: map[string]int{}, inFlight: map[string]int{}, auth: map[string][]string{}}
}

// client is an *http.Client over the recorder, for sdk.WithHTTPClient.
func (r *recorder) client() *http.Client { return &http.Client{Transport: r, Timeout: guard} }

func (r *recorder) count(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[key]
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counts, r.refreshes, r.refreshedAt, r.lost, r.auth = map[string]int{}, nil, nil, nil, map[string][]string{}
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	key := req.Method + " " + req.URL.Path
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	r.mu.Lock()
	r.counts[key]++
	r.auth[key] = append(r.auth[key], req.Header.Get("Authorization"))
	refresh := key == "POST /v1/auth/refresh"
	lose, slow := false, time.Duration(0)
	if refresh {
		r.refreshes = append(r.refreshes, string(body))
		r.refreshedAt = append(r.refreshedAt, time.Now())
		lose, slow = r.loseNext > 0, r.slowRefresh
		if lose {
			r.loseNext--
		}
		ra := r.retryAfter
		if ra == "" {
			ra = "1"
		}
		if r.unavailable > 0 {
			r.unavailable--
			r.mu.Unlock()
			return refused(req, http.StatusServiceUnavailable, "service_unavailable", ra), nil
		}
		if r.tooMany > 0 {
			r.tooMany--
			r.mu.Unlock()
			return refused(req, http.StatusTooManyRequests, "too_many_attempts", ra), nil
		}
	}
	r.inFlight[key]++
	if r.inFlight["POST /v1/auth/refresh"] > 0 && r.inFlight["POST /v1/auth/logout"] > 0 {
		r.overlapped = true
	}
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.inFlight[key]--
		r.mu.Unlock()
	}()

	time.Sleep(slow)
	resp, err := r.next.RoundTrip(req)
	if err != nil || !lose {
		return resp, err
	}
	answer, _ := io.ReadAll(resp.Body) // the server has acted on the request...
	resp.Body.Close()
	r.mu.Lock()
	r.lost = append(r.lost, string(answer))
	r.mu.Unlock()
	return nil, errors.New("recorder: connection reset before the answer arrived") // ...but the answer is lost
}

// refused is a problem answer to req with status and code, and Retry-After: retryAfter.
func refused(req *http.Request, status int, code, retryAfter string) *http.Response {
	body := fmt.Sprintf(`{"type":"urn:boxoffice:problem:%s","title":%q,"status":%d,"code":%q}`, code, http.StatusText(status), status, code)
	return &http.Response{
		StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/problem+json"}, "Retry-After": {retryAfter}},
		Body:   io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: req,
	}
}

// clock is a settable clock for sdk.WithClock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
