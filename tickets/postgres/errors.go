package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"boxoffice/tickets"
)

// SQLSTATEs the store acts on.
const (
	codeForeignKey  = "23503" // foreign_key_violation
	codeUnique      = "23505" // unique_violation
	codeExclusion   = "23P01" // exclusion_violation
	codeSerializ    = "40001" // serialization_failure
	codeDeadlock    = "40P01" // deadlock_detected
	codeSeatsTaken  = "BX001" // raised by seats_taken() (migrations)
	codeNoOrder     = "BX002" // raised by finish_order() for an order that does not exist
	holdsPrimaryKey = "holds_pkey"
	holdsActiveUser = "holds_active_user" // one active hold per user and screening
)

// pgCode returns err's SQLSTATE and constraint, or "" when err did not come from the server.
func pgCode(err error) (code, constraint string) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code, pe.ConstraintName
	}
	return "", ""
}

// transient reports whether a write transaction that failed with err may succeed if run again:
// PostgreSQL aborted it for a deadlock or a serialization failure, or (Hold; lockUserScreening
// makes it unlikely) a concurrent hold of the same user on the same screening committed first.
func transient(err error) bool {
	code, constraint := pgCode(err)
	return code == codeDeadlock || code == codeSerializ || (code == codeUnique && constraint == holdsActiveUser)
}

// fail maps an error for the store's callers: nil stays nil, the tickets package's errors pass
// as they are, an error meaning the database cannot be consulted wraps tickets.ErrUnavailable,
// and anything else (a bug) is wrapped with the package's name.
func (s *Store) fail(err error) error {
	switch {
	case err == nil:
		return nil
	case isDomain(err):
		return err
	case s.closed.Load() || unavailable(err):
		return fmt.Errorf("%w: %v", tickets.ErrUnavailable, err)
	case badValue(err):
		// The domain validates input first; this is the net under it (a NUL byte, a number
		// out of range), so that no value a client sends becomes a 500.
		return tickets.FieldErrors{"body": "a value cannot be stored (out of range or not valid text)"}
	}
	return fmt.Errorf("postgres: %w", err)
}

// badValue reports whether PostgreSQL refused a value sent to it: data exceptions (class 22),
// such as text with a NUL byte (22021) or an integer out of range (22003), and values over a
// limit, such as an index entry too long (54000).
func badValue(err error) bool {
	code, _ := pgCode(err)
	return strings.HasPrefix(code, "22") || code == "54000"
}

// isDomain reports whether err is one of the tickets package's answers.
func isDomain(err error) bool {
	var ue *tickets.UnavailableError
	var fe tickets.FieldErrors
	for _, target := range []error{tickets.ErrNotFound, tickets.ErrConflict, tickets.ErrHallBusy,
		tickets.ErrHallInUse, tickets.ErrScreeningCancelled, tickets.ErrScreeningStarted, tickets.ErrUnavailable,
		tickets.ErrHoldExpired, tickets.ErrOrderExists, tickets.ErrIdempotencyKeyReused,
		tickets.ErrIdempotencyInFlight, tickets.ErrCancellationClosed, tickets.ErrOrderNotCancellable} {
		if errors.Is(err, target) {
			return true
		}
	}
	return errors.As(err, &ue) || errors.As(err, &fe) || errors.As(err, new(planFailed))
}

// unavailable reports whether err means that the database cannot be consulted now: no
// connection, a connection lost, the caller's deadline or cancellation, the server shutting
// down, starting, out of connections or resources, read-only (a standby), or a transaction that
// lost to others (see transient) more often than the store retries.
func unavailable(err error) bool {
	var ce *pgconn.ConnectError // whatever the server said: no connection
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ce) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		if len(pe.Code) != 5 {
			return false
		}
		switch class := pe.Code[:2]; {
		case class == "08", // connection exception
			class == "53",                                    // insufficient resources (53300: too many connections)
			class == "58",                                    // system error (I/O)
			strings.HasPrefix(pe.Code, "57P"),                // admin shutdown, crash shutdown, cannot connect now
			pe.Code == "57014",                               // query_canceled (statement timeout, cancel request)
			pe.Code == "55P03",                               // lock_not_available (lock_timeout)
			pe.Code == "25006",                               // read_only_sql_transaction (a standby)
			pe.Code == codeSerializ, pe.Code == codeDeadlock, // after the retries
			pe.Code == codeUnique && pe.ConstraintName == holdsActiveUser:
			return true
		}
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, pgconn.ErrConnClosed) || pgconn.Timeout(err) || pgconn.SafeToRetry(err)
}

// seatsTaken turns the error raised by seats_taken() into *tickets.UnavailableError naming the
// seats, sorted; it returns nil for any other error.
func seatsTaken(err error) *tickets.UnavailableError {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != codeSeatsTaken {
		return nil
	}
	var ids []string
	if json.Unmarshal([]byte(pe.Detail), &ids) != nil || len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	return &tickets.UnavailableError{SeatIDs: ids}
}
