package main

import (
	"bytes"
	"context"
	"io"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// readNames returns the names loadConfig asks getenv for, with env set.
func readNames(t *testing.T, env map[string]string) map[string]bool {
	t.Helper()
	read := map[string]bool{}
	loadConfig(func(k string) string { read[k] = true; return env[k] })
	return read
}

// TestHelpListsEverySetting: every variable loadConfig reads appears in --help (one row each in
// the settings table), and the table lists nothing loadConfig ignores.
func TestHelpListsEverySetting(t *testing.T) {
	read := readNames(t, nil)
	for k := range readNames(t, map[string]string{"REDIS_URL": "redis://127.0.0.1:1", "DATABASE_URL": "postgres://h/db",
		"BOXOFFICE_DEBUG_ADDR": "127.0.0.1:0", "OTEL_TRACES_EXPORTER": "otlp"}) {
		read[k] = true
	}
	var help bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, env(nil), &help, io.Discard); err != nil {
		t.Fatal(err)
	}
	rows := settingNames()
	for name := range read {
		if !strings.Contains(help.String(), "\n  "+name+" ") && !strings.Contains(help.String(), "\n  "+name+"\n") {
			t.Errorf("loadConfig reads %s but --help does not list it: add a row to settings (usage.go)", name)
		}
	}
	for _, name := range rows {
		if !read[name] {
			t.Errorf("--help lists %s, which loadConfig never reads", name)
		}
	}
	seen := map[string]bool{}
	for _, name := range rows {
		if seen[name] {
			t.Errorf("%s listed twice", name)
		}
		seen[name] = true
	}
}

// TestHelpDefaultsAreTrue: setting a variable to the default --help states changes nothing.
func TestHelpDefaultsAreTrue(t *testing.T) {
	base, err := loadConfig(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	base.JWTSecret = nil // random
	for _, g := range settings {
		for _, s := range g.rows {
			if !literalDefault(s.def) {
				continue
			}
			c, err := loadConfig(env(map[string]string{s.name: s.def}))
			if err != nil {
				t.Errorf("%s=%s (its documented default): %v", s.name, s.def, err)
				continue
			}
			c.JWTSecret = nil
			if !reflect.DeepEqual(c, base) {
				t.Errorf("%s=%s (its documented default) changes the configuration:\n%+v\nwant\n%+v", s.name, s.def, c, base)
			}
		}
	}
}

// TestRunHelpAndVersion: help and version need no valid configuration; unknown commands point
// to --help.
func TestRunHelpAndVersion(t *testing.T) {
	bad := env(map[string]string{"BOXOFFICE_ACCESS_TTL": "x"})
	for _, arg := range []string{"help", "-h", "--help"} {
		var out bytes.Buffer
		if err := run(context.Background(), []string{arg}, bad, &out, io.Discard); err != nil || !strings.Contains(out.String(), "BOXOFFICE_ADDR") {
			t.Errorf("%s: %v\n%s", arg, err, out.String())
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, bad, &out, io.Discard); err != nil ||
		!strings.Contains(out.String(), runtime.Version()) || !strings.HasPrefix(out.String(), "boxoffice") {
		t.Errorf("version: %v\n%s", err, out.String())
	}
	err := run(context.Background(), []string{"frobnicate"}, env(nil), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--help") || !strings.Contains(err.Error(), "version") {
		t.Errorf("unknown command: %v", err)
	}
}

func TestBuildShort(t *testing.T) {
	for _, tc := range []struct {
		b    build
		want string
	}{
		{build{Version: "v1.2.3", Revision: "abc"}, "v1.2.3"},
		{build{Version: "(devel)", Revision: "0123456789abcdef0123", Modified: true}, "0123456789ab+dirty"},
		{build{Version: "(devel)"}, "(devel)"},
	} {
		if got := tc.b.short(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.b, got, tc.want)
		}
	}
	if b := readBuild(); b.GoVersion == "" || !slices.Contains([]string{"boxoffice"}, b.Module) {
		t.Errorf("readBuild %+v", b)
	}
}
