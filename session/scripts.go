package session

import (
	"context"
	"embed"

	"github.com/redis/go-redis/v9"
)

//go:embed scripts/*.lua
var scriptFS embed.FS

// scripts are loaded once per process. Each is lib.lua followed by its own file, run with
// EVALSHA and falling back to EVAL after a script-cache flush or a Redis restart.
type scripts struct {
	create, touch, rotate, patch, revoke, list, revokeAll, changePassword, resume, throttle, release, setPassword *redis.Script
}

func loadScripts() scripts {
	lib := mustRead("lib.lua")
	with := func(name string) *redis.Script { return redis.NewScript(lib + "\n" + mustRead(name)) }
	return scripts{
		create:         with("create.lua"),
		touch:          with("touch.lua"),
		rotate:         with("rotate.lua"),
		patch:          with("patch.lua"),
		revoke:         with("revoke.lua"),
		list:           with("list.lua"),
		revokeAll:      with("revoke_all.lua"),
		changePassword: with("change_password.lua"),
		resume:         with("resume.lua"),
		throttle:       redis.NewScript(mustRead("throttle.lua")),
		release:        redis.NewScript(mustRead("release.lua")),
		setPassword:    redis.NewScript(mustRead("set_password.lua")),
	}
}

// LoadScripts puts every script into Redis' script cache so that the first request using each
// costs one round trip (EVALSHA) instead of two (EVALSHA, NOSCRIPT, EVAL). Optional: Run falls
// back to EVAL by itself. It returns ErrUnavailable when Redis cannot be reached.
func (s *Store) LoadScripts(ctx context.Context) error {
	for _, sc := range []*redis.Script{s.sc.create, s.sc.touch, s.sc.rotate, s.sc.patch, s.sc.revoke,
		s.sc.list, s.sc.revokeAll, s.sc.changePassword, s.sc.resume, s.sc.throttle, s.sc.release, s.sc.setPassword} {
		if err := sc.Load(ctx, s.rdb).Err(); err != nil {
			return classify("script load", err)
		}
	}
	return nil
}

func mustRead(name string) string {
	b, err := scriptFS.ReadFile("scripts/" + name)
	if err != nil {
		panic("session: embedded script missing: " + name) // a build defect, caught by every test
	}
	return string(b)
}
