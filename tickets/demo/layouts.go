package demo

import (
	"fmt"

	"boxoffice/tickets"
)

// rowLabel is A, B, … for row 0, 1, ….
func rowLabel(r int) string { return string(rune('A' + r)) }

func seat(r, n, x int, category string) tickets.Seat {
	return tickets.Seat{ID: fmt.Sprintf("%s%d", rowLabel(r), n), Label: fmt.Sprintf("%s%d", rowLabel(r), n),
		Row: rowLabel(r), Number: n, X: x, Y: r, Category: category}
}

// grid is rows of blocks of seats separated by one-seat aisles; the last premium rows are
// "premium"; the first row's outermost seats are wheelchair spaces when accessible > 0.
func grid(rows int, blocks []int, premium, accessible int) []tickets.Seat {
	var out []tickets.Seat
	for r := 0; r < rows; r++ {
		cat := "standard"
		if r >= rows-premium {
			cat = "premium"
		}
		x, n := 0, 1
		for b, width := range blocks {
			if b > 0 {
				x++ // aisle
			}
			for i := 0; i < width; i++ {
				out = append(out, seat(r, n, x, cat))
				x, n = x+1, n+1
			}
		}
	}
	for i := 0; i < accessible && i < 2; i++ { // first and last seat of row A
		idx := 0
		if i == 1 {
			idx = blocks[0]
			for _, w := range blocks[1:] {
				idx += w
			}
			idx--
		}
		out[idx].Accessible = true
	}
	return out
}

// withLoveSeats turns the last row into pairs sold together (category "loveseat"), pairs
// seats of that row.
func withLoveSeats(seats []tickets.Seat, pairs int) []tickets.Seat {
	last := seats[len(seats)-1].Y
	k := 0
	for i := range seats {
		if seats[i].Y != last || k >= 2*pairs {
			continue
		}
		seats[i].Category = "loveseat"
		seats[i].GroupID = fmt.Sprintf("love-%d", k/2+1)
		k++
	}
	return seats
}

// trapezoid is rows widening from first to last seats, centred, with the last premium rows
// "premium".
func trapezoid(rows, first, last, premium int) []tickets.Seat {
	var out []tickets.Seat
	for r := 0; r < rows; r++ {
		width := first + (last-first)*r/(rows-1)
		offset := (last - width) / 2
		cat := "standard"
		if r >= rows-premium {
			cat = "premium"
		}
		for n := 1; n <= width; n++ {
			out = append(out, seat(r, n, offset+n-1, cat))
		}
	}
	return out
}
