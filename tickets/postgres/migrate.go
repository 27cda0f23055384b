package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLockID is the advisory lock (a 64-bit key) that serialises migrations of one
// database across processes ("boxtick" in ASCII), distinct from goose's default so that another
// goose user of the same database neither waits for us nor we for it.
const migrationLockID int64 = 0x626f78_7469636b

// Migrate applies the embedded migrations that the database at url has not had yet, and
// returns once it is at the newest version (Open does this itself). Processes that migrate one
// database at the same time take turns on a session-level advisory lock (so migrations need a
// session, not a PgBouncer transaction-pool connection); one that waits more than 5 minutes
// gives up. It returns an error wrapping tickets.ErrUnavailable when the database cannot be
// reached.
func Migrate(ctx context.Context, url string) error {
	s, err := connect(ctx, url, Options{MaxConns: 2})
	if err != nil {
		return err
	}
	defer s.Close()
	return s.fail(migrate(ctx, s.pool))
}

// migrate runs the migrations over pool, one transaction per migration file.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(migrationLockID),
		lock.WithLockTimeout(1, 300),  // try every second for 5 minutes
		lock.WithUnlockTimeout(1, 60), // the lock also goes with the session
	)
	if err != nil {
		return err
	}
	db := stdlib.OpenDBFromPool(pool)
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		_ = db.Close()
		return err
	}
	defer p.Close() // closes db, not the pool
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}
