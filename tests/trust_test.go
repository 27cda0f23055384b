package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"boxoffice/session/sessiontest"
)

// The session guarantees that must hold under races, faults and abuse, each tried on real
// instances sharing a real Redis (SECURITY.md names each test with its guarantee).

// rawPost sends a JSON POST without a *testing.T, for request loops in other goroutines; it
// returns the status (0 when the request failed) and the body.
func rawPost(base, path, token string, body any) (int, []byte) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", base+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := httpc.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// TestTrustPasswordChangeEndsRacingLogins: two loops sign in with the old password on two
// instances while a third changes it. After the change answers 200, no session created with the
// old password is alive — including those of sign-ins that verified the old password before the
// change and created their session after it (they now fail with invalid_credentials).
func TestTrustPasswordChangeEndsRacingLogins(t *testing.T) {
	for trial := 0; trial < 4; trial++ {
		name, pw := newUser(t, fleet.inst(0))
		owner := login(t, fleet.inst(0), name, pw)
		var (
			mu       sync.Mutex
			oldOnes  []string // access tokens of sessions created with the old password
			wg       sync.WaitGroup
			stop     = make(chan struct{})
			started  = make(chan struct{}, 64)
			statuses = map[int]int{}
		)
		for w := 1; w <= 2; w++ {
			wg.Add(1)
			go func(base string) {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					status, body := rawPost(base, "/v1/auth/login", "", map[string]string{"username": name, "password": pw})
					var tk tokens
					_ = json.Unmarshal(body, &tk)
					mu.Lock()
					statuses[status]++
					if status == 200 {
						oldOnes = append(oldOnes, tk.AccessToken)
					}
					mu.Unlock()
					select {
					case started <- struct{}{}:
					default:
					}
				}
			}(fleet.procs[w].base)
		}
		for i := 0; i < 4; i++ { // the loops are signing in
			<-started
		}
		r := fleet.inst(0).do(t, "POST", "/v1/auth/password", owner.AccessToken,
			map[string]string{"current_password": pw, "new_password": pw + "-changed"})
		close(stop)
		wg.Wait()
		expect(t, r, 200, "")
		var changed tokens
		r.decode(t, &changed)
		for _, code := range []int{0, 500, 503} {
			if statuses[code] > 0 {
				t.Fatalf("trial %d: the login loops got %d answers %d: %v", trial, statuses[code], code, statuses)
			}
		}
		for i, tok := range oldOnes {
			if r := fleet.inst(i).do(t, "GET", "/v1/session", tok, nil); r.status != 401 {
				t.Fatalf("trial %d: a session created with the old password is alive after the change (%d of %d): %d %s",
					trial, i+1, len(oldOnes), r.status, r.body)
			}
		}
		expect(t, fleet.inst(1).do(t, "GET", "/v1/session", changed.AccessToken, nil), 200, "")
		t.Logf("trial %d: %d sessions created with the old password, all revoked; login answers %v", trial, len(oldOnes), statuses)
	}
}

// TestTrustPasswordChangeAllOrNothing: Redis stalls right after it wrote the new password
// hash (the answer is lost: 503). The change is all or nothing — every other session is
// already revoked with it — and the client's retry of the same request completes it: 200 with
// the moved session's tokens. (Before: the new password was live, the other sessions alive,
// and the retry got 422 "current_password is incorrect".)
//
// Only the change meets the stall: it alone is sent to an instance that reaches Redis through
// the stall proxy, with deadlines short enough to give up on the stalled answer. Everything
// else — sign-up, sign-ins, the retry (a load balancer may send it to any instance) and the
// checks — goes to an instance on Redis itself with the harness's patient deadlines: on a
// loaded machine one Redis call may take longer than 300 ms, the more so through the proxy,
// which runs in this race-instrumented test process, and would fail the test with a 503.
func TestTrustPasswordChangeAllOrNothing(t *testing.T) {
	skipShort(t, "a 3 s Redis stall")
	r := sessiontest.StartServer(t)
	c := deploy(t, 1, r.URL(), map[string]string{"BOXOFFICE_REGISTER_MAX_PER_IP": "0"}).inst(0)
	proxy := startStallProxy(t, r.Addr, "$argon2id$", 3*time.Second)
	hasty := deploy(t, 1, "redis://"+proxy.addr(), map[string]string{
		"BOXOFFICE_REQUEST_TIMEOUT": "1s", "REDIS_TIMEOUT": "300ms"}).inst(0)
	rdb := r.Client(t)
	name, pw := newUser(t, c)
	owner := login(t, c, name, pw)
	others := []tokens{login(t, c, name, pw), login(t, c, name, pw)}
	uid := owner.Session.UserID
	body := map[string]string{"current_password": pw, "new_password": pw + "-new"}

	proxy.arm()
	first := hasty.do(t, "POST", "/v1/auth/password", owner.AccessToken, body)
	if proxy.settle() {
		expect(t, first, 503, "service_unavailable")
		// The proxy forwarded the change before holding its answer: once Redis has run it (the
		// caller's session moved), every other session is revoked with it, before any retry.
		waitFor(t, guard, func() bool { return exists(t, rdb, revokedKey(uid, owner.SessionID)) })
		for _, o := range others {
			if exists(t, rdb, sessionKey(uid, o.SessionID)) || !exists(t, rdb, revokedKey(uid, o.SessionID)) {
				t.Fatalf("the change ran in Redis but left session %s alive", o.SessionID)
			}
		}
	} else { // the machine was too slow to even send the change before the deadline
		t.Logf("the change never reached Redis in the first attempt: %d %s", first.status, first.body)
	}
	retry := c.do(t, "POST", "/v1/auth/password", owner.AccessToken, body)
	expect(t, retry, 200, "")
	var moved tokens
	retry.decode(t, &moved)
	expect(t, c.do(t, "GET", "/v1/session", moved.AccessToken, nil), 200, "")
	for _, o := range append(others, owner) {
		expect(t, c.do(t, "GET", "/v1/session", o.AccessToken, nil), 401, "session_revoked")
	}
	expect(t, c.do(t, "POST", "/v1/auth/login", "", map[string]string{"username": name, "password": pw}), 401, "invalid_credentials")
	login(t, c, name, pw+"-new")
	rt := c.do(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": moved.RefreshToken})
	expect(t, rt, 200, "")
}

// settle ends the stall proxy's part once the request meant to meet the stall has been
// answered, and reports whether its marked command went through the armed proxy (and stalled).
// It decides under the lock under which the proxy decides to stall, so the answer is final.
// When it is yes, the proxy carries on: it forwarded the command when it stalled, and holds the
// answers. When it is no, nothing is forwarded any more — the listener and the connections are
// closed, and whatever is read from now on is held for the guard, longer than the rest of the
// test, even on a connection accepted at this very moment — so a change the instance gave up on
// before this busy process had read it can never reach Redis behind the test's back and race
// the retry.
func (p *stallProxy) settle() (stalled bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.triggered:
		return true
	default:
	}
	p.armed = false
	p.until = time.Now().Add(guard)
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
	return false
}

// TestTrustRefreshRetryAfterRedisStall: a refresh sent while Redis is stalled for longer than
// the grace window gets 503; the rotation runs when Redis resumes; the client's retry, as
// Retry-After told it, must get the successor — not refresh_token_reused and a revoked session.
func TestTrustRefreshRetryAfterRedisStall(t *testing.T) {
	skipShort(t, "a 12 s Redis stall")
	r := sessiontest.StartServer(t)
	d := deploy(t, 2, r.URL(), map[string]string{"BOXOFFICE_REFRESH_GRACE": "10s",
		"BOXOFFICE_REQUEST_TIMEOUT": "3s", "REDIS_TIMEOUT": "1s", "BOXOFFICE_REGISTER_MAX_PER_IP": "0"})
	name, pw := newUser(t, d.inst(0))
	tk := login(t, d.inst(0), name, pw)
	body := map[string]string{"refresh_token": tk.RefreshToken}

	r.Pause()
	stalled := time.Now()
	resumed := false
	defer func() {
		if !resumed {
			r.Resume()
		}
	}()
	for i := 0; time.Since(stalled) < 12*time.Second; i++ {
		rep := d.inst(i).do(t, "POST", "/v1/auth/refresh", "", body)
		expect(t, rep, 503, "service_unavailable")
		wait, _ := strconv.Atoi(rep.header.Get("Retry-After"))
		time.Sleep(time.Duration(wait) * time.Second)
	}
	r.Resume()
	resumed = true
	// The client retries as Retry-After says; Redis, just resumed, may still be working through
	// the queued requests.
	var rep reply
	for i := 0; i < 3; i++ {
		if rep = d.inst(1).do(t, "POST", "/v1/auth/refresh", "", body); rep.status != 503 {
			break
		}
		time.Sleep(time.Second)
	}
	expect(t, rep, 200, "")
	var next tokens
	rep.decode(t, &next)
	expect(t, d.inst(0).do(t, "GET", "/v1/session", next.AccessToken, nil), 200, "")
	expect(t, d.inst(0).do(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": next.RefreshToken}), 200, "")
}

// TestTrustRefreshGraceAcrossRotations: T0 → T1 → T2 within a second on two instances, then T0
// again on a third (a request another tab had in flight): the answer is the current token T2
// and a working access token, and the session lives on.
func TestTrustRefreshGraceAcrossRotations(t *testing.T) {
	name, pw := newUser(t, fleet.inst(0))
	tk := login(t, fleet.inst(0), name, pw)
	chain := []tokens{tk}
	for i := 0; i < 2; i++ {
		r := fleet.inst(i).do(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": chain[i].RefreshToken})
		expect(t, r, 200, "")
		var next tokens
		r.decode(t, &next)
		chain = append(chain, next)
	}
	r := fleet.inst(2).do(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": tk.RefreshToken})
	expect(t, r, 200, "")
	var late tokens
	r.decode(t, &late)
	if late.RefreshToken != chain[2].RefreshToken {
		t.Fatal("T0 presented again did not get the current refresh token T2")
	}
	expect(t, fleet.inst(0).do(t, "GET", "/v1/session", late.AccessToken, nil), 200, "")
	expect(t, fleet.inst(1).do(t, "GET", "/v1/session", chain[2].AccessToken, nil), 200, "")
	expect(t, fleet.inst(2).do(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": late.RefreshToken}), 200, "")
}

// TestTrustOwnerNotLockedOut: failures from many networks spend the account-wide window (10
// per network from 4 networks here, with a window of 20). An attacker's failures must not lock
// the owner out: from a device they signed in on (device_token) or a network they signed in
// from, the owner still gets in; an unknown device on an unknown network waits for the window.
func TestTrustOwnerNotLockedOut(t *testing.T) {
	d := deploy(t, 2, shared.URL(), map[string]string{
		"BOXOFFICE_TRUSTED_PROXIES":              "127.0.0.1",
		"BOXOFFICE_LOGIN_MAX_PER_ACCOUNT":        "5",
		"BOXOFFICE_LOGIN_MAX_PER_ACCOUNT_GLOBAL": "20",
		"BOXOFFICE_LOGIN_MAX_PER_IP":             "1000",
		"BOXOFFICE_REGISTER_MAX_PER_IP":          "0",
	})
	name, pw := newUser(t, d.inst(0))
	loginFrom := func(i int, ip, password, device string) reply {
		b := map[string]string{"username": name, "password": password}
		if device != "" {
			b["device_token"] = device
		}
		return d.inst(i).do(t, "POST", "/v1/auth/login", "", b, "X-Real-IP", ip)
	}
	home := loginFrom(0, "198.51.100.10", pw, "")
	expect(t, home, 200, "")
	var grant struct {
		DeviceToken string `json:"device_token"`
	}
	home.decode(t, &grant)
	for n := 1; n <= 4; n++ {
		for i := 0; i < 5; i++ {
			expect(t, loginFrom(i, fmt.Sprintf("203.0.113.%d", n), "wrong-password", ""), 401, "invalid_credentials")
		}
	}
	expect(t, loginFrom(0, "198.51.100.10", pw, ""), 200, "") // a network the owner used before
	locked := loginFrom(0, "192.0.2.50", pw, "")
	expect(t, locked, 429, "too_many_attempts")
	if wait, _ := strconv.Atoi(locked.header.Get("Retry-After")); wait < 60 {
		t.Fatalf("Retry-After %q for the account window", locked.header.Get("Retry-After"))
	}
	if !strings.HasPrefix(grant.DeviceToken, "bxd_") {
		t.Fatalf("no device token in %s", home.body)
	}
	expect(t, loginFrom(1, "192.0.2.50", pw, grant.DeviceToken), 200, "") // a device the owner used before
	// The exemption does not let guesses through unbounded: a device token has its own window.
	for i := 0; i < 5; i++ {
		expect(t, loginFrom(i, fmt.Sprintf("192.0.2.%d", 60+i), "wrong-password", grant.DeviceToken), 401, "invalid_credentials")
	}
	expect(t, loginFrom(0, "192.0.2.70", pw, grant.DeviceToken), 429, "too_many_attempts")
}

// TestTrustSessionCapProtectsRedis: one account signs in 120 times and fills each session's data
// to its limit against a Redis with 2 MB of memory (and 128 KiB for a small audit trail, 128 KiB
// per instance for its session cache) and noeviction. Its sessions stay capped at 50 (the least recently used revoked) and its data at
// 256 KiB in all, so Redis never fills: no answer is 503, and another user signs in and writes
// data afterwards.
func TestTrustSessionCapProtectsRedis(t *testing.T) {
	// Each instance's session cache adds its invalidation link (one more client) and its
	// heartbeat keys (about ten live at a time): 128 KiB each is ample.
	r := sessiontest.StartServer(t, "--maxmemory", "2432kb", "--maxmemory-policy", "noeviction")
	// The audit trail shares the Redis, bounded per user and in all (the global stream holds up
	// to about 100 entries more than its bound): a trail this small fits in the 128 KiB.
	d := deploy(t, 2, r.URL(), map[string]string{"BOXOFFICE_REGISTER_MAX_PER_IP": "0",
		"BOXOFFICE_LOGIN_MAX_PER_IP": "100000", "BOXOFFICE_AUDIT_MAX_PER_USER": "10",
		"BOXOFFICE_AUDIT_MAX_EVENTS": "100"})
	name, pw := newUser(t, d.inst(0))
	value := `"` + strings.Repeat("x", 15000) + `"`
	var first tokens
	tooLarge := 0
	for i := 0; i < 120; i++ {
		tk := login(t, d.inst(i), name, pw)
		if i == 0 {
			first = tk
		}
		p := d.inst(i).do(t, "PATCH", "/v1/session/data", tk.AccessToken, `{"blob":`+value+`}`)
		switch p.status {
		case 200:
		case 413:
			expect(t, p, 413, "session_data_too_large")
			tooLarge++
		default:
			t.Fatalf("patch %d: %d %s", i, p.status, p.body)
		}
	}
	if tooLarge == 0 {
		t.Fatal("the user's data was never bounded")
	}
	expect(t, d.inst(0).do(t, "GET", "/v1/session", first.AccessToken, nil), 401, "session_revoked")
	rdb := r.Client(t)
	uid := first.Session.UserID
	if n, err := rdb.ZCard(context.Background(), "bx:{u:"+uid+"}:sessions").Result(); err != nil || n != 50 {
		t.Fatalf("the user has %d live sessions (%v), want the cap of 50", n, err)
	}
	other, opw := newUser(t, d.inst(1))
	tk := login(t, d.inst(1), other, opw)
	expect(t, d.inst(0).do(t, "PATCH", "/v1/session/data", tk.AccessToken, `{"blob":`+value+`}`), 200, "")
}

// TestTrustLogoutAllWithLaggingReplica: with BOXOFFICE_REVOCATION_REPLICAS=1 and a stalled
// replica, logout-all answers 503 — but it is atomic: all 150 sessions are already revoked on
// the primary (none survive, the caller's included), and the client's retries succeed once the
// replica acknowledges. (Before: 503 with most sessions alive, and every retry got 401.)
func TestTrustLogoutAllWithLaggingReplica(t *testing.T) {
	skipShort(t, "150 sign-ins and a stalled replica")
	primary := sessiontest.StartServer(t)
	_, port, _ := net.SplitHostPort(primary.Addr)
	replica := sessiontest.StartServer(t, "--replicaof", "127.0.0.1", port)
	pc, rc := primary.Client(t), replica.Client(t)
	ctx := context.Background()
	synced := func() bool {
		info, _ := rc.Info(ctx, "replication").Result()
		return strings.Contains(info, "master_link_status:up")
	}
	waitFor(t, guard, synced)
	// A generous WAIT: each sign-in waits for the replica too, and a loaded machine may be slow
	// to acknowledge; a refused WAIT must come from the stalled replica, not from the clock.
	d := deploy(t, 1, primary.URL(), map[string]string{"BOXOFFICE_REVOCATION_REPLICAS": "1",
		"BOXOFFICE_REVOCATION_WAIT": "5s", "REDIS_TIMEOUT": "20s", "BOXOFFICE_MAX_SESSIONS_PER_USER": "300",
		"BOXOFFICE_REGISTER_MAX_PER_IP": "0", "BOXOFFICE_LOGIN_MAX_PER_IP": "100000"})
	c := d.inst(0)
	name, pw := newUser(t, c)
	var all []tokens
	for i := 0; i < 150; i++ {
		all = append(all, login(t, c, name, pw))
	}
	uid := all[0].Session.UserID
	replica.Pause()
	paused := true
	defer func() {
		if paused {
			replica.Resume()
		}
	}()
	expect(t, c.do(t, "POST", "/v1/auth/logout-all", all[0].AccessToken, nil), 503, "service_unavailable")
	if n, _ := pc.ZCard(ctx, "bx:{u:"+uid+"}:sessions").Result(); n != 0 {
		t.Fatalf("%d sessions still indexed on the primary after the failed logout-all", n)
	}
	if keys, _ := pc.Keys(ctx, "bx:{u:"+uid+"}:s:*").Result(); len(keys) != 0 {
		t.Fatalf("%d sessions alive on the primary after the failed logout-all", len(keys))
	}
	expect(t, c.do(t, "POST", "/v1/auth/logout-all", all[0].AccessToken, nil), 503, "service_unavailable")
	replica.Resume()
	paused = false
	// The client retries, as Retry-After tells it, until the replica has acknowledged.
	deadline := time.Now().Add(guard)
	for {
		rep := c.do(t, "POST", "/v1/auth/logout-all", all[0].AccessToken, nil)
		if rep.status == 204 {
			break
		}
		expect(t, rep, 503, "service_unavailable")
		if time.Now().After(deadline) {
			t.Fatal("logout-all never succeeded after the replica came back")
		}
		time.Sleep(time.Second)
	}
	for _, i := range []int{0, 1, 75, 149} {
		expect(t, c.do(t, "GET", "/v1/session", all[i].AccessToken, nil), 401, "session_revoked")
	}
	if keys, _ := rc.Keys(ctx, "bx:{u:"+uid+"}:s:*").Result(); len(keys) != 0 {
		t.Fatalf("%d sessions alive on the replica after logout-all succeeded", len(keys))
	}
}
