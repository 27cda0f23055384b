package postgres_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"boxoffice/tickets"
	"boxoffice/tickets/postgres"
	"boxoffice/tickets/ticketstest"
)

// TestSweepEverywhere: instances sweeping at once skip each other's holds and together expire
// each hold once.
func TestSweepEverywhere(t *testing.T) {
	url := ticketstest.PostgresURL(t)
	var stores []*postgres.Store
	for range 2 {
		s, err := postgres.Open(t.Context(), url, postgres.Options{MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores = append(stores, s)
	}
	scr, seats := bigHall(t, stores[0], 4, 10)
	ctx := t.Context()
	var last tickets.Hold
	for i, seat := range seats {
		h, err := stores[0].Hold(ctx, tickets.HoldTx{ID: fmt.Sprintf("h%d", i), ScreeningID: scr,
			UserID: fmt.Sprintf("u%d", i), SessionID: "s", TTL: time.Second, Plan: fixedPlan(seat)})
		if err != nil {
			t.Fatal(err)
		}
		last = h
	}
	for { // the store's clock decides when the last hold has expired
		h, err := stores[1].GetHold(ctx, last.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !h.ServerTime.Before(h.ExpiresAt) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	var swept atomic.Int64
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			for {
				n, err := stores[i%2].Sweep(ctx, 3)
				if err != nil {
					t.Error(err)
					return
				}
				if n == 0 {
					return
				}
				swept.Add(int64(n))
			}
		})
	}
	wg.Wait()
	if n, err := stores[0].Sweep(ctx, 100); err != nil || n != 0 {
		t.Fatalf("a last Sweep = %d, %v; want 0 left", n, err)
	}
	if got := swept.Load(); got != int64(len(seats)) {
		t.Fatalf("sweepers expired %d holds in all, want each of the %d once", got, len(seats))
	}
	checkClaims(t, url)
}
