package session

import (
	"embed"

	"github.com/redis/go-redis/v9"
)

//go:embed scripts/*.lua
var scriptFS embed.FS

// scripts are loaded once per process. Each is lib.lua followed by its own file, run with
// EVALSHA and falling back to EVAL after a script-cache flush or a Redis restart.
type scripts struct {
	create, get, rotate, patch, revoke, list, revokeAll, throttle, release, setPassword *redis.Script
}

func loadScripts() scripts {
	lib := mustRead("lib.lua")
	with := func(name string) *redis.Script { return redis.NewScript(lib + "\n" + mustRead(name)) }
	return scripts{
		create:      with("create.lua"),
		get:         with("get.lua"),
		rotate:      with("rotate.lua"),
		patch:       with("patch.lua"),
		revoke:      with("revoke.lua"),
		list:        with("list.lua"),
		revokeAll:   with("revoke_all.lua"),
		throttle:    redis.NewScript(mustRead("throttle.lua")),
		release:     redis.NewScript(mustRead("release.lua")),
		setPassword: redis.NewScript(mustRead("set_password.lua")),
	}
}

func mustRead(name string) string {
	b, err := scriptFS.ReadFile("scripts/" + name)
	if err != nil {
		panic("session: embedded script missing: " + name) // a build defect, caught by every test
	}
	return string(b)
}
