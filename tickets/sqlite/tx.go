package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"

	"boxoffice/tickets"
)

// tx is one transaction and the instant of the store's clock it runs at.
type tx struct {
	*sql.Tx
	now time.Time
}

// ms is tx.now in the stored form.
func (t *tx) ms() int64 { return t.now.UnixMilli() }

// closeFeed ends the transaction's hold on the availability versions it took (migration
// 00003): the triggers on seat_claims take a screening's next version, once, when its
// seat_feed row is not open, and open it. Every write transaction runs this just before
// COMMIT, so the next transaction takes the next version again.
const closeFeed = `UPDATE seat_feed SET open = 0 WHERE open = 1`

// write runs fn in a write transaction and commits it when fn returns nil. The transaction
// begins IMMEDIATE (the DSN's _txlock), taking SQLite's single write lock before it reads
// anything, so writers are serialised and a check followed by a write in fn is never raced.
// The clock is read after the lock is taken. Every change of seat_claims goes through here
// (closeFeed before COMMIT gives each transaction one availability version per screening).
func (s *Store) write(ctx context.Context, fn func(t *tx) error) error {
	sqlTx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return storeErr(ctx, err)
	}
	t := &tx{Tx: sqlTx, now: s.clock()}
	if err := fn(t); err != nil {
		_ = sqlTx.Rollback()
		return storeErr(ctx, err)
	}
	if _, err := sqlTx.ExecContext(ctx, closeFeed); err != nil {
		_ = sqlTx.Rollback()
		return storeErr(ctx, err)
	}
	return storeErr(ctx, sqlTx.Commit())
}

// read runs fn in a read-only (deferred) transaction, so that its statements see one snapshot.
func (s *Store) read(ctx context.Context, fn func(t *tx) error) error {
	sqlTx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return storeErr(ctx, err)
	}
	defer func() { _ = sqlTx.Rollback() }()
	return storeErr(ctx, fn(&tx{Tx: sqlTx, now: s.clock()}))
}

// storeErr wraps in tickets.ErrUnavailable the errors that mean the database cannot be
// consulted now: ctx ended, the store is closed, the file is locked by another process past
// the busy timeout, or the disk failed. Every other error (the tickets sentinels and typed
// errors above all) is returned as is.
func storeErr(ctx context.Context, err error) error {
	if err == nil || errors.Is(err, tickets.ErrUnavailable) {
		return err
	}
	if unavailable(err) || ctx.Err() != nil && !isDomain(err) {
		return fmt.Errorf("%w: %v", tickets.ErrUnavailable, err)
	}
	return err
}

func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		strings.Contains(err.Error(), "sql: database is closed") {
		return true
	}
	var se *sqlite3.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff { // the primary result code
	case sqlite3lib.SQLITE_BUSY, sqlite3lib.SQLITE_LOCKED, sqlite3lib.SQLITE_INTERRUPT,
		sqlite3lib.SQLITE_IOERR, sqlite3lib.SQLITE_FULL, sqlite3lib.SQLITE_CANTOPEN,
		sqlite3lib.SQLITE_NOMEM, sqlite3lib.SQLITE_READONLY, sqlite3lib.SQLITE_PROTOCOL:
		return true
	}
	return false
}

// isDomain reports whether err is one of the tickets package's answers rather than a failure.
func isDomain(err error) bool {
	var fe tickets.FieldErrors
	var ue *tickets.UnavailableError
	var re *tickets.RuleError
	return errors.As(err, &fe) || errors.As(err, &ue) || errors.As(err, &re) ||
		errors.Is(err, tickets.ErrNotFound) || errors.Is(err, tickets.ErrConflict) ||
		errors.Is(err, tickets.ErrHallBusy) || errors.Is(err, tickets.ErrHallInUse) ||
		errors.Is(err, tickets.ErrScreeningCancelled) || errors.Is(err, tickets.ErrScreeningStarted) ||
		errors.Is(err, tickets.ErrNotEnoughSeats) || errors.Is(err, tickets.ErrHoldExpired) ||
		errors.Is(err, tickets.ErrOrderExists) || errors.Is(err, tickets.ErrIdempotencyKeyReused) ||
		errors.Is(err, tickets.ErrIdempotencyInFlight) || errors.Is(err, tickets.ErrCancellationClosed) ||
		errors.Is(err, tickets.ErrOrderNotCancellable)
}

// jsonList encodes ids as a JSON array (never null), for json_each(?) and JSON columns.
func jsonList(ids []string) string {
	if ids == nil {
		ids = []string{}
	}
	b, _ := json.Marshal(ids) // cannot fail: strings
	return string(b)
}

// parseList decodes a JSON array column; an empty array is an empty, non-nil slice.
func parseList(s string) ([]string, error) {
	out := []string{}
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("sqlite: bad JSON list %q: %w", s, err)
	}
	return out, nil
}

// sortedSet returns ids sorted, without duplicates, in a new slice.
func sortedSet(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}
