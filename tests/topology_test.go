package tests

import (
	"strings"
	"testing"

	"boxoffice/session/sessiontest"
)

// lifecycle runs the whole session lifecycle spread over the deployment's instances and fails
// on any deviation. It is the workload of the topology and deployment tests.
func lifecycle(t *testing.T, d interface{ inst(int) *client }) {
	t.Helper()
	name, pw := uniqueName()
	expect(t, d.inst(0).do(t, "POST", "/v1/users", "", map[string]string{"username": name, "password": pw}), 201, "")
	tk := login(t, d.inst(1), name, pw)
	expect(t, d.inst(2).do(t, "GET", "/v1/session", tk.AccessToken, nil), 200, "")
	expect(t, d.inst(3).do(t, "PATCH", "/v1/session/data", tk.AccessToken, `{"cart":{"seats":["A1"]},"n":1}`, "If-Match", `"0"`), 200, "")
	expect(t, d.inst(4).do(t, "PATCH", "/v1/session/data", tk.AccessToken, `{"cart":{"show":7}}`), 200, "")
	r := d.inst(5).do(t, "GET", "/v1/me", tk.AccessToken, nil)
	expect(t, r, 200, "")
	r = d.inst(6).do(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": tk.RefreshToken})
	expect(t, r, 200, "")
	var next tokens
	r.decode(t, &next)
	if string(next.Session.Data["cart"]) != `{"seats":["A1"],"show":7}` {
		t.Fatalf("data after refresh: %s", next.Session.Data["cart"])
	}
	other := login(t, d.inst(7), name, pw)
	r = d.inst(8).do(t, "GET", "/v1/sessions", next.AccessToken, nil)
	expect(t, r, 200, "")
	if !strings.Contains(string(r.body), other.SessionID) {
		t.Fatalf("session list misses a session: %s", r.body)
	}
	expect(t, d.inst(9).do(t, "DELETE", "/v1/sessions/"+other.SessionID, next.AccessToken, nil), 204, "")
	expect(t, d.inst(10).do(t, "GET", "/v1/session", other.AccessToken, nil), 401, "session_revoked")
	expect(t, d.inst(11).do(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": tk.RefreshToken}), 200, "") // grace
	expect(t, d.inst(12).do(t, "POST", "/v1/auth/logout-all", next.AccessToken, nil), 204, "")
	expect(t, d.inst(13).do(t, "GET", "/v1/session", next.AccessToken, nil), 401, "session_revoked")
	expect(t, d.inst(14).do(t, "POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": next.RefreshToken}), 401, "session_revoked")
}

// TestRedisCluster runs the lifecycle against a 6-node Redis Cluster (3 primaries, 3 replicas):
// every multi-key script shares a hash tag, so no CROSSSLOT error can occur (one would be a 500
// and fail the test).
func TestRedisCluster(t *testing.T) {
	skipShort(t, "the Redis Cluster suite")
	c := sessiontest.StartCluster(t)
	d := deploy(t, 3, "", map[string]string{
		"REDIS_CLUSTER_ADDRS": strings.Join(c.Addrs, ","), "BOXOFFICE_REGISTER_MAX_PER_IP": "0",
	})
	for i := 0; i < 5; i++ { // several users: their hash tags land in different slots
		lifecycle(t, d)
	}
	d.checkLogs(t, "CROSSSLOT")
}

// TestRedisSentinel runs the lifecycle against a primary and a replica behind three sentinels.
func TestRedisSentinel(t *testing.T) {
	skipShort(t, "the Redis Sentinel suite")
	s := sessiontest.StartSentinel(t)
	d := deploy(t, 3, "", map[string]string{
		"REDIS_SENTINEL_ADDRS": strings.Join(s.Addrs, ","), "REDIS_SENTINEL_MASTER": s.Master,
		"BOXOFFICE_REGISTER_MAX_PER_IP": "0",
	})
	lifecycle(t, d)
}
