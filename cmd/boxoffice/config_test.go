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

// TestConfigOrders: the ordering settings' defaults, and their problems listed with the rest.
func TestConfigOrders(t *testing.T) {
	c, err := loadConfig(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.CancelCutoff != 2*time.Hour || c.PaymentGrace != 30*time.Second || c.IdempotencyLease != 15*time.Second ||
		!c.TestPayments || len(c.WebhookSecret) != 0 {
		t.Fatalf("order defaults = %v %v %v %v %q", c.CancelCutoff, c.PaymentGrace, c.IdempotencyLease, c.TestPayments, c.WebhookSecret)
	}
	if p := paymentProviders(c); len(p) != 1 || p["test"] == nil {
		t.Fatalf("default payment providers = %v", p)
	}
	c, err = loadConfig(env(map[string]string{"DATABASE_URL": "postgres://db/tickets"}))
	if err != nil || c.TestPayments || len(paymentProviders(c)) != 0 {
		t.Fatalf("with PostgreSQL, test payments are off unless asked for: %v, %v", c.TestPayments, err)
	}
	// A DATABASE_URL of blanks is unset, like every setting: the embedded store, whose test
	// payments are on (and demo data), as documented.
	c, err = loadConfig(env(map[string]string{"DATABASE_URL": "  "}))
	if err != nil || c.DatabaseURL != "" || !c.TestPayments {
		t.Fatalf("DATABASE_URL of blanks: %q, test payments %v, %v", c.DatabaseURL, c.TestPayments, err)
	}
	c, err = loadConfig(env(map[string]string{"DATABASE_URL": "postgres://db/tickets", "BOXOFFICE_TEST_PAYMENTS": "true"}))
	if err != nil || !c.TestPayments {
		t.Fatalf("BOXOFFICE_TEST_PAYMENTS=true with PostgreSQL: %v, %v", c.TestPayments, err)
	}
	c, err = loadConfig(env(map[string]string{"BOXOFFICE_CANCEL_CUTOFF": "30m", "BOXOFFICE_PAYMENT_GRACE": "40s",
		"BOXOFFICE_IDEMPOTENCY_LEASE": "20s", "BOXOFFICE_TEST_PAYMENTS": "false", "BOXOFFICE_PAYMENT_WEBHOOK_SECRET": "whsec-0123456789abcdef"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.CancelCutoff != 30*time.Minute || c.PaymentGrace != 40*time.Second || c.IdempotencyLease != 20*time.Second ||
		c.TestPayments || string(c.WebhookSecret) != "whsec-0123456789abcdef" || len(paymentProviders(c)) != 0 {
		t.Fatalf("order settings = %+v", c)
	}
	c, err = loadConfig(env(map[string]string{"BOXOFFICE_REQUEST_TIMEOUT": "30s"}))
	if err != nil || c.IdempotencyLease != 31*time.Second {
		t.Fatalf("the default lease under a 30s request deadline: %v %v", c.IdempotencyLease, err)
	}
	_, err = loadConfig(env(map[string]string{"BOXOFFICE_CANCEL_CUTOFF": "soon", "BOXOFFICE_PAYMENT_GRACE": "0s",
		"BOXOFFICE_IDEMPOTENCY_LEASE": "1s", "BOXOFFICE_TEST_PAYMENTS": "yes"}))
	if err == nil {
		t.Fatal("invalid order settings accepted")
	}
	for _, want := range []string{"BOXOFFICE_CANCEL_CUTOFF", "BOXOFFICE_PAYMENT_GRACE", "BOXOFFICE_TEST_PAYMENTS",
		"BOXOFFICE_IDEMPOTENCY_LEASE (1s) must be longer than BOXOFFICE_REQUEST_TIMEOUT"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
}
