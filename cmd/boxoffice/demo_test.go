package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"boxoffice/tickets/ticketstest"
)

// TestDemoDataCommand: `boxoffice demo-data` loads the demo catalogue into the configured
// database, PostgreSQL or an SQLite file, and loading it again adds nothing; without a
// database to load into it refuses.
func TestDemoDataCommand(t *testing.T) {
	for name, db := range map[string]func(t *testing.T) map[string]string{
		"sqlite": func(t *testing.T) map[string]string {
			return map[string]string{"BOXOFFICE_SQLITE_PATH": filepath.Join(t.TempDir(), "tickets.db")}
		},
		"postgres": func(t *testing.T) map[string]string {
			return map[string]string{"DATABASE_URL": ticketstest.PostgresURL(t)}
		},
	} {
		t.Run(name, func(t *testing.T) {
			vars := db(t)
			var first, second bytes.Buffer
			if err := run(context.Background(), []string{"demo-data"}, env(vars), &first, &first); err != nil {
				t.Fatalf("demo-data: %v\n%s", err, first.String())
			}
			if !strings.Contains(first.String(), "demo catalogue loaded: 6 movies") || strings.Contains(first.String(), " 0 new screenings") {
				t.Fatalf("first load said: %s", first.String())
			}
			if err := run(context.Background(), []string{"demo-data"}, env(vars), &second, &second); err != nil {
				t.Fatalf("second demo-data: %v", err)
			}
			if !strings.Contains(second.String(), " 0 new screenings") {
				t.Fatalf("loading twice must add nothing; it said: %s", second.String())
			}
		})
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"demo-data"}, env(nil), &out, &out); err == nil ||
		!strings.Contains(err.Error(), "DATABASE_URL") {
		t.Fatalf("demo-data with no database: %v, want an error naming DATABASE_URL", err)
	}
}
