package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"boxoffice/tickets"
	"boxoffice/tickets/ticketstest"
)

// TestConformance runs the suite shared with tickets/postgres against a fresh in-memory
// database per case, on the host's clock (the suite's expiry cases wait for real deadlines).
func TestConformance(t *testing.T) {
	ticketstest.Run(t, func(t *testing.T) tickets.Store {
		s, err := Open(t.Context(), "", Options{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(s.Close)
		return s
	})
}

func TestReopenFileKeepsDataAndMigratesOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "boxoffice.db")
	clock := newFakeClock()
	s, err := Open(t.Context(), path, Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	w := seed(t, s, clock)
	s.Close()

	s, err = Open(t.Context(), path, Options{Now: clock.Now})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if m, err := s.Movie(t.Context(), w.movie.ID); err != nil || m.Title != w.movie.Title {
		t.Fatalf("after reopen: Movie = %+v, %v", m, err)
	}
	var applied int
	var mode string
	if err := s.db.QueryRow(`SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	if err := s.db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil || len(files) < 2 {
		t.Fatalf("embedded migrations: %v, %v", files, err)
	}
	if applied != len(files) || mode != "wal" {
		t.Fatalf("%d migrations applied (want each of %d once), journal_mode %q (want wal)", applied, len(files), mode)
	}
	var fk int
	if err := s.db.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign_keys = %d, %v; want 1", fk, err)
	}
}

func TestClosedStoreIsUnavailable(t *testing.T) {
	s, err := Open(t.Context(), ":memory:", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	s.Close()
	ctx := t.Context()
	for name, err := range map[string]error{
		"Ping":  s.Ping(ctx),
		"Movie": func() error { _, err := s.Movie(ctx, "x"); return err }(),
		"PutMovie": func() error {
			_, err := s.PutMovie(ctx, tickets.Movie{ID: "x", Title: "X", DurationMinutes: 1})
			return err
		}(),
		"Hold": func() error { _, err := s.Hold(ctx, holdTx("h", "scr", "u", time.Minute, "A1")); return err }(),
	} {
		if !errors.Is(err, tickets.ErrUnavailable) {
			t.Errorf("%s after Close: err = %v, want ErrUnavailable", name, err)
		}
	}
}

func TestEndedContextIsUnavailable(t *testing.T) {
	clock := newFakeClock()
	s := openMem(t, clock)
	w := seed(t, s, clock)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Screening(ctx, w.scr.ID); !errors.Is(err, tickets.ErrUnavailable) {
		t.Fatalf("Screening with a cancelled context: err = %v, want ErrUnavailable", err)
	}
	if _, err := s.Hold(ctx, holdTx("h1", w.scr.ID, "u1", time.Minute, "A1")); !errors.Is(err, tickets.ErrUnavailable) {
		t.Fatalf("Hold with a cancelled context: err = %v, want ErrUnavailable", err)
	}
	if got := available(t, s, w.scr.ID); len(got.Taken) != 0 {
		t.Fatalf("a hold with a cancelled context took seats: %v", got.Taken)
	}
}

// Another process holding the file's write lock until the context ends, or past the busy
// timeout, makes writes ErrUnavailable (reads go on, thanks to WAL).
func TestLockedFileIsUnavailable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "boxoffice.db")
	clock := newFakeClock()
	s, err := Open(t.Context(), path, Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w := seed(t, s, clock)
	defer func(d time.Duration) { busyTimeout = d }(busyTimeout)
	busyTimeout = 200 * time.Millisecond
	impatient, err := Open(t.Context(), path, Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer impatient.Close()

	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}

	if _, err := s.Screening(t.Context(), w.scr.ID); err != nil {
		t.Fatalf("read while another process writes: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, err := s.Hold(ctx, holdTx("h1", w.scr.ID, "u1", time.Minute, "A1")); !errors.Is(err, tickets.ErrUnavailable) {
		t.Fatalf("Hold while the file is locked, context ending: err = %v, want ErrUnavailable", err)
	}
	if _, err := impatient.PutMovie(t.Context(), w.movie); !errors.Is(err, tickets.ErrUnavailable) ||
		!strings.Contains(err.Error(), "SQLITE_BUSY") {
		t.Fatalf("PutMovie while the file is locked past the busy timeout: err = %v, want ErrUnavailable (SQLITE_BUSY)", err)
	}
	if _, err := conn.ExecContext(t.Context(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	mustHold(t, s, holdTx("h1", w.scr.ID, "u1", time.Minute, "A1"))
}

// 00002 rebuilds seat_claims: the claims of a database made before it survive the upgrade (and
// its Down), with their versions.
func TestOrdersMigrationKeepsClaims(t *testing.T) {
	path := filepath.Join(t.TempDir(), "boxoffice.db")
	clock := newFakeClock()
	s, err := Open(t.Context(), path, Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	w := seed(t, s, clock)
	mustHold(t, s, holdTx("h1", w.scr.ID, "u1", 10*time.Minute, "A1", "A2"))
	if err := s.SetBlocked(t.Context(), w.scr.ID, []string{"A4"}, true); err != nil {
		t.Fatal(err)
	}
	before := available(t, s, w.scr.ID)
	s.Close()

	db, err := sql.Open("sqlite", path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(t.Context(), 1); err != nil {
		t.Fatalf("down to 00001: %v", err)
	}
	var tables int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name IN ('orders', 'seat_claims_old')`).Scan(&tables); err != nil || tables != 0 {
		t.Fatalf("after Down: %d leftover tables, %v", tables, err)
	}
	_ = db.Close()

	s, err = Open(t.Context(), path, Options{Now: clock.Now})
	if err != nil {
		t.Fatalf("upgrading: %v", err)
	}
	defer s.Close()
	if after := available(t, s, w.scr.ID); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("claims after the upgrade: %+v; want %+v", after, before)
	}
	o := mustBegin(t, s, beginTx("o1", "h1", "u1", "k1"))
	if got := finish(t, s, o, tickets.PaymentSucceeded).Order; got.Status != tickets.OrderConfirmed {
		t.Fatalf("paying on the upgraded database: %+v", got)
	}
}

// 00003 moves the availability version to seat_feed: a screening's version continues from the
// highest version of its claims (what it was before), and its Down leaves versions that the
// code before it keeps growing.
func TestSeatEventsMigrationKeepsVersionsGrowing(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "boxoffice.db")
	clock := newFakeClock()
	s, err := Open(ctx, path, Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	w := seed(t, s, clock)
	mustHold(t, s, holdTx("h1", w.scr.ID, "u1", 10*time.Minute, "A1", "A2"))
	mustHold(t, s, holdTx("h2", w.scr.ID, "u1", 10*time.Minute, "A2", "A3"))
	before := available(t, s, w.scr.ID)
	s.Close()
	if before.Version != 2 {
		t.Fatalf("version %d after two holds; want 2", before.Version)
	}

	db, err := sql.Open("sqlite", path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 2); err != nil {
		t.Fatalf("down to 00002: %v", err)
	}
	// The code before 00003: the version is the highest claim version, and a change takes the
	// next value of the counter.
	var old, next int64
	if err := db.QueryRow(`SELECT max(version) FROM seat_claims WHERE screening_id = ?`, w.scr.ID).Scan(&old); err != nil || old != before.Version {
		t.Fatalf("after Down: version %d, %v; want %d", old, err, before.Version)
	}
	if err := db.QueryRow(`UPDATE claim_version SET value = value + 1 RETURNING value`).Scan(&next); err != nil || next <= old {
		t.Fatalf("after Down: the counter gives %d, %v; want above %d", next, err, old)
	}
	if _, err := db.Exec(`INSERT INTO seat_claims (screening_id, seat_id, state, version, updated_at) VALUES (?, 'B4', 'blocked', ?, ?)`,
		w.scr.ID, next, clock.Now().UnixMilli()); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()

	s, err = Open(ctx, path, Options{Now: clock.Now})
	if err != nil {
		t.Fatalf("upgrading: %v", err)
	}
	defer s.Close()
	a := available(t, s, w.scr.ID)
	if a.Version != next || a.Taken["B4"].State != tickets.Blocked || len(a.Taken) != 3 {
		t.Fatalf("after the upgrade: version %d, taken %+v; want version %d with A2, A3 held and B4 blocked", a.Version, a.Taken, next)
	}
	if evs, cur, err := s.SeatEvents(ctx, w.scr.ID, 0, 10); err != nil || len(evs) != 0 || cur != next {
		t.Fatalf("after the upgrade: SeatEvents = %+v, %d, %v; want none (made before it), version %d", evs, cur, err, next)
	}
	if err := s.SetBlocked(ctx, w.scr.ID, []string{"B4"}, false); err != nil {
		t.Fatal(err)
	}
	evs, cur, err := s.SeatEvents(ctx, w.scr.ID, next, 10)
	if err != nil || cur != next+1 || len(evs) != 1 || evs[0].Version != next+1 ||
		fmt.Sprint(evs[0].Seats) != fmt.Sprint([]tickets.SeatChange{{SeatID: "B4", Status: tickets.Available}}) ||
		!evs[0].At.Equal(clock.Now()) {
		t.Fatalf("unblocking after the upgrade: SeatEvents = %+v, %d, %v; want one event, version %d, B4 available, at %v",
			evs, cur, err, next+1, clock.Now())
	}
	if c := claimOf(t, s, w.scr.ID, "B4"); c.version != next+1 {
		t.Fatalf("the unblocked claim has version %d; want the screening's, %d", c.version, next+1)
	}
}
