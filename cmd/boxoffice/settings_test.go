package main

import (
	"bytes"
	"context"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// readNames returns the names loadConfig asks getenv for, with env set.
func readNames(env map[string]string) map[string]bool {
	read := map[string]bool{}
	loadConfig(func(k string) string { read[k] = true; return env[k] })
	return read
}

// TestSettingsAreWhatLoadConfigReads: every variable loadConfig reads has one row in the
// settings table (so --help and README.md show it), and every row is read.
func TestSettingsAreWhatLoadConfigReads(t *testing.T) {
	read := readNames(nil)
	for k := range readNames(map[string]string{"REDIS_URL": "redis://127.0.0.1:1", "DATABASE_URL": "postgres://h/db",
		"BOXOFFICE_DEBUG_ADDR": "127.0.0.1:0", "OTEL_TRACES_EXPORTER": "otlp"}) {
		read[k] = true
	}
	rows := map[string]bool{}
	for _, s := range allSettings(&config{}) {
		if rows[s.name] {
			t.Errorf("%s has two rows", s.name)
		}
		rows[s.name] = true
		if !read[s.name] {
			t.Errorf("the settings table lists %s, which loadConfig never reads", s.name)
		}
		if s.doc == "" || s.kind == "" {
			t.Errorf("%s: no doc or kind", s.name)
		}
		if (s.read == nil) != (s.kind == "otel") {
			t.Errorf("%s: only the OTEL_* rows are read outside the table", s.name)
		}
	}
	for name := range read {
		if !rows[name] {
			t.Errorf("loadConfig reads %s but the settings table has no row for it: add one (settings.go)", name)
		}
	}
}

// TestHelpListsEveryRow: --help shows every row under its group's title, with its default and
// minimum.
func TestHelpListsEveryRow(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, env(nil), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	help := out.String()
	for _, g := range settings(&config{}) {
		title := g.title
		if g.about != "" {
			title += " (" + plain(g.about) + ")"
		}
		at := strings.Index(help, "\n"+title+":\n")
		if at < 0 {
			t.Errorf("--help has no group %q", g.title)
			continue
		}
		for _, s := range g.rows {
			line := "\n  " + s.name + helpDefault(s) + "\n      "
			i := strings.Index(help, line)
			switch {
			case i < 0:
				t.Errorf("--help does not list %s as %q", s.name, line)
			case i < at:
				t.Errorf("--help lists %s before its group %q", s.name, g.title)
			}
			if s.literal() && !strings.Contains(line, "default "+s.def) || shownMin(s) != "" && !strings.Contains(line, "at least "+s.min) {
				t.Errorf("--help line of %s: %q", s.name, line)
			}
		}
	}
}

// TestSettingDefaults: a variable set to the default the table states changes nothing, that is
// the default is what loadConfig uses when it is unset; and a default that is not one literal
// value is a description in parentheses.
func TestSettingDefaults(t *testing.T) {
	base, err := loadConfig(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	base.JWTSecret = nil // random
	for _, s := range allSettings(&config{}) {
		if !s.literal() {
			if s.def != "" && !strings.HasSuffix(s.def, ")") {
				t.Errorf("%s: default %q is neither a value nor a description in parentheses", s.name, s.def)
			}
			continue
		}
		c, err := loadConfig(env(map[string]string{s.name: s.def}))
		if err != nil {
			t.Errorf("%s=%s (its stated default): %v", s.name, s.def, err)
			continue
		}
		c.JWTSecret = nil
		if !reflect.DeepEqual(c, base) {
			t.Errorf("%s=%s (its stated default) changes the configuration:\n%+v\nwant\n%+v", s.name, s.def, c, base)
		}
	}
}

// badValues are, for each row the table reads, a value it refuses and what the problem says;
// below a row's minimum when below is set.
func badValues(t *testing.T, below bool) map[string]string {
	t.Helper()
	strs := map[string][2]string{ // string settings with a rule
		"BOXOFFICE_ADDR":         {"8080", `BOXOFFICE_ADDR="8080" must be host:port or :port`},
		"BOXOFFICE_DEBUG_ADDR":   {"0.0.0.0:6060", `BOXOFFICE_DEBUG_ADDR="0.0.0.0:6060" must be a loopback host:port`},
		"BOXOFFICE_METRICS_ADDR": {"9090", `BOXOFFICE_METRICS_ADDR="9090" must be host:port or :port`},
		"REDIS_URL":              {"http://redis", "REDIS_URL must start with redis:// or rediss://"},
		"DATABASE_URL":           {"mysql://db", "DATABASE_URL must start with postgres:// or postgresql://"},
	}
	out := map[string]string{}
	for _, s := range allSettings(&config{}) {
		var v, msg string
		switch {
		case below && s.kind == "duration" && s.min != "":
			min, _ := time.ParseDuration(s.min)
			v = (min - time.Nanosecond).String()
			msg = s.name + "=" + v + " must be at least " + min.String()
		case below && s.kind == "integer":
			min, _ := strconv.Atoi(s.min)
			v = strconv.Itoa(min - 1)
			msg = s.name + "=\"" + v + "\" must be an integer of at least " + s.min
		case below:
			continue
		case s.kind == "duration":
			v, msg = "soon", s.name+`="soon" is not a duration (examples: 300ms, 5m, 168h)`
		case s.kind == "integer":
			v, msg = "many", s.name+`="many" must be an integer of at least `+s.min
		case s.kind == "boolean":
			yes, no := trueFalse.words()
			if s.def == "on" || s.def == "off" {
				yes, no = onOff.words()
			}
			v, msg = "maybe", s.name+`="maybe" must be `+yes[0]+" or "+no[0]
		case s.kind == "level":
			v, msg = "loud", s.name+`="loud" must be debug, info, warn or error`
		case s.kind == "list":
			v, msg = "ok:1,not one", s.name+`: "not one" is not `
		case s.kind == "secret" && s.min != "":
			v, msg = "short", s.name+" must be at least "+s.min
		case s.kind == "secrets":
			v, msg = "0123456789abcdef0123456789abcdef,short", s.name+": secret 2 is shorter than "+s.min
		case s.kind == "string" && strs[s.name][0] != "":
			v, msg = strs[s.name][0], strs[s.name][1]
		default:
			continue // any value goes (strings, the webhook secret), or read by tracing
		}
		out[s.name+"="+v] = msg
	}
	return out
}

// TestSettingBadValues: a bad value of every kind is refused with a message that names the
// variable (and the value, unless it may be a credential), every problem at once.
func TestSettingBadValues(t *testing.T) {
	for _, below := range []bool{false, true} {
		bad := badValues(t, below)
		m := map[string]string{}
		for kv := range bad {
			k, v, _ := strings.Cut(kv, "=")
			m[k] = v
		}
		_, err := loadConfig(env(m))
		if err == nil {
			t.Fatalf("accepted %v", m)
		}
		for kv, msg := range bad {
			if !strings.Contains(err.Error(), "\n  - "+msg) {
				t.Errorf("%s: the problems do not say %q:\n%v", kv, msg, err)
			}
		}
	}
	covered := map[string]bool{}
	for _, s := range allSettings(&config{}) {
		for kv := range badValues(t, false) {
			if strings.HasPrefix(kv, s.name+"=") {
				covered[s.kind] = true
			}
		}
	}
	for _, kind := range []string{"duration", "integer", "boolean", "level", "list", "secret", "secrets", "string"} {
		if !covered[kind] {
			t.Errorf("no bad value of kind %s was tried", kind)
		}
	}
}

// TestConfigArgon2Range: an argon2id cost beyond what the field holds is refused, not wrapped.
func TestConfigArgon2Range(t *testing.T) {
	for _, v := range []string{"4194305", "4294967297"} {
		_, err := loadConfig(env(map[string]string{"BOXOFFICE_ARGON2_MEMORY_KIB": v}))
		if err == nil || !strings.Contains(err.Error(), "BOXOFFICE_ARGON2_MEMORY_KIB must be at most 4194304") {
			t.Errorf("BOXOFFICE_ARGON2_MEMORY_KIB=%s: %v", v, err)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "0s", 300 * time.Millisecond: "300ms", time.Minute: "1m",
		90 * time.Minute: "1h30m", 168 * time.Hour: "168h", 61 * time.Second: "1m1s", -time.Second: "-1s"} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestPlain(t *testing.T) {
	for in, want := range map[string]string{
		"`a` and **b**":                        "a and b",
		"see [SECURITY.md](SECURITY.md#x)":     "see SECURITY.md#x",
		"see [metrics](docs/operations.md#m)":  "see metrics (docs/operations.md#m)",
		"see [Token lifecycle](#token-lifecy)": "see Token lifecycle (README.md#token-lifecy)",
	} {
		if got := plain(in); got != want {
			t.Errorf("plain(%q) = %q, want %q", in, got, want)
		}
	}
}
