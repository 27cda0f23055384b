package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

// TestConfigLogMasksSecrets: the configuration line is one JSON line with every setting, and
// none of the secrets given in the environment.
func TestConfigLogMasksSecrets(t *testing.T) {
	secrets := map[string]string{
		"BOXOFFICE_JWT_SECRET":             "jwt-secret-0123456789-0123456789-abcdef",
		"BOXOFFICE_JWT_PREVIOUS_SECRETS":   "old-secret-0123456789-0123456789-abcdef,older-secret-0123456789-0123456789-ab",
		"BOXOFFICE_PAYMENT_WEBHOOK_SECRET": "whsec-webhook-secret-value",
		"REDIS_URL":                        "redis://app:redis-url-password@redis.internal:6379/0",
		"DATABASE_URL":                     "postgres://tickets:db-password@pg.internal:5432/boxoffice?sslmode=disable&password=db-query-password",
		"OTEL_EXPORTER_OTLP_HEADERS":       "authorization=Bearer%20otlp-header-token,x-api-key=otlp-api-key",
		"OTEL_EXPORTER_OTLP_ENDPOINT":      "https://otel:otlp-endpoint-password@collector.example:4318",
	}
	cfg, err := loadConfig(env(secrets))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	logConfig(slog.New(slog.NewJSONHandler(&buf, nil)), cfg)
	line := buf.String()
	if strings.Count(line, "\n") != 1 {
		t.Fatalf("want one line, got %q", line)
	}
	for _, s := range []string{"jwt-secret", "old-secret", "older-secret", "whsec-webhook", "redis-url-password",
		"db-password", "db-query-password", "otlp-header-token", "otlp-api-key", "otlp-endpoint-password"} {
		if strings.Contains(line, s) {
			t.Errorf("the configuration line shows %q:\n%s", s, line)
		}
	}
	var rec struct {
		Msg             string
		Addr            string
		RedisURL        string   `json:"redis_url"`
		RedisPassword   string   `json:"redis_password"`
		JWTSecret       string   `json:"jwt_secret"`
		PreviousSecrets int      `json:"previous_secrets_count"`
		DatabaseURL     string   `json:"database_url"`
		AccessTTL       string   `json:"access_ttl"`
		DBMaxConns      int      `json:"db_max_conns"`
		LogLevel        string   `json:"log_level"`
		ClusterAddrs    []string `json:"cluster_addrs"`
		Tracing         struct {
			Enabled  bool
			Endpoint string
			Headers  map[string]string
		}
	}
	if err := json.Unmarshal([]byte(line), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Msg != "configuration" || rec.Addr != ":8080" || rec.AccessTTL != "5m0s" || rec.DBMaxConns != 10 || rec.LogLevel != "INFO" ||
		rec.JWTSecret != masked || rec.PreviousSecrets != 2 || rec.RedisPassword != "" ||
		rec.RedisURL != "redis://app:[masked]@redis.internal:6379/0" ||
		!strings.HasPrefix(rec.DatabaseURL, "postgres://tickets:[masked]@pg.internal:5432/boxoffice?") ||
		!strings.Contains(rec.DatabaseURL, "sslmode=disable") ||
		!rec.Tracing.Enabled || rec.Tracing.Headers["authorization"] != masked ||
		rec.Tracing.Endpoint != "https://otel:[masked]@collector.example:4318/v1/traces" {
		t.Fatalf("configuration line %+v\n%s", rec, line)
	}
}

func TestSnake(t *testing.T) {
	for in, want := range map[string]string{"JWTSecret": "jwt_secret", "DBMaxConns": "db_max_conns", "Addr": "addr",
		"RedisURL": "redis_url", "Argon2MemoryKiB": "argon2_memory_kib", "TTL": "ttl", "SQLitePath": "sqlite_path", "ClusterAddrs": "cluster_addrs"} {
		if got := snake(in); got != want {
			t.Errorf("snake(%q) = %q, want %q", in, got, want)
		}
	}
}
