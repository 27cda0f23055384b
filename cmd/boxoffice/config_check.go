package main

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// The value rules of single settings (see textVar and listVar).

// hostPort: host:port or :port.
func hostPort(name, v string) string {
	if _, _, err := net.SplitHostPort(v); err != nil {
		return fmt.Sprintf("%s=%q must be host:port or :port", name, v)
	}
	return ""
}

// loopback: a loopback host:port (for pprof).
func loopback(name, v string) string {
	host, _, err := net.SplitHostPort(v)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return fmt.Sprintf("%s=%q must be a loopback host:port (pprof must not be public)", name, v)
	}
	return ""
}

// scheme: a URL starting with one of prefixes. The value is not repeated: it may hold a password.
func scheme(prefixes ...string) rule {
	return func(name, v string) string {
		for _, p := range prefixes {
			if strings.HasPrefix(v, p) {
				return ""
			}
		}
		return fmt.Sprintf("%s must start with %s", name, strings.Join(prefixes, " or "))
	}
}

// isHostPort: a list item host:port with a port.
func isHostPort(a string) bool {
	_, port, err := net.SplitHostPort(a)
	return err == nil && port != ""
}

// isIPOrCIDR: an IP address or a CIDR prefix.
func isIPOrCIDR(p string) bool {
	if _, err := netip.ParsePrefix(p); err == nil {
		return true
	}
	_, err := netip.ParseAddr(p)
	return err == nil
}

// isOrigin: a browser origin, scheme://host[:port], with no path, wildcard or credentials.
func isOrigin(o string) bool {
	u, err := url.Parse(o)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.Path == "" &&
		u.RawQuery == "" && u.Fragment == "" && u.User == nil && !strings.Contains(o, "*")
}

// checkConfig checks the rules between settings, after every row was read (and the unset ones
// completed).
func checkConfig(c *config, bad badFunc) {
	checkDatabase(c, bad)
	checkMetricsAddr(c, bad)
	checkRedisTopology(c, bad)
	checkDeadlines(c, bad)
	checkSizes(c, bad)
}

// checkDatabase: one ticket store.
func checkDatabase(c *config, bad badFunc) {
	if c.DatabaseURL != "" && c.SQLitePath != "" {
		bad("set DATABASE_URL or BOXOFFICE_SQLITE_PATH, not both")
	}
}

// checkMetricsAddr: metrics are served on a listener of their own.
func checkMetricsAddr(c *config, bad badFunc) {
	if c.MetricsAddr == "" {
		return
	}
	_, port, err := net.SplitHostPort(c.MetricsAddr) // when it fails, its rule reported it
	_, apiPort, _ := net.SplitHostPort(c.Addr)
	if err == nil && port == apiPort && port != "0" {
		bad("BOXOFFICE_METRICS_ADDR=%q must not be the API's port (BOXOFFICE_ADDR=%q): metrics are served on a listener of their own", c.MetricsAddr, c.Addr)
	}
}

// checkRedisTopology: at most one Redis topology, and Sentinel's two settings together.
func checkRedisTopology(c *config, bad badFunc) {
	topologies := 0
	for _, set := range []bool{c.RedisURL != "", len(c.ClusterAddrs) > 0, len(c.SentinelAddrs) > 0} {
		if set {
			topologies++
		}
	}
	if topologies > 1 {
		bad("set only one of REDIS_URL, REDIS_CLUSTER_ADDRS and REDIS_SENTINEL_ADDRS")
	}
	if (len(c.SentinelAddrs) > 0) != (c.SentinelMaster != "") {
		bad("REDIS_SENTINEL_ADDRS and REDIS_SENTINEL_MASTER go together")
	}
}

// checkDeadlines: durations that must be longer or shorter than others.
func checkDeadlines(c *config, bad badFunc) {
	// A request still running when its key's lease ends could have its order taken over by a
	// retry, and both would drive it: the lease must outlast the request deadline (an unset
	// lease grows with it, see raiseLease).
	if c.IdempotencyLease <= c.RequestTimeout {
		bad("BOXOFFICE_IDEMPOTENCY_LEASE (%s) must be longer than BOXOFFICE_REQUEST_TIMEOUT (%s)", c.IdempotencyLease, c.RequestTimeout)
	}
	if c.RevocationReplicas > 0 && c.RevocationWait >= c.RedisTimeout {
		bad("BOXOFFICE_REVOCATION_WAIT (%s) must be shorter than REDIS_TIMEOUT (%s)", c.RevocationWait, c.RedisTimeout)
	}
	if c.AbsoluteTTL < c.AccessTTL {
		bad("BOXOFFICE_ABSOLUTE_TTL (%s) must not be shorter than BOXOFFICE_ACCESS_TTL (%s)", c.AbsoluteTTL, c.AccessTTL)
	}
}

// checkSizes: limits bounded by others, and argon2id's maxima.
func checkSizes(c *config, bad badFunc) {
	if c.UserDataMaxBytes < c.MaxDataBytes {
		bad("BOXOFFICE_USER_DATA_MAX_BYTES (%d) must not be below BOXOFFICE_SESSION_DATA_MAX_BYTES (%d)", c.UserDataMaxBytes, c.MaxDataBytes)
	}
	if c.Argon2MemoryKiB > 4<<20 || c.Argon2Time > 64 {
		bad("BOXOFFICE_ARGON2_MEMORY_KIB must be at most 4194304 and BOXOFFICE_ARGON2_ITERATIONS at most 64")
	}
}

// What unset variables mean when that depends on other settings (see setting.ifUnset).

// unsetJWTSecret: a random key with the embedded Redis; an external one is shared by every
// instance, which must sign with the same key.
func unsetJWTSecret(c *config, bad badFunc) {
	if c.externalRedis() {
		bad("BOXOFFICE_JWT_SECRET is required with an external Redis (REDIS_URL, REDIS_CLUSTER_ADDRS or REDIS_SENTINEL_ADDRS): every instance sharing the Redis must sign with the same key (generate one with: openssl rand -base64 48)")
		return
	}
	b := make([]byte, 48)
	rand.Read(b)
	c.JWTSecret = []byte(base64.RawStdEncoding.EncodeToString(b))
	c.SecretGenerated = true
}

// raiseLease: the default lease grows with a long request deadline (a lease set explicitly
// must be longer, see checkDeadlines).
func raiseLease(c *config) {
	if c.IdempotencyLease <= c.RequestTimeout {
		c.IdempotencyLease = c.RequestTimeout + time.Second
	}
}
