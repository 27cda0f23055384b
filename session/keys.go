package session

import (
	"crypto/sha256"
	"encoding/hex"

	"boxoffice/auth"
)

// keys builds every Redis key. All keys of one user carry the hash tag {u:<user id>}, so each
// multi-key script runs in one Cluster slot; user ids are server-generated ([a-z2-7]{26}) and
// user-controlled strings (usernames, IPs) appear in key names only as SHA-256 hex digests.
//
//	<p>{u:<uid>}:user           hash   the account
//	<p>{u:<uid>}:s:<sid>        hash   a session: metadata, refresh state, d:<key> data fields
//	<p>{u:<uid>}:r:<sid>        string revocation marker (reason), TTL = last access token's life
//	<p>{u:<uid>}:sessions       zset   the user's session ids scored by idle deadline (ms)
//	<p>{u:<uid>}:nets           zset   SHA-256 of networks the user signed in from, by time (ms)
//	<p>username:<sha256>        string look-alike skeleton of a canonical username -> user id
//	<p>throttle:<kind>:<sha256> string login attempts in the current window
//	<p>{u:<uid>}:audit          stream the user's security events (audit/redisaudit writes them)
//	<p>audit                    stream every user's security events (audit/redisaudit)
//	<p>fiber:<key>              any    state of Fiber middlewares (gofiber/storage/redis)
type keys struct{ prefix string }

// The keys under a user's hash tag are each built in one concatenation (one allocation: the
// session key is built on every authenticated request).
func (k keys) tag(uid string) string            { return k.prefix + "{u:" + uid + "}:" }
func (k keys) user(uid string) string           { return k.prefix + "{u:" + uid + "}:user" }
func (k keys) session(uid, sid string) string   { return k.prefix + "{u:" + uid + "}:s:" + sid }
func (k keys) revoked(uid, sid string) string   { return k.prefix + "{u:" + uid + "}:r:" + sid }
func (k keys) index(uid string) string          { return k.prefix + "{u:" + uid + "}:sessions" }
func (k keys) nets(uid string) string           { return k.prefix + "{u:" + uid + "}:nets" }
func (k keys) username(canonical string) string { return k.prefix + "username:" + skel(canonical) }
func (k keys) throttle(kind, subject string) string {
	return k.prefix + "throttle:" + kind + ":" + digest(subject)
}

// legacyUsername is the index key written before username keyed the index by the look-alike
// skeleton of a canonical username (auth.UsernameSkeleton: "scope" and Cyrillic "ѕсоре" claim
// one key): the digest of the canonical username itself. It is only read, for accounts
// registered before. It equals username(canonical) when the name is its own skeleton, and
// otherwise is no name's skeleton key (a skeleton is its own skeleton), so the two kinds of
// entries never clash.
func (k keys) legacyUsername(canonical string) string {
	return k.prefix + "username:" + digest(canonical)
}

// skel is the digest of the look-alike skeleton of a canonical username.
func skel(canonical string) string { return digest(auth.UsernameSkeleton(canonical)) }

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
