package tests

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/redis/go-redis/v9"
)

// secFleet is a second deployment over the shared Redis, configured as behind a proxy: it
// trusts X-Real-IP from 127.0.0.1, allows one CORS origin, and has tighter login limits. It is
// started on first use and stopped by TestMain.
var secFleet struct {
	once sync.Once
	d    *deployment
	err  error
}

const allowedOrigin = "https://app.example.com"

func secure(t *testing.T) *deployment {
	t.Helper()
	secFleet.once.Do(func() {
		secFleet.d, secFleet.err = startDeployment(tmp, 2, shared.URL(), map[string]string{
			"BOXOFFICE_TRUSTED_PROXIES":     "127.0.0.1",
			"BOXOFFICE_CORS_ORIGINS":        allowedOrigin,
			"BOXOFFICE_PUBLIC_ORIGINS":      publicOrigin, // what security_cookies_test.go's browsers present
			"BOXOFFICE_LOGIN_MAX_PER_IP":    "20",
			"BOXOFFICE_REGISTER_MAX_PER_IP": "0",
		})
		if secFleet.err == nil {
			keepShared(secFleet.d)
		}
	})
	if secFleet.err != nil {
		t.Fatal(secFleet.err)
	}
	return secFleet.d
}

// hashFleet is one instance configured like secure() but hashing passwords at production cost
// (argon2id 19 MiB, 2 iterations), for the tests about hashing: a login flood, timing. Every
// other instance hashes cheaply. Its deadlines are generous and its hashing slots bounded to
// two (one per core of a small machine), so that a slow, busy machine queues hashes — what
// these tests observe — rather than running out of time. Started on first use, stopped by
// TestMain.
var hashFleet struct {
	once sync.Once
	d    *deployment
	err  error
}

func hashing(t *testing.T) *deployment {
	t.Helper()
	skipShort(t, "the tests hashing at production cost")
	hashFleet.once.Do(func() {
		hashFleet.d, hashFleet.err = startDeployment(tmp, 1, shared.URL(), map[string]string{
			"BOXOFFICE_TRUSTED_PROXIES":     "127.0.0.1",
			"BOXOFFICE_LOGIN_MAX_PER_IP":    "20",
			"BOXOFFICE_REGISTER_MAX_PER_IP": "0",
			"BOXOFFICE_ARGON2_MEMORY_KIB":   "19456",
			"BOXOFFICE_ARGON2_ITERATIONS":   "2",
			"BOXOFFICE_HASH_CONCURRENCY":    "2",
			"BOXOFFICE_REQUEST_TIMEOUT":     "60s",
		})
		if hashFleet.err == nil {
			keepShared(hashFleet.d)
		}
	})
	if hashFleet.err != nil {
		t.Fatal(hashFleet.err)
	}
	return hashFleet.d
}

// snapshot returns every key of a user's hash tag with its value, to prove that a refused
// request changed nothing.
func snapshot(t *testing.T, rdb *redis.Client, uid string) map[string]string {
	t.Helper()
	ctx := context.Background()
	keys, err := rdb.Keys(ctx, "bx:{u:"+uid+"}:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, k := range keys {
		typ, _ := rdb.Type(ctx, k).Result()
		switch typ {
		case "hash":
			m, _ := rdb.HGetAll(ctx, k).Result()
			delete(m, "ls") // a read may slide the idle deadline in the background;
			delete(m, "ie") // that is activity, not a change of state
			b, _ := json.Marshal(m)
			out[k] = string(b)
		case "string":
			out[k], _ = rdb.Get(ctx, k).Result()
		case "zset":
			z, _ := rdb.ZRange(ctx, k, 0, -1).Result()
			sort.Strings(z)
			out[k] = strings.Join(z, ",")
		default:
			out[k] = typ
		}
	}
	return out
}

// unchanged fails unless the user's Redis state equals before.
func unchanged(t *testing.T, rdb *redis.Client, uid string, before map[string]string) {
	t.Helper()
	if after := snapshot(t, rdb, uid); !reflect.DeepEqual(before, after) {
		t.Fatalf("Redis state changed:\nbefore %v\nafter  %v", before, after)
	}
}

// signed is a user, a live session and its tokens.
type signed struct {
	name, pw string
	tk       tokens
}

func signIn(t *testing.T, c *client) signed {
	t.Helper()
	name, pw := newUser(t, c)
	return signed{name, pw, login(t, c, name, pw)}
}

// forge signs claims and header fields with the deployment's key (the tests know it), to build
// tokens that are correctly signed but wrong in some other way.
func forge(t *testing.T, header map[string]any, claims jwt.MapClaims, method jwt.SigningMethod, key any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	for k, v := range header {
		if v == nil {
			delete(tok.Header, k)
		} else {
			tok.Header[k] = v
		}
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// kidOf returns the kid header of a token.
func kidOf(t *testing.T, tok string) string {
	t.Helper()
	h, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	var m map[string]any
	if err := json.Unmarshal(h, &m); err != nil {
		t.Fatal(err)
	}
	return m["kid"].(string)
}

// validClaims are the claims boxoffice issues for uid/sid.
func validClaims(uid, sid string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{"iss": "boxoffice", "aud": []string{"boxoffice"}, "sub": uid, "sid": sid,
		"jti": "aaaaaaaaaaaaaaaaaaaaaaaaaa", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}
}

// cookies returns the Set-Cookie headers of a reply by cookie name.
func cookies(r reply) map[string]*http.Cookie {
	out := map[string]*http.Cookie{}
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		out[c.Name] = c
	}
	return out
}

// cookieHeader renders a Cookie request header.
func cookieHeader(kv ...string) string {
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, kv[i]+"="+kv[i+1])
	}
	return strings.Join(parts, "; ")
}

// cookieLogin signs in with the cookie transport and returns the cookies it set.
func cookieLogin(t *testing.T, c *client, name, pw string, headers ...string) (reply, map[string]*http.Cookie) {
	t.Helper()
	r := c.do(t, "POST", "/v1/auth/login", "", map[string]string{"username": name, "password": pw, "transport": "cookie"}, headers...)
	return r, cookies(r)
}

// grantAdmin grants the admin role with the CLI against the shared Redis, as an operator would.
func grantAdmin(t *testing.T, username string) {
	t.Helper()
	grantAdminAt(t, shared.URL(), username)
}

func mustStatus(t *testing.T, r reply, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
}

func sprintf(format string, a ...any) string { return fmt.Sprintf(format, a...) }
