package redisaudit_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"boxoffice/audit"
	"boxoffice/audit/redisaudit"
	"boxoffice/session"
	"boxoffice/session/sessiontest"
)

// TestFailuresCoalesce: a burst of failed sign-ins shows once in the user's stream (all of them
// in the global one) and cannot push the user's older events out; once eight other events
// followed, the next failure shows again.
func TestFailuresCoalesce(t *testing.T) {
	f := newFixture(t, redisaudit.Config{MaxPerUser: 20})
	f.add(t, "usera", audit.LoginSuccess, "")
	for range 50 {
		f.add(t, "usera", audit.LoginFail, "bad_password")
		f.add(t, "usera", audit.LoginLock, "account")
	}
	got, err := f.store.UserEvents(f.ctx, "usera", audit.Page{})
	if err != nil {
		t.Fatal(err)
	}
	var types []audit.Type
	for _, e := range got.Events {
		types = append(types, e.Type)
	}
	if fmt.Sprint(types) != "[authn_login_lock authn_login_fail authn_login_success]" {
		t.Fatalf("user's view = %v", types)
	}
	f.add(t, "usera", audit.LoginFail, "password_changed") // another reason: shows
	for range 8 {
		f.add(t, "usera", audit.PasswordChange, "")
	}
	f.add(t, "usera", audit.LoginFail, "bad_password") // the last one is 9 entries back: shows
	if n := f.xlen(t, "bx:{u:usera}:audit"); n != 3+1+8+1 {
		t.Fatalf("user stream holds %d entries, want 13", n)
	}
	if n := f.xlen(t, "bx:audit"); n != 1+100+1+8+1 {
		t.Fatalf("global stream holds %d entries, want every one (111)", n)
	}
}

// TestCountBounds: a user keeps exactly MaxPerUser events, the newest; the global stream holds
// at most MaxEvents plus one node of entries (approximate trimming).
func TestCountBounds(t *testing.T) {
	f := newFixture(t, redisaudit.Config{MaxPerUser: 10, MaxEvents: 50})
	for i := range 300 {
		f.add(t, "usera", audit.LoginSuccess, fmt.Sprint(i))
	}
	if n := f.xlen(t, "bx:{u:usera}:audit"); n != 10 {
		t.Fatalf("user stream holds %d entries, want exactly 10", n)
	}
	got, _ := walk(t, 3, func(p audit.Page) (audit.EventPage, error) { return f.store.UserEvents(f.ctx, "usera", p) })
	if fmt.Sprint(reasons(got)) != "[299 298 297 296 295 294 293 292 291 290]" {
		t.Fatalf("user's events = %v, want the newest 10", reasons(got))
	}
	n := f.xlen(t, "bx:audit")
	if n < 50 || n > 50+100 {
		t.Fatalf("global stream holds %d entries, want 50 to 150", n)
	}
	all, _ := walk(t, 100, func(p audit.Page) (audit.EventPage, error) { return f.store.Events(f.ctx, audit.Query{Page: p}) })
	if int64(len(all)) != n || all[0].Reason != "299" {
		t.Fatalf("global walk: %d events (first %q), stream holds %d", len(all), all[0].Reason, n)
	}
}

// TestAgeBound: events older than the retention are never returned, and the next append trims
// them (exactly from the user's stream, whose key also expires with the retention).
func TestAgeBound(t *testing.T) {
	f := newFixture(t, redisaudit.Config{Retention: 24 * time.Hour})
	for i := range 5 {
		f.add(t, "usera", audit.LoginSuccess, fmt.Sprint("old", i))
	}
	f.clock.advance(23 * time.Hour)
	f.add(t, "usera", audit.LoginSuccess, "young")
	f.clock.advance(2 * time.Hour) // "old" are 25h old now, "young" 2h
	got, err := f.store.UserEvents(f.ctx, "usera", audit.Page{})
	if err != nil || fmt.Sprint(reasons(got.Events)) != "[young]" || got.Next != "" {
		t.Fatalf("after the retention: %v (next %q), %v; want only young", reasons(got.Events), got.Next, err)
	}
	all, err := f.store.Events(f.ctx, audit.Query{Type: audit.LoginSuccess})
	if err != nil || fmt.Sprint(reasons(all.Events)) != "[young]" {
		t.Fatalf("global after the retention: %v, %v", reasons(all.Events), err)
	}
	if n := f.xlen(t, "bx:{u:usera}:audit"); n != 6 {
		t.Fatalf("before an append: %d entries, want 6 (trimmed at the next append)", n)
	}
	f.add(t, "usera", audit.LoginSuccess, "new")
	if n := f.xlen(t, "bx:{u:usera}:audit"); n != 2 {
		t.Fatalf("after an append: %d entries, want 2", n)
	}
	ttl, err := f.rdb.PTTL(f.ctx, "bx:{u:usera}:audit").Result()
	if err != nil || ttl <= 23*time.Hour || ttl > 24*time.Hour {
		t.Fatalf("user stream TTL = %s, %v; want the retention", ttl, err)
	}
}

// TestClockBehind: an instance whose clock is behind the newest entry's still appends, after
// it.
func TestClockBehind(t *testing.T) {
	f := newFixture(t, redisaudit.Config{})
	f.clock.advance(time.Hour)
	f.add(t, "usera", audit.LoginSuccess, "ahead")
	f.clock.advance(-time.Hour)
	f.add(t, "usera", audit.LoginSuccess, "behind")
	got, err := f.store.UserEvents(f.ctx, "usera", audit.Page{})
	if err != nil || fmt.Sprint(reasons(got.Events)) != "[behind ahead]" {
		t.Fatalf("events = %v, %v; want the later append first", reasons(got.Events), err)
	}
}

// TestMemoryPerEvent measures what a typical event (a sign-in with a browser's User-Agent)
// costs in Redis (redis-server only: miniredis does not report memory), in the user's stream
// and in the global one, and bounds it: `go test ./audit/redisaudit -run Memory -v` prints it.
func TestMemoryPerEvent(t *testing.T) {
	if !sessiontest.HaveServer() && !sessiontest.RequireServer() {
		t.Skip("SKIPPED: needs redis-server (MEMORY USAGE)")
	}
	f := newFixture(t, redisaudit.Config{MaxPerUser: 100})
	const users, each = 100, 100
	for u := range users {
		for range each {
			e := audit.Event{ID: audit.NewID(), Type: audit.LoginSuccess, At: f.clock.now(),
				UserID: fmt.Sprintf("%026d", u), SessionID: "sv3fanforhh5mtcxz64bpav3ta", IP: "198.51.100.23",
				UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
				RequestID: "5b0e6f1c2d9a4e7f8a3b1c20"}
			if err := f.store.Append(f.ctx, e); err != nil {
				t.Fatal(err)
			}
		}
	}
	usage := func(key string) int64 {
		n, err := f.rdb.MemoryUsage(f.ctx, key, 0).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	perUser := float64(usage("bx:{u:"+fmt.Sprintf("%026d", 0)+"}:audit")) / each
	global := float64(usage("bx:audit")) / (users * each)
	t.Logf("bytes per event: %.0f in a user's stream, %.0f in the global stream (%d events)", perUser, global, users*each)
	if perUser > 1024 || global > 1024 {
		t.Fatalf("an event costs more than 1 KiB (%.0f, %.0f)", perUser, global)
	}
}

// TestCluster: on a Redis Cluster, users' streams live in their own slots (the user's hash
// tag) and the global stream in another; appends and reads work across them, and after a
// script-cache flush too.
func TestCluster(t *testing.T) {
	if testing.Short() && !sessiontest.InCI() {
		t.Skip("-short: skips the Redis Cluster test (run without -short; CI always runs it)")
	}
	c := sessiontest.StartCluster(t)
	rdb, err := session.NewClient(session.ClientConfig{ClusterAddrs: c.Addrs, ReadTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	f := &fixture{rdb: rdb, clock: &clock{}, ctx: context.Background()}
	f.store = redisaudit.New(rdb, redisaudit.Config{Now: f.clock.now})
	users := []string{"usera", "userb", "userc", "userd", "usere"}
	for i := range 3 {
		for _, u := range users {
			f.add(t, u, audit.LoginSuccess, fmt.Sprint(u, i))
		}
		if i == 1 {
			if err := rdb.(*redis.ClusterClient).ForEachShard(f.ctx, func(ctx context.Context, n *redis.Client) error {
				return n.ScriptFlush(ctx).Err()
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, u := range users {
		got, err := f.store.UserEvents(f.ctx, u, audit.Page{})
		if err != nil || fmt.Sprint(reasons(got.Events)) != fmt.Sprintf("[%s2 %s1 %s0]", u, u, u) {
			t.Fatalf("%s: %v, %v", u, reasons(got.Events), err)
		}
	}
	all, _ := walk(t, 4, func(p audit.Page) (audit.EventPage, error) { return f.store.Events(f.ctx, audit.Query{Page: p}) })
	if len(all) != 15 {
		t.Fatalf("global: %d events", len(all))
	}
}

// TestAuthzCoalesce: a stolen session calling administrative routes (each a refusal, cycling
// through every operation) cannot push the user's sign-in out of their view, nor flood the
// global stream: its refusals show once in each; another user's still show; an
// administrator's uses, whatever the operation, show once in their own view and all in the
// global stream.
func TestAuthzCoalesce(t *testing.T) {
	f := newFixture(t, redisaudit.Config{MaxPerUser: 20})
	f.add(t, "victim", audit.LoginSuccess, "")
	ops := []string{"list_sessions", "revoke_sessions", "revoke_session", "put_movie", "put_cinema", "put_hall",
		"create_screening", "cancel_screening", "block_seats", "unblock_seats", "refund_report", "audit_query"}
	for i := range 120 {
		f.add(t, "victim", audit.AuthzFail, ops[i%len(ops)])
		f.add(t, "", audit.UserCreated, "") // others' traffic in between
	}
	got, err := f.store.UserEvents(f.ctx, "victim", audit.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Events) != 2 || got.Events[0].Type != audit.AuthzFail || got.Events[1].Type != audit.LoginSuccess {
		t.Fatalf("victim's view = %v %v, want one authz_fail over the sign-in", reasons(got.Events), got.Events)
	}
	// The global stream: the user's refusals come back only once 8 newer entries hid them.
	fails, err := f.store.Events(f.ctx, audit.Query{Type: audit.AuthzFail, Page: audit.Page{Limit: 100}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(fails.Events); n < 1 || n > 120/4 {
		t.Fatalf("%d of 120 refusals of one user in the global stream", n)
	}
	f.add(t, "other", audit.AuthzFail, "audit_query")
	if n := f.xlen(t, "bx:{u:other}:audit"); n != 1 {
		t.Fatalf("another user's refusal: %d entries in their stream", n)
	}
	before := f.xlen(t, "bx:audit")
	f.add(t, "other", audit.AuthzFail, "audit_query") // coalesced
	f.add(t, "admin", audit.AuthzAdmin, "put_movie")
	for _, op := range ops {
		f.add(t, "admin", audit.AuthzAdmin, op)
	}
	if n := f.xlen(t, "bx:audit"); n != before+1+int64(len(ops)) {
		t.Fatalf("global stream grew by %d, want every administrator's use (%d) and no repeated refusal", n-before, 1+len(ops))
	}
	if n := f.xlen(t, "bx:{u:admin}:audit"); n != 1 {
		t.Fatalf("administrator's stream holds %d entries, want 1", n)
	}
}

// TestCoalesceWindow: events are coalesced only with entries at most an hour old (application
// clock): a burst of failures weeks after the last shows again, even while that one is still
// among the user's 8 newest.
func TestCoalesceWindow(t *testing.T) {
	f := newFixture(t, redisaudit.Config{})
	f.add(t, "usera", audit.LoginFail, "bad_password")
	f.clock.advance(59 * time.Minute)
	f.add(t, "usera", audit.LoginFail, "bad_password") // the same burst
	f.add(t, "usera", audit.AuthzFail, "audit_query")
	if n := f.xlen(t, "bx:{u:usera}:audit"); n != 2 {
		t.Fatalf("within the hour: %d entries, want 2", n)
	}
	f.clock.advance(80 * 24 * time.Hour)
	f.add(t, "usera", audit.LoginFail, "bad_password")
	f.add(t, "usera", audit.LoginFail, "bad_password")
	f.add(t, "usera", audit.AuthzFail, "audit_query")
	f.add(t, "usera", audit.AuthzFail, "put_movie")
	got, err := f.store.UserEvents(f.ctx, "usera", audit.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(reasons(got.Events)) != "[audit_query bad_password audit_query bad_password]" {
		t.Fatalf("80 days later: %v, want the new burst shown once over the old one", reasons(got.Events))
	}
	if n := f.xlen(t, "bx:audit"); n != 6 {
		t.Fatalf("global stream holds %d entries, want 6 (every failed sign-in, a user's refusals once per hour)", n)
	}
}

// TestPasswordGuessCoalesce: a session thief guessing the current password cannot push the
// user's history out of their stream: failed password changes show once per burst, a
// successful change always.
func TestPasswordGuessCoalesce(t *testing.T) {
	f := newFixture(t, redisaudit.Config{MaxPerUser: 20})
	f.add(t, "victim", audit.LoginSuccess, "")
	for range 50 {
		e := audit.Event{ID: audit.NewID(), Type: audit.PasswordChange, Outcome: audit.Failure, Reason: "bad_password",
			UserID: "victim", At: f.clock.now().UTC()}
		if err := f.store.Append(f.ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	f.add(t, "victim", audit.PasswordChange, "")
	got, err := f.store.UserEvents(f.ctx, "victim", audit.Page{})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range got.Events {
		kinds = append(kinds, string(e.Type)+"/"+string(e.Outcome))
	}
	want := "[authn_password_change/success authn_password_change/failure authn_login_success/success]"
	if fmt.Sprint(kinds) != want {
		t.Fatalf("victim's view = %v, want %s", kinds, want)
	}
	if n := f.xlen(t, "bx:audit"); n != 52 {
		t.Fatalf("global stream holds %d events, want all 52", n)
	}
}
