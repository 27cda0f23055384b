package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"reflect"
	"strings"
	"time"
	"unicode"
)

// masked replaces a secret's value in the configuration line.
const masked = "[masked]"

// logConfig logs the effective configuration once, as one JSON line "configuration" with every
// field of cfg (snake_case names, nested structs as groups), secrets masked:
//   - every []byte and [][]byte (the JWT secrets, the webhook secret) and every map value
//     (OTLP headers) show as "[masked]" when set;
//   - string fields whose name says password, secret, token or key likewise;
//   - URLs keep their scheme, host and path but lose the password and the query parameters
//     that could carry one (REDIS_URL, DATABASE_URL, the OTLP endpoint).
//
// Fields are found by reflection, so a setting added to config is logged without more code; a
// secret added as a string needs a name that says so (the test checks the known ones).
func logConfig(log *slog.Logger, cfg config) {
	log.LogAttrs(context.Background(), slog.LevelInfo, "configuration", structAttrs(reflect.ValueOf(cfg))...)
}

func structAttrs(v reflect.Value) []slog.Attr {
	t := v.Type()
	out := make([]slog.Attr, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		out = append(out, fieldAttr(snake(f.Name), v.Field(i)))
	}
	return out
}

func fieldAttr(name string, v reflect.Value) slog.Attr {
	switch x := v.Interface().(type) {
	case time.Duration:
		return slog.String(name, x.String())
	case slog.Level:
		return slog.String(name, x.String())
	case []byte:
		return slog.String(name, mask(len(x) > 0))
	case [][]byte:
		return slog.Int(name+"_count", len(x)) // how many, never what
	}
	switch v.Kind() {
	case reflect.Struct:
		return slog.Attr{Key: name, Value: slog.GroupValue(structAttrs(v)...)}
	case reflect.Map:
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, fmt.Sprint(k.Interface()))
		}
		return slog.Any(name, keysOnly(keys))
	case reflect.String:
		s := v.String()
		if secretName(name) {
			return slog.String(name, mask(s != ""))
		}
		return slog.String(name, redactURL(s))
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.String {
			xs := make([]string, v.Len())
			for i := range xs {
				xs[i] = redactURL(v.Index(i).String())
			}
			return slog.Any(name, xs)
		}
	}
	return slog.Any(name, v.Interface())
}

// keysOnly shows a map's keys with every value masked.
func keysOnly(keys []string) map[string]string {
	m := make(map[string]string, len(keys))
	for _, k := range keys {
		m[k] = masked
	}
	return m
}

func mask(set bool) string {
	if set {
		return masked
	}
	return ""
}

// secretName reports whether a field's name says it holds a credential.
func secretName(name string) bool {
	for _, w := range []string{"password", "secret", "token", "key"} {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// redactURL masks the password of a URL with user info and the values of query parameters that
// could hold a credential; other strings are returned as they are.
func redactURL(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		return masked // unparsable, but URL-shaped: it may hold anything
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), masked)
		}
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			if lk := strings.ToLower(k); secretName(lk) || strings.Contains(lk, "pass") {
				q.Set(k, masked)
			}
		}
		u.RawQuery = q.Encode()
	}
	return strings.NewReplacer(url.QueryEscape(masked), masked, url.PathEscape(masked), masked).Replace(u.String())
}

// snake turns a Go field name into snake_case: JWTSecret → jwt_secret, DBMaxConns → db_max_conns.
func snake(s string) string {
	s = strings.NewReplacer("KiB", "Kib", "SQLite", "Sqlite").Replace(s) // one word each
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if unicode.IsUpper(r) {
			prevLower := i > 0 && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1]))
			nextLower := i > 0 && i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1])
			if prevLower || nextLower {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
