package postgres

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"boxoffice/tickets"
)

// publisherLock is the transaction-level advisory lock a publisher holds while it publishes, so
// that one instance at a time does (namespace 1940, key 1; key 0 is the sequencer's, taken by
// sequence_seat_events in migration 00003).
const publisherLock = `SELECT pg_try_advisory_xact_lock(1940, 1)`

// SeatEvents returns up to limit events of a screening after version after, in version order,
// and its current version, in one snapshot. tickets.ErrNotFound when the screening does not
// exist.
func (s *Store) SeatEvents(ctx context.Context, screeningID string, after int64, limit int) ([]tickets.SeatEvent, int64, error) {
	if limit <= 0 {
		limit = 1
	}
	rows, err := s.pool.Query(ctx, `
		SELECT coalesce(f.version, 0), e.version, e.seats, e.at
		FROM screenings s
		LEFT JOIN seat_feed f ON f.screening_id = s.id
		LEFT JOIN LATERAL (
			SELECT version, seats, at FROM seat_log
			WHERE screening_id = s.id AND version > $2 ORDER BY version LIMIT $3
		) e ON true
		WHERE s.id = $1
		ORDER BY e.version`, screeningID, after, limit)
	if err != nil {
		return nil, 0, s.fail(err)
	}
	var (
		events  []tickets.SeatEvent
		current int64
		found   bool
	)
	for rows.Next() {
		var (
			version *int64
			seats   []byte
			at      *time.Time
		)
		if err := rows.Scan(&current, &version, &seats, &at); err != nil {
			rows.Close()
			return nil, 0, s.fail(err)
		}
		found = true
		if version == nil {
			continue
		}
		ev, err := seatEvent(screeningID, *version, seats, *at)
		if err != nil {
			rows.Close()
			return nil, 0, err
		}
		events = append(events, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, s.fail(err)
	}
	if !found {
		return nil, 0, tickets.ErrNotFound
	}
	return events, current, nil
}

// SeatVersions returns the current version of each existing screening among ids (0 for one
// whose seats never changed), in one statement.
func (s *Store) SeatVersions(ctx context.Context, ids []string) (map[string]int64, error) {
	out := make(map[string]int64, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `
		SELECT s.id, coalesce(f.version, 0) FROM screenings s LEFT JOIN seat_feed f ON f.screening_id = s.id
		WHERE s.id = ANY ($1)`, ids)
	if err != nil {
		return nil, s.fail(err)
	}
	var (
		id string
		v  int64
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &v}, func() error { out[id] = v; return nil }); err != nil {
		return nil, s.fail(err)
	}
	return out, nil
}

// PublishSeatEvents numbers the events committed since the last call (sequence_seat_events in
// migration 00003, in a transaction of its own, so that streams move on from the outbox even
// while publishing fails), then hands up to limit numbered events not yet published (by
// screening, then version) to publish and marks them published, in one transaction that holds
// publisherLock; while another transaction holds it, either step does nothing.
func (s *Store) PublishSeatEvents(ctx context.Context, limit int, publish func([]tickets.SeatEvent) error) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	if _, err := s.SequenceSeatEvents(ctx, limit); err != nil {
		return 0, err
	}
	c, err := s.acquire(ctx)
	if err != nil {
		return 0, s.fail(err)
	}
	defer c.release()
	var (
		events []tickets.SeatEvent
		decode error
	)
	b := newBatch()
	// The lock is an InitPlan: taken once, before any row is read; without it, no row.
	b.Queue(`SELECT l.screening_id, l.version, l.seats, l.at
		FROM seat_feed f CROSS JOIN LATERAL (
			SELECT screening_id, version, seats, at FROM seat_log
			WHERE screening_id = f.screening_id AND version > f.published
			ORDER BY version LIMIT $1
		) l
		WHERE f.published < f.version AND (`+publisherLock+`)
		ORDER BY l.screening_id, l.version LIMIT $1`, limit).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var (
				id    string
				v     int64
				seats []byte
				at    time.Time
			)
			if err := rows.Scan(&id, &v, &seats, &at); err != nil {
				return err
			}
			ev, err := seatEvent(id, v, seats, at)
			if err != nil {
				decode = err
				continue
			}
			events = append(events, ev)
		}
		return rows.Err()
	})
	if err := c.send(ctx, b); err != nil {
		return 0, s.fail(err)
	}
	if decode != nil {
		return 0, decode
	}
	if len(events) == 0 {
		return 0, nil
	}
	if err := publish(events); err != nil {
		return 0, err
	}
	ids := make([]string, len(events))
	versions := make([]int64, len(events))
	for i, ev := range events {
		ids[i], versions[i] = ev.ScreeningID, ev.Version
	}
	b = &pgx.Batch{}
	b.Queue(`UPDATE seat_feed f SET published = p.v
		FROM (SELECT id, max(v) AS v FROM unnest($1::text[], $2::bigint[]) AS u(id, v) GROUP BY id) p
		WHERE f.screening_id = p.id AND f.published < p.v`, ids, versions)
	b.Queue("COMMIT")
	if err := c.send(ctx, b); err != nil {
		return 0, s.fail(err)
	}
	return len(events), nil
}

// SequenceSeatEvents numbers up to limit committed events that have no version yet
// (sequence_seat_events in migration 00003), in one statement; 0 while another caller does.
func (s *Store) SequenceSeatEvents(ctx context.Context, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT sequence_seat_events($1)`, limit).Scan(&n); err != nil {
		return 0, s.fail(err)
	}
	return n, nil
}

// PruneSeatEvents deletes each screening's events up to its newest one made more than keep ago.
func (s *Store) PruneSeatEvents(ctx context.Context, keep time.Duration) (int, error) {
	var n int
	err := s.retry(ctx, func() error {
		return s.pool.QueryRow(ctx, `
			WITH old AS (
				SELECT screening_id, max(version) AS upto FROM seat_log
				WHERE at < now() - $1::interval GROUP BY screening_id
			), gone AS (
				DELETE FROM seat_log e USING old
				WHERE e.screening_id = old.screening_id AND e.version <= old.upto
				RETURNING 1
			)
			SELECT count(*) FROM gone`, keep).Scan(&n)
	})
	return n, err
}

// seatEvent decodes a seat_log row's seats (seat ID → status).
func seatEvent(screeningID string, version int64, seats []byte, at time.Time) (tickets.SeatEvent, error) {
	var m map[string]tickets.SeatState
	if err := json.Unmarshal(seats, &m); err != nil {
		return tickets.SeatEvent{}, err
	}
	ev := tickets.SeatEvent{ScreeningID: screeningID, Version: version, At: at.UTC(),
		Seats: make([]tickets.SeatChange, 0, len(m))}
	for id, st := range m {
		ev.Seats = append(ev.Seats, tickets.SeatChange{SeatID: id, Status: st})
	}
	slices.SortFunc(ev.Seats, func(a, b tickets.SeatChange) int { return strings.Compare(a.SeatID, b.SeatID) })
	return ev, nil
}
