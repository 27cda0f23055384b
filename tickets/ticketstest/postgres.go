package ticketstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresEnv names the environment variable holding the URL of the PostgreSQL server that
// PostgresURL creates its databases on (a database there to connect to, usually "postgres").
const PostgresEnv = "BOXOFFICE_TEST_POSTGRES"

// DefaultPostgres is the server PostgresURL uses when PostgresEnv is unset: the one every
// development and CI machine runs.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// PostgresURL creates an empty database named bx_test_<32 hex digits> on the server named by
// $BOXOFFICE_TEST_POSTGRES (default DefaultPostgres), returns its URL, and drops it (WITH
// (FORCE), closing any connection left) when the test ends. It touches no other database.
//
// When the server cannot be reached the test is skipped, loudly, except in CI (CI=true), where
// PostgreSQL is required and the test fails.
func PostgresURL(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(PostgresEnv)
	if admin == "" {
		admin = DefaultPostgres
	}
	u, err := url.Parse(admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("$%s must be a postgres:// URL", PostgresEnv)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		msg := "PostgreSQL is not reachable at " + redacted(u) + ": " + err.Error()
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s (CI requires PostgreSQL)", msg)
		}
		t.Skipf("SKIPPING: %s.\n"+
			"\tThese tests need a PostgreSQL server (13 or later) where they may create databases: install\n"+
			"\tone (Debian: apt-get install postgresql) and allow local trust auth for user postgres, or point\n"+
			"\t$%s at one, e.g. postgres://user:pass@host:5432/postgres?sslmode=disable.", msg, PostgresEnv)
	}
	defer conn.Close(ctx)

	var b [16]byte
	_, _ = rand.Read(b[:])
	name := "bx_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create throwaway database %s: %v", name, err)
	}
	t.Cleanup(func() { dropDatabase(t, admin, name) })

	u.Path = "/" + name
	return u.String()
}

// dropDatabase drops the throwaway database name, which only PostgresURL creates.
func dropDatabase(t testing.TB, admin, name string) {
	if !strings.HasPrefix(name, "bx_test_") {
		t.Errorf("refusing to drop database %q: not a throwaway database", name)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Errorf("drop throwaway database %s: %v", name, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		t.Errorf("drop throwaway database %s: %v", name, err)
	}
}

// redacted is u without its password, for messages.
func redacted(u *url.URL) string {
	c := *u
	if c.User != nil {
		c.User = url.User(c.User.Username())
	}
	return c.String()
}
