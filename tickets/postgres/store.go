// Package postgres implements tickets.Store over PostgreSQL (pgx), the system of record.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/trace"

	"boxoffice/tickets"
)

// Options tunes a Store. Zero values take the documented defaults.
type Options struct {
	// MaxConns bounds the connection pool; default DefaultMaxConns.
	MaxConns int32
	// ConnectTimeout bounds each attempt to open a connection; default the url's
	// connect_timeout, else 5s.
	ConnectTimeout time.Duration
	// LockPerScreening is a baseline for benchmarks: serialise every hold of a screening with an
	// advisory lock (the pattern we improve on); never set in production.
	LockPerScreening bool
	// TracerProvider, when set, traces every SQL statement run under a recording span as a
	// child span (SQL text, never argument values; see tracing.go); nil traces nothing.
	TracerProvider trace.TracerProvider
}

// DefaultMaxConns is the connection pool's bound when Options.MaxConns is zero.
const DefaultMaxConns = 10

// Store is tickets.Store over a PostgreSQL connection pool. Every time it uses comes from the
// database's clock: now() of the transaction, the same for every statement in it. It is safe for
// concurrent use, and any number of Stores (processes) may share one database.
type Store struct {
	pool             *pgxpool.Pool
	closed           atomic.Bool
	lockPerScreening bool // Options.LockPerScreening
}

var _ tickets.Store = (*Store)(nil)

// Open connects to the database at url (a postgres:// URL or key=value DSN), checks that it
// answers, and applies the embedded migrations (see Migrate): several processes may Open one
// database at once. It returns an error wrapping tickets.ErrUnavailable when the database cannot
// be reached, and a plain error for a malformed url or a failed migration.
func Open(ctx context.Context, url string, o Options) (*Store, error) {
	s, err := connect(ctx, url, o)
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, s.pool); err != nil {
		err = s.fail(err)
		s.Close()
		return nil, err
	}
	return s, nil
}

// connect opens the pool and pings the database.
func connect(ctx context.Context, url string, o Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The parser's message quotes the url, which may hold a password.
		return nil, errors.New("postgres: invalid connection string")
	}
	cfg.MaxConns = o.MaxConns
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if o.ConnectTimeout > 0 {
		cfg.ConnConfig.ConnectTimeout = o.ConnectTimeout
	} else if cfg.ConnConfig.ConnectTimeout <= 0 {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	if o.TracerProvider != nil {
		cfg.ConnConfig.Tracer = newQueryTracer(o.TracerProvider, cfg.ConnConfig)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &Store{pool: pool, lockPerScreening: o.LockPerScreening}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Ping checks that the database answers; otherwise it returns an error wrapping
// tickets.ErrUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	return s.fail(s.pool.Ping(ctx))
}

// Close closes the pool's connections; later calls return errors wrapping
// tickets.ErrUnavailable.
func (s *Store) Close() {
	s.closed.Store(true)
	s.pool.Close()
}

// maxAttempts bounds how often a write transaction runs when PostgreSQL aborts it for a
// deadlock or a serialization failure (or, for Hold, a concurrent hold of the same user).
const maxAttempts = 3

// retry runs fn until it succeeds, fails for good, or has run maxAttempts times; then it maps
// the error (see fail).
func (s *Store) retry(ctx context.Context, fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || attempt == maxAttempts || !transient(err) || ctx.Err() != nil {
			return s.fail(err)
		}
	}
}

// conn is one connection running a transaction by hand, so that BEGIN and COMMIT travel in the
// same round trips (pipelines) as the statements around them: row locks are then held for the
// server's work and the commit, not for a network round trip.
type conn struct {
	c *pgxpool.Conn
}

func (s *Store) acquire(ctx context.Context) (*conn, error) {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	return &conn{c: c}, nil
}

// send sends b as one pipeline and reads every result, calling the queued callbacks.
func (c *conn) send(ctx context.Context, b *pgx.Batch) error {
	return c.c.SendBatch(ctx, b).Close()
}

// release rolls back whatever transaction is still open and gives the connection back (the pool
// drops a connection that is still in a transaction or broken).
func (c *conn) release() {
	pc := c.c.Conn()
	if !pc.IsClosed() && pc.PgConn().TxStatus() != 'I' {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, _ = pc.Exec(ctx, "ROLLBACK")
		cancel()
	}
	c.c.Release()
}

// newBatch returns a pipeline that begins a transaction.
func newBatch() *pgx.Batch {
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	return b
}
