package tickets

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// row builds one row "A" of n seats A1..An at x = 0..n-1, with an aisle after seat gapAfter
// (0: none).
func row(n, gapAfter int) []Seat {
	var out []Seat
	x := 0
	for i := 1; i <= n; i++ {
		out = append(out, Seat{ID: fmt.Sprintf("A%d", i), Label: fmt.Sprintf("A%d", i), Row: "A", Number: i, X: x, Y: 0, Category: "standard"})
		x++
		if i == gapAfter {
			x++
		}
	}
	return out
}

func taken(l *layout, ids ...string) occupancy {
	occ := make(occupancy, len(l.hall.Seats))
	for _, id := range ids {
		occ[l.byID[id]] = true
	}
	return occ
}

func TestOrphanRule(t *testing.T) {
	l := newLayout(Hall{ID: "h", CinemaID: "c", Name: "h", Seats: row(8, 0)})
	cases := []struct {
		name   string
		taken  []string
		choose []string
		want   error
	}{
		{"block at the row's end", nil, []string{"A1", "A2"}, nil},
		{"leaves A1 alone at the row's end", nil, []string{"A2", "A3"}, ErrOrphanSeat},
		{"leaves A3 alone between taken seats", []string{"A1", "A2"}, []string{"A4", "A5"}, ErrOrphanSeat},
		{"fills the gap exactly", []string{"A1", "A2", "A5"}, []string{"A3", "A4"}, nil},
		{"no other pair avoids it: allowed", []string{"A1", "A5", "A6", "A7", "A8"}, []string{"A2", "A3"}, nil},
		{"single seat in the middle of three free ones, when an end seat would do", []string{"A1", "A2", "A3", "A4", "A8"}, []string{"A6"}, ErrOrphanSeat},
		{"single seat stranding one when another choice exists", []string{"A1", "A2"}, []string{"A4"}, ErrOrphanSeat},
		{"taken seat", []string{"A3"}, []string{"A3", "A4"}, ErrSeatsUnavailable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := l.checkSeats(c.choose, taken(l, c.taken...))
			if !errors.Is(err, c.want) && !(c.want == nil && err == nil) {
				t.Fatalf("checkSeats(%v) with %v taken = %v, want %v", c.choose, c.taken, err, c.want)
			}
			if c.want == nil && err != nil {
				t.Fatalf("checkSeats(%v) with %v taken = %v, want success", c.choose, c.taken, err)
			}
		})
	}
}

func TestOrphanRuleAisle(t *testing.T) {
	// A1 A2 A3 | A4 A5 A6 A7: the aisle ends a segment like the row's end does.
	l := newLayout(Hall{ID: "h", CinemaID: "c", Name: "h", Seats: row(7, 3)})
	if _, err := l.checkSeats([]string{"A1", "A2"}, taken(l)); !errors.Is(err, ErrOrphanSeat) {
		t.Fatalf("A1,A2 leave A3 alone by the aisle while A4,A5 would not: got %v, want ErrOrphanSeat", err)
	}
	if _, err := l.checkSeats([]string{"A3", "A4"}, taken(l)); err != nil {
		t.Fatalf("A3,A4 on both sides of the aisle strand nobody: got %v", err)
	}
	// A1 A2 A3 | A4 A5 A6: every pair strands a seat, so the rule yields.
	l = newLayout(Hall{ID: "h", CinemaID: "c", Name: "h", Seats: row(6, 3)})
	if _, err := l.checkSeats([]string{"A1", "A2"}, taken(l)); err != nil {
		t.Fatalf("no pair avoids an orphan, so A1,A2 must be allowed: got %v", err)
	}
}

func TestSeatGroups(t *testing.T) {
	seats := row(6, 0)
	seats[2].GroupID, seats[3].GroupID = "love", "love" // A3+A4
	l := newLayout(Hall{ID: "h", CinemaID: "c", Name: "h", Seats: seats})
	var re *RuleError
	if _, err := l.checkSeats([]string{"A3"}, taken(l)); !errors.As(err, &re) || !errors.Is(err, ErrSeatGroupSplit) || !slices.Equal(re.SeatIDs, []string{"A3", "A4"}) {
		t.Fatalf("half a love seat: got %v, want ErrSeatGroupSplit naming A3, A4", err)
	}
	if _, err := l.checkSeats([]string{"A1", "A2", "A3", "A4"}, taken(l)); err != nil {
		t.Fatalf("whole group with neighbours: %v", err)
	}
	// Best available never splits a group: 3 seats from A1.. must not take A3 without A4.
	idx, err := l.bestAvailable(3, "", false, taken(l), 1)
	if err != nil {
		t.Fatal(err)
	}
	got := l.ids(idx)
	if slices.Contains(got, "A3") != slices.Contains(got, "A4") {
		t.Fatalf("best available split the love seat: %v", got)
	}
}

func TestBestAvailable(t *testing.T) {
	var seats []Seat
	for r := 0; r < 4; r++ { // rows A-D of 6, D is the back
		for n := 1; n <= 6; n++ {
			seats = append(seats, Seat{ID: fmt.Sprintf("%c%d", 'A'+r, n), Label: "x", Row: string(rune('A' + r)), Number: n, X: n - 1, Y: r, Category: "standard"})
		}
	}
	seats[0].Accessible, seats[0].Category = true, "standard"
	l := newLayout(Hall{ID: "h", CinemaID: "c", Name: "h", Seats: seats})
	idx, err := l.bestAvailable(2, "", false, taken(l), 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.ids(idx); !slices.Equal(got, []string{"C3", "C4"}) {
		t.Fatalf("best pair in an empty hall = %v, want C3, C4 (two thirds back, centred)", got)
	}
	idx, err = l.bestAvailable(1, "", true, taken(l), 1)
	if err != nil || !slices.Equal(l.ids(idx), []string{"A1"}) {
		t.Fatalf("accessible = %v, %v; want A1", l.ids(idx), err)
	}
	if _, err := l.bestAvailable(2, "", true, taken(l), 1); !errors.Is(err, ErrNotEnoughSeats) {
		t.Fatalf("two wheelchair spaces in a hall with one: %v, want ErrNotEnoughSeats", err)
	}
	all := make([]string, 0, len(seats))
	for _, s := range seats[1:] {
		all = append(all, s.ID)
	}
	if _, err := l.bestAvailable(1, "", false, taken(l, all...), 1); !errors.Is(err, ErrNotEnoughSeats) {
		t.Fatalf("full hall: %v, want ErrNotEnoughSeats", err)
	}
	// Never strands a seat when a block that does not exists: with C1 taken, C2-C3 would
	// strand nothing, C3-C4 would strand C2.
	idx, _ = l.bestAvailable(2, "", false, taken(l, "C1"), 1)
	if len(l.orphans(idx, taken(l, "C1"))) != 0 {
		t.Fatalf("best available stranded a seat: %v", l.ids(idx))
	}
}

func TestValidHall(t *testing.T) {
	ok := Hall{ID: "h", CinemaID: "c", Name: "Hall", CleaningMinutes: 15, Seats: row(4, 0)}
	if fe := validHall(ok); fe != nil {
		t.Fatalf("valid hall refused: %v", fe)
	}
	split := ok
	split.Seats = row(4, 2) // aisle between A2 and A3
	split.Seats[1].GroupID, split.Seats[2].GroupID = "g", "g"
	if fe := validHall(split); fe == nil {
		t.Fatal("a group across an aisle was accepted")
	}
	dup := ok
	dup.Seats = append(row(4, 0), row(1, 0)...)
	if fe := validHall(dup); fe == nil {
		t.Fatal("duplicate seat ids accepted")
	}
}

// TestOrphanRuleLooksAtTheStrandedRow: the exception is judged in the row where the seat would
// be stranded, not in another row the hold also touches.
func TestOrphanRuleLooksAtTheStrandedRow(t *testing.T) {
	seats := row(4, 0) // A1..A4
	for n := 1; n <= 4; n++ {
		seats = append(seats, Seat{ID: fmt.Sprintf("B%d", n), Label: "b", Row: "B", Number: n, X: n - 1, Y: 1, Category: "standard"})
	}
	l := newLayout(Hall{ID: "h", CinemaID: "c", Name: "h", Seats: seats})
	occ := taken(l, "A1", "A4") // A2, A3 free: any single seat in row A strands the other
	if _, err := l.checkSeats([]string{"A2"}, occ); err != nil {
		t.Fatalf("A2 alone: no single seat in row A avoids an orphan, so it must be allowed: %v", err)
	}
	if _, err := l.checkSeats([]string{"A2", "B1"}, occ); err != nil {
		t.Fatalf("A2+B1: row B's free seats are no alternative for row A: %v", err)
	}
}

// TestBestAvailableSkipsFilteredEnds: a row whose end seats do not pass the filter (wheelchair
// spaces, another category) still offers its adjacent seats.
func TestBestAvailableSkipsFilteredEnds(t *testing.T) {
	seats := row(8, 0)
	for i := range seats {
		if i >= 2 && i <= 5 {
			seats[i].Category = "premium"
		}
	}
	l := newLayout(Hall{ID: "h", CinemaID: "c", Name: "h", Seats: seats})
	idx, err := l.bestAvailable(2, "premium", false, taken(l, "A4"), 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.ids(idx); !slices.Equal(got, []string{"A5", "A6"}) {
		t.Fatalf("two adjacent premium seats with A4 taken = %v, want A5, A6", got)
	}
	seats = row(6, 0)
	seats[0].Accessible, seats[5].Accessible = true, true
	l = newLayout(Hall{ID: "h", CinemaID: "c", Name: "h", Seats: seats})
	idx, err = l.bestAvailable(2, "", false, taken(l), 1)
	if err != nil || l.hall.Seats[idx[0]].X+1 != l.hall.Seats[idx[1]].X {
		t.Fatalf("two adjacent seats between wheelchair spaces = %v, %v; want an adjacent pair", l.ids(idx), err)
	}
}

// TestOrphanRuleAlternativesAreAlike: a block of wheelchair spaces, or of another price, is no
// alternative that makes the rule refuse a choice.
func TestOrphanRuleAlternativesAreAlike(t *testing.T) {
	seats := row(6, 0)
	seats[4].Accessible, seats[5].Accessible = true, true // A5, A6 wheelchair spaces
	l := newLayout(Hall{ID: "h", CinemaID: "c", Name: "h", Seats: seats})
	occ := taken(l, "A1", "A4") // A2, A3 free between taken seats; A5, A6 free
	if _, err := l.checkSeats([]string{"A2"}, occ); err != nil {
		t.Fatalf("A2 strands A3, but the only other single seats that strand nobody are wheelchair spaces: %v", err)
	}
	seats = row(6, 0)
	seats[4].Category, seats[5].Category = "premium", "premium"
	l = newLayout(Hall{ID: "h", CinemaID: "c", Name: "h", Seats: seats})
	if _, err := l.checkSeats([]string{"A2"}, occ); err != nil {
		t.Fatalf("A2 strands A3, but the only alternatives cost more: %v", err)
	}
}

// TestBestAvailableScattered: with no block of adjacent seats left, the best seats one by one,
// a free love seat counting whole: three seats from a single and a pair.
func TestBestAvailableScattered(t *testing.T) {
	seats := row(7, 0)                                  // A1..A7
	seats[5].GroupID, seats[6].GroupID = "love", "love" // A6+A7
	l := newLayout(Hall{ID: "h", CinemaID: "c", Name: "h", Seats: seats})
	occ := taken(l, "A1", "A2", "A4", "A5") // free: A3 alone, the A6+A7 love seat
	idx, err := l.bestAvailable(3, "", false, occ, 1)
	if err != nil || !slices.Equal(l.ids(idx), []string{"A3", "A6", "A7"}) {
		t.Fatalf("three seats from a single and a love seat = %v, %v; want A3, A6, A7", l.ids(idx), err)
	}
	if _, err := l.bestAvailable(2, "", false, taken(l, "A1", "A2", "A3", "A4", "A5", "A6"), 1); !errors.Is(err, ErrNotEnoughSeats) {
		t.Fatalf("two seats when only half a love seat is free: %v, want ErrNotEnoughSeats", err)
	}
}
