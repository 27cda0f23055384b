// Package sqlite implements tickets.Store over embedded, pure-Go SQLite (modernc.org/sqlite), the
// zero-configuration store for development and demos.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"boxoffice/tickets"
)

// busyTimeout is how long a statement waits for another process's write lock on the database
// file before failing with SQLITE_BUSY (reported as tickets.ErrUnavailable). A variable for
// tests.
var busyTimeout = 5 * time.Second

//go:embed migrations/*.sql
var migrations embed.FS

// Options configures a Store. Zero values take the documented defaults.
type Options struct {
	// Now is the database's clock: SQLite has none of its own, so every "now" in the
	// tickets.Store semantics (hold deadlines, lazy expiry, screenings that have started or
	// ended) is read from it, once per transaction. Default time.Now.
	Now func() time.Time
}

// Store is a tickets.Store over one SQLite database. It is safe for concurrent use. Every
// method returns an error wrapping tickets.ErrUnavailable when the database cannot be
// consulted: the context ended, the store is closed, another process kept the file locked past
// the busy timeout (5 s), or the disk failed. tickets.ErrNotFound is returned unwrapped.
type Store struct {
	db  *sql.DB
	now func() time.Time

	publishing sync.Mutex // held by the one PublishSeatEvents call that publishes
}

var _ tickets.Store = (*Store)(nil)

// Open opens (creating it if missing) the SQLite database at path and migrates it to the
// current schema (the embedded goose migrations; those already applied are skipped). Path ""
// or ":memory:" means a private in-memory database that lives until Close; a path may also be
// a "file:" URI, whose query parameters SQLite applies. Files use WAL journaling. Open returns
// an error when the file cannot be opened or the schema cannot be migrated.
//
// The store keeps a single connection. SQLite allows one writer at a time anyway, and every
// write transaction here begins IMMEDIATE (taking the write lock up front), so more connections
// would only add SQLITE_BUSY waits; an in-memory database exists only in its connection; and
// with one connection, transactions of this process are serialised by database/sql, which is
// what makes the checks done in a transaction (hall overlap, seat blocking) safe.
func Open(ctx context.Context, path string, o Options) (*Store, error) {
	memory := path == "" || path == ":memory:"
	if memory {
		path = ":memory:"
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	// _txlock=immediate: BeginTx issues BEGIN IMMEDIATE (read-only transactions a plain BEGIN).
	dsn := path + sep + fmt.Sprintf("_txlock=immediate&_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)",
		busyTimeout.Milliseconds())
	if !memory {
		dsn += "&_journal_mode=WAL"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0) // never recycle the connection: it is the in-memory database
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := migrate(ctx, db); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlite: migrate %s: %w", path, err)
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, now: now}, nil
}

// migrate applies the embedded migrations that the database has not seen yet.
func migrate(ctx context.Context, db *sql.DB) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys,
		goose.WithDisableGlobalRegistry(true)) // other packages' Go migrations are not ours
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}

// Ping checks that the database answers; it returns an error wrapping tickets.ErrUnavailable
// otherwise (also after Close).
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return storeErr(ctx, s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one))
}

// Close closes the database (an in-memory one is gone); later calls return errors wrapping
// tickets.ErrUnavailable. A transaction in progress finishes first.
func (s *Store) Close() { _ = s.db.Close() }

// clock is the store's "now", to the millisecond that the database keeps, in UTC.
func (s *Store) clock() time.Time { return fromMillis(s.now().UnixMilli()) }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
