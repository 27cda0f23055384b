package main

import (
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigDefaults(t *testing.T) {
	c, err := loadConfig(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.AccessTTL != 5*time.Minute || c.IdleTTL != 7*24*time.Hour ||
		c.AbsoluteTTL != 30*24*time.Hour || c.RefreshGrace != 10*time.Second || !c.SecretGenerated ||
		len(c.JWTSecret) < 32 || c.MaxDataKeys != 64 || c.MaxDataBytes != 16384 {
		t.Fatalf("defaults = %+v", c)
	}
	c, err = loadConfig(env(map[string]string{"BOXOFFICE_REFRESH_GRACE": "0s"}))
	if err != nil || c.RefreshGrace != 0 {
		t.Fatalf("grace 0s: %v %v", c.RefreshGrace, err)
	}
}

func TestConfigListsEveryProblem(t *testing.T) {
	_, err := loadConfig(env(map[string]string{
		"REDIS_URL":                       "redis://127.0.0.1:6399",
		"BOXOFFICE_ACCESS_TTL":            "five minutes",
		"BOXOFFICE_IDLE_TTL":              "10ms",
		"BOXOFFICE_ADDR":                  "8080",
		"BOXOFFICE_LOG_LEVEL":             "loud",
		"BOXOFFICE_TRUSTED_PROXIES":       "10.0.0.0/8, not-an-ip",
		"BOXOFFICE_SESSION_DATA_MAX_KEYS": "-1",
	}))
	if err == nil {
		t.Fatal("invalid configuration accepted")
	}
	for _, want := range []string{"BOXOFFICE_JWT_SECRET is required", "BOXOFFICE_ACCESS_TTL", "BOXOFFICE_IDLE_TTL",
		"BOXOFFICE_ADDR", "BOXOFFICE_LOG_LEVEL", "not-an-ip", "BOXOFFICE_SESSION_DATA_MAX_KEYS"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
	_, err = loadConfig(env(map[string]string{"REDIS_URL": "redis://x:1", "BOXOFFICE_JWT_SECRET": "short"}))
	if err == nil || !strings.Contains(err.Error(), "at least 32 bytes") {
		t.Fatalf("short secret: %v", err)
	}
	_, err = loadConfig(env(map[string]string{"REDIS_URL": "http://x"}))
	if err == nil || !strings.Contains(err.Error(), "redis://") {
		t.Fatalf("bad scheme: %v", err)
	}
}
