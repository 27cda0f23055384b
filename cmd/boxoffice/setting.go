package main

import (
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// badFunc reports one configuration problem; loadConfig lists them all at once.
type badFunc func(format string, a ...any)

// setting is one environment variable: its name, default, minimum and meaning, and how its
// value is read into the config the table was made for (see settings). Make one with the
// constructors below (durationVar, intVar, textVar, …), in the manner of the flag package.
type setting struct {
	name string
	kind string // how the value is written: duration, integer, string, boolean, list, secret, secrets, level, otel
	// def is the default as it would be written in the variable ("" when unset means none or
	// off), or words in parentheses, in Markdown, describing a default that is not one literal
	// value.
	def  string
	note string // about the default, in Markdown: "7 days"
	min  string // the smallest value accepted, as written ("32 bytes" for a key); "" for none
	doc  string // the meaning, in Markdown (code in backquotes, links); --help shows it as plain text
	// read stores the variable's value v into the config ("" when unset: the default),
	// reporting a bad value through bad. nil: the variable is read elsewhere (the OTEL_* ones,
	// by tracing.ConfigFromEnv).
	read func(v string, bad badFunc)
	// unset, when not nil, completes what an unset variable means when that depends on other
	// settings; loadConfig runs it after every row was read.
	unset func(bad badFunc)
}

// group is a titled part of the table; --help and README.md show the groups in order.
type group struct {
	title string // "Redis"
	about string // in Markdown, a parenthesised remark in --help: "sessions, accounts, …"
	rows  []setting
}

// shownAs replaces a default that is not one literal value by a description of it, in
// parentheses: "(embedded)", "(true without `DATABASE_URL`)".
func (s setting) shownAs(def string) setting { s.def = def; return s }

// about adds a remark on the default: "7 days".
func (s setting) about(note string) setting { s.note = note; return s }

// ifUnset sets what completes an unset variable's meaning, after every row was read.
func (s setting) ifUnset(f func(bad badFunc)) setting { s.unset = f; return s }

// literal reports whether s.def is one value loadConfig would read as the default.
func (s setting) literal() bool { return s.def != "" && !strings.HasPrefix(s.def, "(") }

// noMinimum is the minimum of a duration that may be negative.
const noMinimum = time.Duration(math.MinInt64)

// durationVar reads a Go duration (300ms, 5m, 168h) of at least min (noMinimum: any) into p.
func durationVar(name string, p *time.Duration, def, min time.Duration, doc string) setting {
	s := setting{name: name, kind: "duration", def: formatDuration(def), doc: doc}
	if min != noMinimum {
		s.min = formatDuration(min)
	}
	s.read = func(v string, bad badFunc) {
		*p = def
		if v == "" {
			return
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			bad("%s=%q is not a duration (examples: 300ms, 5m, 168h)", name, v)
			return
		}
		if d < min {
			bad("%s=%s must be at least %s", name, v, min)
		}
		*p = d
	}
	return s
}

// intVar reads a decimal integer of at least min into p. A value beyond what T holds is
// stored as math.MaxInt32, for the range checks after the table pass to refuse.
func intVar[T int | uint32](name string, p *T, def, min T, doc string) setting {
	s := setting{name: name, kind: "integer", def: strconv.Itoa(int(def)), min: strconv.Itoa(int(min)), doc: doc}
	s.read = func(v string, bad badFunc) {
		*p = def
		if v == "" {
			return
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < int(min) {
			bad("%s=%q must be an integer of at least %d", name, v, min)
			return
		}
		if *p = T(n); int(*p) != n {
			*p = math.MaxInt32
		}
	}
	return s
}

// rule tests a non-empty string setting's value and returns the problem, or "".
type rule func(name, v string) string

// textVar reads a string, trimmed of spaces, into p; each rule tests it unless it is empty.
func textVar(name string, p *string, def, doc string, rules ...rule) setting {
	s := setting{name: name, kind: "string", def: def, doc: doc}
	s.read = func(v string, bad badFunc) {
		if *p = strings.TrimSpace(v); *p == "" {
			*p = def
		}
		if *p == "" {
			return
		}
		for _, r := range rules {
			if problem := r(name, *p); problem != "" {
				bad("%s", problem)
			}
		}
	}
	return s
}

// verbatimVar reads a string as it is (a credential may hold spaces) into p; no default.
func verbatimVar(name string, p *string, doc string) setting {
	return setting{name: name, kind: "string", doc: doc, read: func(v string, bad badFunc) { *p = v }}
}

// secretVar reads a key, as it is, of at least minLen bytes when set, into p; no default.
func secretVar(name string, p *[]byte, minLen int, doc string) setting {
	return setting{name: name, kind: "secret", min: bytesMin(minLen), doc: doc, read: func(v string, bad badFunc) {
		*p = nil
		switch {
		case v == "":
		case len(v) < minLen:
			bad("%s must be at least %d bytes (generate one with: openssl rand -base64 48)", name, minLen)
		default:
			*p = []byte(v)
		}
	}}
}

// secretsVar reads comma-separated keys of at least minLen bytes each into p.
func secretsVar(name string, p *[][]byte, minLen int, doc string) setting {
	return setting{name: name, kind: "secrets", min: bytesMin(minLen), doc: doc, read: func(v string, bad badFunc) {
		*p = nil
		for i, k := range strings.Split(v, ",") {
			if k = strings.TrimSpace(k); k == "" {
				continue
			}
			if len(k) < minLen {
				bad("%s: secret %d is shorter than %d bytes", name, i+1, minLen)
				continue
			}
			*p = append(*p, []byte(k))
		}
	}}
}

// bytesMin writes a key's minimum length: "32 bytes", or "" for none.
func bytesMin(n int) string {
	if n <= 0 {
		return ""
	}
	return strconv.Itoa(n) + " bytes"
}

// boolWords says which values a boolean setting accepts.
type boolWords int

const (
	trueFalse boolWords = iota // true or 1, false or 0
	onOff                      // on, off
)

// words are the values meaning true and false, the first of each the one --help shows.
func (w boolWords) words() (yes, no []string) {
	if w == onOff {
		return []string{"on"}, []string{"off"}
	}
	return []string{"true", "1"}, []string{"false", "0"}
}

// boolVar reads one of words' values into p.
func boolVar(name string, p *bool, def bool, words boolWords, doc string) setting {
	yes, no := words.words()
	s := setting{name: name, kind: "boolean", def: no[0], doc: doc}
	if def {
		s.def = yes[0]
	}
	s.read = func(v string, bad badFunc) {
		*p = def
		switch {
		case v == "":
		case slices.Contains(yes, v):
			*p = true
		case slices.Contains(no, v):
			*p = false
		default:
			bad("%s=%q must be %s or %s", name, v, yes[0], no[0])
		}
	}
	return s
}

// listVar reads comma-separated items into p, leaving out empty ones; an item for which valid
// is false is reported as not being what (“host:port”, “an IP address or CIDR”).
func listVar(name string, p *[]string, valid func(string) bool, what, doc string) setting {
	return setting{name: name, kind: "list", doc: doc, read: func(v string, bad badFunc) {
		*p = nil
		for _, item := range strings.Split(v, ",") {
			if item = strings.TrimSpace(item); item == "" {
				continue
			}
			if !valid(item) {
				bad("%s: %q is not %s", name, item, what)
				continue
			}
			*p = append(*p, item)
		}
	}}
}

// levelVar reads a log level (debug, info, warn, error) into p.
func levelVar(name string, p *slog.Level, def slog.Level, doc string) setting {
	s := setting{name: name, kind: "level", def: strings.ToLower(def.String()), doc: doc}
	s.read = func(v string, bad badFunc) {
		*p = def
		t := strings.TrimSpace(v)
		if t == "" {
			return
		}
		if err := p.UnmarshalText([]byte(t)); err != nil {
			*p = def
			bad("%s=%q must be debug, info, warn or error", name, v)
		}
	}
	return s
}

// otelVar documents an OTEL_* variable, which tracing.ConfigFromEnv reads.
func otelVar(name, def, doc string) setting {
	return setting{name: name, kind: "otel", def: def, doc: doc}
}

// formatDuration writes d as one would in the variable: 168h, 1m, 300ms (not 168h0m0s).
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
