package session

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"boxoffice/auth"
)

// Users stores accounts in Redis and implements auth.UserStore.
//
// An account is a hash under the user's hash tag; a separate key maps the SHA-256 of the
// username's confusable skeleton (auth.UsernameSkeleton) to the id, so look-alikes of a
// registered name cannot register. Creation writes the account first and then claims the name
// with SET NX, deleting the account if the name was taken: a crash in between leaves an
// unreachable record, never a claimed name without an account.
type Users struct {
	rdb  redis.UniversalClient
	keys keys
	sc   scripts
	st   *Store // whose session cache forgets an account this store writes
}

var _ auth.UserStore = (*Users)(nil)

// unknownUserID is a well-formed id that is never generated (all zero bits).
const unknownUserID = "aaaaaaaaaaaaaaaaaaaaaaaaaa"

// Users returns the account store sharing s's client and key prefix.
func (s *Store) Users() *Users { return &Users{rdb: s.rdb, keys: s.keys, sc: s.sc, st: s} }

// CreateUser stores u. It returns auth.ErrUsernameTaken when u.Username or a look-alike of it
// (same auth.UsernameSkeleton) is registered, or ErrUnavailable.
func (us *Users) CreateUser(ctx context.Context, u auth.User) error {
	nameKey := us.keys.username(u.Username)
	if legacy := us.keys.legacyUsername(u.Username); legacy != nameKey {
		// An account registered under the canonical-name key, before the skeleton index.
		n, err := us.rdb.Exists(ctx, legacy).Result()
		if err != nil {
			return classify("check legacy username", err)
		}
		if n > 0 {
			return auth.ErrUsernameTaken
		}
	}
	key := us.keys.user(u.ID)
	err := us.rdb.HSet(ctx, key,
		"id", u.ID, "username", u.Username, "display_name", u.DisplayName,
		"pw", u.PasswordHash, "roles", strings.Join(u.Roles, ","), "ct", u.CreatedAt.UnixMilli()).Err()
	if err != nil {
		return classify("create user", err)
	}
	ok, err := us.rdb.SetNX(ctx, nameKey, u.ID, 0).Result()
	if err != nil {
		return classify("claim username", err)
	}
	if ok {
		return nil
	}
	// Taken, unless a retried SETNX already claimed it for this very user.
	if owner, err := us.rdb.Get(ctx, nameKey).Result(); err == nil && owner == u.ID {
		return nil
	}
	_ = us.rdb.Del(ctx, key).Err() // an orphan left by a failure here is unreachable and harmless
	return auth.ErrUsernameTaken
}

// UserByUsername looks up a canonical username. It returns auth.ErrUserNotFound or
// ErrUnavailable. The index is keyed by look-alike skeleton, but the lookup is exact: an account
// whose canonical username differs from username (a look-alike) is not found. Accounts
// registered before the skeleton index are found under their old key, which is read in the
// same round trip, and are then indexed by skeleton too (once, best effort). Unknown names cost
// the same round trips as known ones.
func (us *Users) UserByUsername(ctx context.Context, username string) (auth.User, error) {
	key, legacy := us.keys.username(username), us.keys.legacyUsername(username)
	var byName, byLegacy *redis.StringCmd
	_, err := us.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		byName = p.Get(ctx, key)
		if legacy != key {
			byLegacy = p.Get(ctx, legacy)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return auth.User{}, classify("user by name", err)
	}
	id, err := byName.Result()
	backfill := false
	if byLegacy != nil {
		switch old, lerr := byLegacy.Result(); {
		case lerr == nil:
			// The exact name's own entry wins over a look-alike's that took the skeleton key.
			backfill = errors.Is(err, redis.Nil)
			id, err = old, nil
		case !errors.Is(lerr, redis.Nil):
			return auth.User{}, classify("user by name", lerr)
		}
	}
	if errors.Is(err, redis.Nil) {
		// Read a record anyway so that unknown names cost the same round trips as known ones.
		_, _ = us.UserByID(ctx, unknownUserID)
		return auth.User{}, auth.ErrUserNotFound
	}
	if err != nil {
		return auth.User{}, classify("user by name", err)
	}
	if !auth.ValidID(id) {
		return auth.User{}, fmt.Errorf("session: corrupt username index entry")
	}
	u, err := us.UserByID(ctx, id)
	if err != nil {
		return auth.User{}, err
	}
	if u.Username != username {
		return auth.User{}, auth.ErrUserNotFound
	}
	if backfill {
		_ = us.rdb.SetNX(ctx, key, id, 0).Err() // lost to a look-alike registered since: harmless
	}
	return u, nil
}

// UserByID looks up an account. It returns auth.ErrUserNotFound or ErrUnavailable.
func (us *Users) UserByID(ctx context.Context, id string) (auth.User, error) {
	m, err := us.rdb.HGetAll(ctx, us.keys.user(id)).Result()
	if err != nil {
		return auth.User{}, classify("user by id", err)
	}
	return decodeUser(m)
}

// SetPasswordHash replaces the hash if it still equals old and reports whether it did.
func (us *Users) SetPasswordHash(ctx context.Context, id, old, new string) (bool, error) {
	n, err := us.sc.setPassword.Run(ctx, us.rdb, []string{us.keys.user(id)}, old, new).Int()
	us.st.dropCached([]string{us.keys.user(id)})
	if err != nil {
		return false, classify("set password", err)
	}
	return n == 1, nil
}

// SetRoles replaces the user's roles. It returns auth.ErrUserNotFound or ErrUnavailable.
func (us *Users) SetRoles(ctx context.Context, id string, roles []string) error {
	n, err := us.rdb.Exists(ctx, us.keys.user(id)).Result()
	if err != nil {
		return classify("set roles", err)
	}
	if n == 0 {
		return auth.ErrUserNotFound
	}
	err = us.rdb.HSet(ctx, us.keys.user(id), "roles", strings.Join(roles, ",")).Err()
	us.st.dropCached([]string{us.keys.user(id)})
	return classify("set roles", err)
}

func decodeUser(m map[string]string) (auth.User, error) {
	if len(m) == 0 || m["id"] == "" {
		return auth.User{}, auth.ErrUserNotFound
	}
	ct, err := strconv.ParseInt(m["ct"], 10, 64)
	if err != nil {
		return auth.User{}, fmt.Errorf("session: corrupt user record: %w", err)
	}
	u := auth.User{
		ID: m["id"], Username: m["username"], DisplayName: m["display_name"],
		PasswordHash: m["pw"], CreatedAt: time.UnixMilli(ct).UTC(),
	}
	if e := m["ce"]; e != "" {
		if u.CredentialEpoch, err = strconv.ParseInt(e, 10, 64); err != nil {
			return auth.User{}, fmt.Errorf("session: corrupt user record: %w", err)
		}
	}
	if r := m["roles"]; r != "" {
		u.Roles = strings.Split(r, ",")
	}
	return u, nil
}
