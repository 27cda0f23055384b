package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"boxoffice/tickets"
)

// The seat events are written by the triggers on seat_claims (migration 00003), in the
// transaction that changes the claims; this file reads, publishes and prunes them.

// seatEventColumns are the columns that scanSeatEvents reads.
const seatEventColumns = `screening_id, version, seats, at`

// SeatEvents returns up to limit events of a screening with a version above after, in version
// order, and the screening's current version (0 before any change of its seats), in one read
// transaction. tickets.ErrNotFound when the screening does not exist.
func (s *Store) SeatEvents(ctx context.Context, screeningID string, after int64, limit int) ([]tickets.SeatEvent, int64, error) {
	if limit <= 0 {
		limit = 1
	}
	var (
		events  []tickets.SeatEvent
		current int64
	)
	err := s.read(ctx, func(t *tx) error {
		err := t.QueryRowContext(ctx, `
			SELECT coalesce(f.version, 0) FROM screenings s LEFT JOIN seat_feed f ON f.screening_id = s.id
			WHERE s.id = ?`, screeningID).Scan(&current)
		if err != nil {
			return notFound(err)
		}
		events, err = t.seatEvents(ctx, `SELECT `+seatEventColumns+` FROM seat_events
			WHERE screening_id = ? AND version > ? ORDER BY version LIMIT ?`, screeningID, after, limit)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return events, current, nil
}

// SeatVersions returns the current version of each existing screening among ids (0 for one
// whose seats never changed), in one statement; unknown IDs are left out.
func (s *Store) SeatVersions(ctx context.Context, ids []string) (map[string]int64, error) {
	out := make(map[string]int64, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	err := s.read(ctx, func(t *tx) error {
		rows, err := t.QueryContext(ctx, `
			SELECT s.id, coalesce(f.version, 0) FROM screenings s LEFT JOIN seat_feed f ON f.screening_id = s.id
			WHERE s.id IN (SELECT value FROM json_each(?))`, jsonList(ids))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				id string
				v  int64
			)
			if err := rows.Scan(&id, &v); err != nil {
				return err
			}
			out[id] = v
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SequenceSeatEvents does nothing: SQLite numbers events at commit (its one writer takes the
// versions in commit order).
func (s *Store) SequenceSeatEvents(context.Context, int) (int, error) { return 0, nil }

// PublishSeatEvents hands up to limit unpublished events (by screening, then version) to
// publish, outside any transaction (publish may take its time, and the store's one connection
// stays free), then marks them published when publish returned nil. One call of this Store
// publishes at a time: a call made meanwhile returns 0, nil at once. Stores of other processes
// sharing the database file are not excluded (SQLite has no lock that outlives a transaction);
// an event they publish too reaches subscribers twice, who ignore versions they have seen.
func (s *Store) PublishSeatEvents(ctx context.Context, limit int, publish func([]tickets.SeatEvent) error) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	if !s.publishing.TryLock() {
		return 0, nil
	}
	defer s.publishing.Unlock()
	var events []tickets.SeatEvent
	err := s.read(ctx, func(t *tx) (err error) {
		events, err = t.seatEvents(ctx, `SELECT `+seatEventColumns+` FROM seat_events
			WHERE published = 0 ORDER BY screening_id, version LIMIT ?`, limit)
		return err
	})
	if err != nil || len(events) == 0 {
		return 0, err
	}
	if err := publish(events); err != nil {
		return 0, err
	}
	keys := make([][2]any, len(events))
	for i, ev := range events {
		keys[i] = [2]any{ev.ScreeningID, ev.Version}
	}
	list, err := json.Marshal(keys)
	if err != nil {
		return 0, err
	}
	err = s.write(ctx, func(t *tx) error {
		_, err := t.ExecContext(ctx, `
			UPDATE seat_events SET published = 1 FROM json_each(?) k
			WHERE seat_events.screening_id = k.value ->> 0 AND seat_events.version = k.value ->> 1`, string(list))
		return err
	})
	if err != nil {
		return 0, err
	}
	return len(events), nil
}

// PruneSeatEvents deletes each screening's events up to its newest one made more than keep ago
// by the store's clock, published or not, and returns how many it deleted.
func (s *Store) PruneSeatEvents(ctx context.Context, keep time.Duration) (int, error) {
	var n int64
	err := s.write(ctx, func(t *tx) error {
		res, err := t.ExecContext(ctx, `
			WITH old AS (
				SELECT screening_id, max(version) AS upto FROM seat_events WHERE at < ? GROUP BY screening_id
			)
			DELETE FROM seat_events
			WHERE version <= (SELECT upto FROM old WHERE old.screening_id = seat_events.screening_id)`,
			t.now.Add(-keep).UnixMilli())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// seatEvents runs a query selecting seatEventColumns and decodes its rows.
func (t *tx) seatEvents(ctx context.Context, query string, args ...any) ([]tickets.SeatEvent, error) {
	rows, err := t.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []tickets.SeatEvent
	for rows.Next() {
		var (
			id, seats string
			version   int64
			at        int64
		)
		if err := rows.Scan(&id, &version, &seats, &at); err != nil {
			return nil, err
		}
		ev, err := seatEvent(id, version, seats, at)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

// seatEvent decodes a seat_events row's seats (a JSON object seat ID → status).
func seatEvent(screeningID string, version int64, seats string, at int64) (tickets.SeatEvent, error) {
	var m map[string]tickets.SeatState
	if err := json.Unmarshal([]byte(seats), &m); err != nil {
		return tickets.SeatEvent{}, fmt.Errorf("sqlite: bad seat event %s/%d %q: %w", screeningID, version, seats, err)
	}
	ev := tickets.SeatEvent{ScreeningID: screeningID, Version: version, At: fromMillis(at),
		Seats: make([]tickets.SeatChange, 0, len(m))}
	for id, st := range m {
		ev.Seats = append(ev.Seats, tickets.SeatChange{SeatID: id, Status: st})
	}
	slices.SortFunc(ev.Seats, func(a, b tickets.SeatChange) int { return strings.Compare(a.SeatID, b.SeatID) })
	return ev, nil
}
