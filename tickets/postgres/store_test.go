package postgres_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"boxoffice/tickets"
	"boxoffice/tickets/postgres"
	"boxoffice/tickets/ticketstest"
)

// open returns a store over a fresh throwaway database, closed when the test ends.
func open(t *testing.T) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), ticketstest.PostgresURL(t), postgres.Options{MaxConns: 8})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestConformance(t *testing.T) {
	ticketstest.Run(t, func(t *testing.T) tickets.Store { return open(t) })
}

// TestMigrateTwice: migrating a migrated database changes nothing and is not an error.
func TestMigrateTwice(t *testing.T) {
	url := ticketstest.PostgresURL(t)
	for i := range 2 {
		if err := postgres.Migrate(t.Context(), url); err != nil {
			t.Fatalf("Migrate #%d: %v", i+1, err)
		}
	}
	s, err := postgres.Open(t.Context(), url, postgres.Options{})
	if err != nil {
		t.Fatalf("Open after two migrations: %v", err)
	}
	s.Close()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var applied int
	if err := conn.QueryRow(t.Context(),
		`SELECT count(*) FROM goose_db_version WHERE version_id > 0 AND is_applied`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migration files: %v", err)
	}
	if applied != len(files) {
		t.Fatalf("goose_db_version records %d applied migrations after three runs, want %d (one per file)", applied, len(files))
	}
}

// TestConcurrentOpen: instances starting at once on a fresh database take turns migrating.
func TestConcurrentOpen(t *testing.T) {
	url := ticketstest.PostgresURL(t)
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			s, err := postgres.Open(t.Context(), url, postgres.Options{MaxConns: 2})
			if err == nil {
				_, err = s.Movies(t.Context(), tickets.MovieQuery{Limit: 1})
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open #%d of %d at once: %v", i+1, n, err)
		}
	}
}

// wantUnavailable fails unless err wraps tickets.ErrUnavailable.
func wantUnavailable(t *testing.T, err error, why string) {
	t.Helper()
	if !errors.Is(err, tickets.ErrUnavailable) {
		t.Fatalf("%s: err = %v, want tickets.ErrUnavailable", why, err)
	}
}

func TestUnavailable(t *testing.T) {
	t.Run("OpenClosedPort", func(t *testing.T) {
		// Port 1 on the loopback address: nothing listens there, the connection is refused.
		_, err := postgres.Open(t.Context(), "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable",
			postgres.Options{})
		wantUnavailable(t, err, "Open against a closed port")
	})
	t.Run("AfterClose", func(t *testing.T) {
		s := open(t)
		s.Close()
		_, err := s.Availability(t.Context(), "x")
		wantUnavailable(t, err, "Availability after Close")
		wantUnavailable(t, s.Ping(t.Context()), "Ping after Close")
	})
	t.Run("CancelledContext", func(t *testing.T) {
		s := open(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := s.Movie(ctx, "x")
		wantUnavailable(t, err, "Movie with a cancelled context")
	})
	t.Run("DatabaseGone", func(t *testing.T) {
		url := ticketstest.PostgresURL(t)
		s, err := postgres.Open(t.Context(), url, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		// Terminate the store's connections and make new ones impossible: every later call
		// meets either a dead connection or a refused one.
		conn, err := pgx.Connect(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		name := dbName(t, conn)
		conn.Close(context.Background())
		admin := os.Getenv(ticketstest.PostgresEnv)
		if admin == "" {
			admin = ticketstest.DefaultPostgres
		}
		if conn, err = pgx.Connect(t.Context(), admin); err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(t.Context(), `ALTER DATABASE `+name+` ALLOW_CONNECTIONS false`); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(t.Context(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = $1`, strings.Trim(name, `"`)); err != nil {
			t.Fatal(err)
		}
		_, err = s.Availability(t.Context(), "x")
		wantUnavailable(t, err, "Availability with the database refusing connections")
		_, err = s.Hold(t.Context(), tickets.HoldTx{ID: "h", ScreeningID: "x", UserID: "u", SessionID: "s",
			TTL: 1e9, Plan: func(tickets.Availability) ([]string, tickets.Money, error) {
				return []string{"A1"}, tickets.Money{}, nil
			}})
		wantUnavailable(t, err, "Hold with the database refusing connections")
		wantUnavailable(t, s.Ping(t.Context()), "Ping with the database refusing connections")
	})
}

func dbName(t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	var name string
	if err := conn.QueryRow(t.Context(), `SELECT quote_ident(current_database())`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	return name
}

// TestHoldRefusals: what Hold refuses beyond the conformance suite.
func TestHoldRefusals(t *testing.T) {
	s := open(t)
	scr, seats := bigHall(t, s, 1, 4)
	ctx := t.Context()
	first := tickets.HoldTx{ID: "h1", ScreeningID: scr, UserID: "u1", SessionID: "s1", TTL: time.Minute,
		Plan: fixedPlan(seats[0])}
	if _, err := s.Hold(ctx, first); err != nil {
		t.Fatal(err)
	}
	again := first
	again.UserID, again.Plan = "u2", fixedPlan(seats[1])
	if _, err := s.Hold(ctx, again); !errors.Is(err, tickets.ErrConflict) {
		t.Fatalf("Hold with a hold ID already taken: err = %v, want ErrConflict", err)
	}
	none := tickets.HoldTx{ID: "h2", ScreeningID: scr, UserID: "u3", SessionID: "s3", TTL: time.Minute,
		Plan: fixedPlan()}
	if _, err := s.Hold(ctx, none); !errors.Is(err, tickets.ErrInvalidInput) {
		t.Fatalf("Hold of no seat: err = %v, want FieldErrors", err)
	}
	if a, err := s.Availability(ctx, scr); err != nil || len(a.Taken) != 1 {
		t.Fatalf("availability after refused holds = %v, %v; want only %s taken", a.Taken, err, seats[0])
	}
}
