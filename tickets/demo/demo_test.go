package demo_test

import (
	"context"
	"testing"
	"time"

	"boxoffice/tickets"
	"boxoffice/tickets/demo"
	"boxoffice/tickets/sqlite"
)

// TestLoad: the demo catalogue passes the domain's own validation, is bookable at once, and
// loading it twice adds nothing.
func TestLoad(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, "", sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	svc := tickets.NewService(st, tickets.Config{})
	now := time.Now()
	n, err := demo.Load(ctx, svc, now)
	if err != nil {
		t.Fatal(err)
	}
	// 5 halls × 3 shows × 7 days, less the shows of today already started.
	if n < 5*3*6 || n > 5*3*7 {
		t.Fatalf("loaded %d screenings, want between %d and %d", n, 5*3*6, 5*3*7)
	}
	if again, err := demo.Load(ctx, svc, now); err != nil || again != 0 {
		t.Fatalf("second load: %d new screenings, %v; want 0, nil", again, err)
	}
	cinemas, err := svc.Cinemas(ctx)
	if err != nil || len(cinemas) != 3 {
		t.Fatalf("cinemas: %d, %v", len(cinemas), err)
	}
	shapes := map[int]bool{}
	for _, c := range cinemas {
		for _, h := range c.Halls {
			shapes[h.SeatCount] = true
		}
	}
	if len(shapes) < 4 {
		t.Fatalf("halls should differ in shape; seat counts %v", shapes)
	}
	ss, _, err := svc.Screenings(ctx, tickets.ScreeningFilter{Limit: 1})
	if err != nil || len(ss) != 1 {
		t.Fatalf("screenings: %v, %v", ss, err)
	}
	h, err := svc.Hold(ctx, tickets.Owner{UserID: "u", SessionID: "s"}, ss[0].ID, tickets.Selection{Count: 2})
	if err != nil || len(h.SeatIDs) != 2 || h.Total.Amount <= 0 {
		t.Fatalf("hold on the first demo screening: %+v, %v", h, err)
	}
}
