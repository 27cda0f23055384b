package tests

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestTicketsHoldExpiry: with BOXOFFICE_HOLD_TTL=2s, user A holds two seats; B is refused them
// while A's hold lives; once A's hold has expired (polled through GET /v1/holds/{id}, bounded
// by the guard) B holds the same seats and A's hold reads expired. The janitor is set to run
// once an hour: the seats are free by the database's clock alone (lazy expiry), not because a
// sweeper tidied them.
func TestTicketsHoldExpiry(t *testing.T) {
	e := ticketDeployment(t, 2, map[string]string{"BOXOFFICE_HOLD_TTL": "2s", "BOXOFFICE_JANITOR_INTERVAL": "1h"})
	c0, c1 := e.d.inst(0), e.d.inst(1)
	sc := e.newScreening(t)
	a, b := signIn(t, c0).tk.AccessToken, signIn(t, c1).tk.AccessToken

	// B must be refused while A's hold lives. On a very slow machine the 2 s may pass between
	// the two requests: B's hold is then legal (after A's deadline) and the step is tried again
	// on other seats.
	pairs := [][]string{{"A1", "A2"}, {"A5", "A6"}, {"A9", "A10"}, {"B1", "B2"}, {"B7", "B8"}}
	var ha tkHold
	var seats []string
	for i, pair := range pairs {
		ha = mustHold(t, c0, a, sc.ID, pair...)
		if ttl := ha.ExpiresAt.Sub(ha.CreatedAt); ttl != 2*time.Second {
			t.Fatalf("hold lives %s (created %s, expires %s), want BOXOFFICE_HOLD_TTL=2s", ttl, ha.CreatedAt, ha.ExpiresAt)
		}
		if ha.ExpiresInSeconds < 0 || ha.ExpiresInSeconds > 2 || ha.ServerTime.After(ha.ExpiresAt) {
			t.Fatalf("expires_in_seconds %d at server time %s for a deadline %s", ha.ExpiresInSeconds, ha.ServerTime, ha.ExpiresAt)
		}
		r, hb := hold(t, c1, b, sc.ID, pair...)
		if r.status == 409 {
			expect(t, r, 409, "seats_unavailable")
			if got := problemSeats(r); !slices.Equal(got, sortedCopy(pair)) {
				t.Fatalf("seats_unavailable names %v, want %v", got, pair)
			}
			seats = pair
			break
		}
		expect(t, r, 201, "")
		if hb.CreatedAt.Before(ha.ExpiresAt) {
			t.Fatalf("B held %v at %s while A's hold of them lasted until %s", pair, hb.CreatedAt, ha.ExpiresAt)
		}
		t.Logf("attempt %d: the machine was too slow to ask before A's hold expired; trying other seats", i+1)
		expect(t, c1.do(t, "DELETE", "/v1/holds/"+hb.ID, b, nil), 204, "")
	}
	if seats == nil {
		t.Fatalf("B was never refused while A's hold lived (%d attempts)", len(pairs))
	}

	// Wait for A's deadline, as the server reports it.
	deadline := time.Now().Add(guard)
	for {
		h := getHold(t, c1, a, ha.ID)
		if h.Status == "expired" {
			if h.ServerTime.Before(h.ExpiresAt) || h.ExpiresInSeconds != 0 {
				t.Fatalf("expired at server time %s before its deadline %s (expires in %ds)", h.ServerTime, h.ExpiresAt, h.ExpiresInSeconds)
			}
			break
		}
		if h.Status != "active" {
			t.Fatalf("A's hold reads %s, want active then expired", h.Status)
		}
		if time.Now().After(deadline) {
			t.Fatalf("A's hold still active after %s (expires_at %s)", guard, h.ExpiresAt)
		}
		time.Sleep(100 * time.Millisecond)
	}
	seatsAre(t, seatMap(t, c0, sc.ID), "available", seats...)
	var stored string
	if err := e.db.QueryRow(context.Background(), `SELECT status FROM holds WHERE id = $1`, ha.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != "active" {
		t.Logf("A's hold is stored as %s: something other than the hourly janitor tidied it", stored)
	}
	hb := mustHold(t, c1, b, sc.ID, seats...)
	if got := getHold(t, c0, a, ha.ID); got.Status != "expired" {
		t.Fatalf("A's hold reads %s after B took its seats, want expired", got.Status)
	}
	// Releasing an expired hold is no error and changes nothing; B keeps the seats.
	expect(t, c0.do(t, "DELETE", "/v1/holds/"+ha.ID, a, nil), 204, "")
	if got := getHold(t, c1, a, ha.ID); got.Status != "expired" {
		t.Fatalf("A's expired hold reads %s after A released it", got.Status)
	}
	rows, err := e.db.Query(context.Background(), `SELECT seat_id FROM seat_claims
		WHERE screening_id = $1 AND state = 'held' AND hold_id = $2 ORDER BY seat_id`, sc.ID, hb.ID)
	if err != nil {
		t.Fatal(err)
	}
	if claimed, err := pgx.CollectRows(rows, pgx.RowTo[string]); err != nil || !slices.Equal(claimed, sortedCopy(seats)) {
		t.Fatalf("B's hold claims %v (%v) after A released its expired hold, want %v", claimed, err, seats)
	}
	if bad, err := sqlInvariants(context.Background(), e.db, sc.ID); err != nil || len(bad) > 0 {
		t.Fatalf("invariants after expiry: %v %v", bad, err)
	}
}
