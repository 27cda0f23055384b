package tickets

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
)

// occupancy is which seats of a layout are taken (held, sold or blocked) for a plan; the
// seats being chosen are not in it.
type occupancy []bool

func (l *layout) occupancy(a Availability) occupancy {
	occ := make(occupancy, len(l.hall.Seats))
	for id := range a.Taken {
		if i, ok := l.byID[id]; ok {
			occ[i] = true
		}
	}
	return occ
}

// checkSeats applies the layout rules to an explicit choice of seats, given what is taken:
// the seats exist (FieldErrors), none is taken (*UnavailableError), groups are whole
// (ErrSeatGroupSplit) and no seat is orphaned where another choice would avoid it
// (ErrOrphanSeat). It returns the seats' indexes.
func (l *layout) checkSeats(ids []string, occ occupancy) ([]int, error) {
	idx := make([]int, 0, len(ids))
	chosen := map[int]bool{}
	var taken []string
	for _, id := range ids {
		i, ok := l.byID[id]
		if !ok {
			return nil, FieldErrors{"seat_ids": "no seat " + id + " in this hall"}
		}
		if occ[i] {
			taken = append(taken, id)
		}
		idx = append(idx, i)
		chosen[i] = true
	}
	if len(taken) > 0 {
		sort.Strings(taken)
		return nil, &UnavailableError{SeatIDs: taken}
	}
	for _, i := range idx {
		g := l.hall.Seats[i].GroupID
		if g == "" {
			continue
		}
		for _, j := range l.groups[g] {
			if !chosen[j] {
				return nil, &RuleError{Rule: ErrSeatGroupSplit, SeatIDs: l.ids(l.groups[g]),
					Detail: fmt.Sprintf("Seats %s are sold together: hold all of them or none.", strings.Join(l.ids(l.groups[g]), ", "))}
			}
		}
	}
	if orphans := l.orphans(idx, occ); len(orphans) > 0 && l.orphanFreeChoiceExists(idx, orphans, occ) {
		return nil, &RuleError{Rule: ErrOrphanSeat, SeatIDs: l.ids(orphans),
			Detail: fmt.Sprintf("This choice would leave seat %s empty on its own; choose seats next to it or another block of the same size in the row.", strings.Join(l.ids(orphans), ", "))}
	}
	return idx, nil
}

// orphans returns the free seats that taking idx would strand: a single empty seat next to a
// chosen one, with a taken seat, a chosen seat or the segment's end on both sides.
func (l *layout) orphans(idx []int, occ occupancy) []int {
	after := make(occupancy, len(occ))
	copy(after, occ)
	for _, i := range idx {
		after[i] = true
	}
	var out []int
	seen := map[int]bool{}
	for _, i := range idx {
		seg := l.segments[l.segOf[i]]
		for _, p := range []int{l.posOf[i] - 1, l.posOf[i] + 1} {
			if p < 0 || p >= len(seg) || after[seg[p]] || seen[seg[p]] {
				continue
			}
			if (p == 0 || after[seg[p-1]]) && (p == len(seg)-1 || after[seg[p+1]]) {
				seen[seg[p]] = true
				out = append(out, seg[p])
			}
		}
	}
	sort.Ints(out)
	return out
}

// orphanFreeChoiceExists reports whether, in a row where taking idx strands a seat (one of
// orphans), with k of idx's seats in that row, another block of k adjacent free seats keeps
// groups whole and strands no seat. When none exists the orphan rule yields: it must never
// cost a booking.
func (l *layout) orphanFreeChoiceExists(idx, orphans []int, occ occupancy) bool {
	perRow := map[int]int{}
	for _, i := range idx {
		perRow[l.hall.Seats[i].Y]++
	}
	stranded := map[int]bool{}
	for _, i := range orphans {
		stranded[l.hall.Seats[i].Y] = true
	}
	// An alternative is only one the buyer could take instead: seats of the categories they
	// chose (the same prices), and wheelchair spaces only if they chose wheelchair spaces.
	categories, accessible := map[string]bool{}, false
	for _, i := range idx {
		categories[l.hall.Seats[i].Category] = true
		accessible = accessible || l.hall.Seats[i].Accessible
	}
	for y, k := range perRow {
		if !stranded[y] {
			continue
		}
		alike := func(s Seat) bool { return s.Y == y && categories[s.Category] && (accessible || !s.Accessible) }
		for _, run := range l.runs(k, occ, alike) {
			if len(l.orphans(run, occ)) == 0 {
				return true
			}
		}
	}
	return false
}

// runs lists every block of k adjacent free seats (within one segment) whose seats all pass
// keep and that keeps every group it touches whole.
func (l *layout) runs(k int, occ occupancy, keep func(Seat) bool) [][]int {
	var out [][]int
	for _, seg := range l.segments {
		if len(seg) < k {
			continue
		}
	run:
		for p := 0; p+k <= len(seg); p++ {
			block := seg[p : p+k]
			in := map[int]bool{}
			for _, i := range block {
				if occ[i] || !keep(l.hall.Seats[i]) {
					continue run
				}
				in[i] = true
			}
			for _, i := range block {
				if g := l.hall.Seats[i].GroupID; g != "" {
					for _, j := range l.groups[g] {
						if !in[j] {
							continue run
						}
					}
				}
			}
			out = append(out, append([]int(nil), block...))
		}
	}
	return out
}

// bestAvailable picks count free seats: the best block of adjacent seats (rows about two
// thirds back, then closest to the centre) that strands no seat, else the best block that
// does, else the best single seats (never splitting a group). Category and accessible narrow
// the seats considered; without accessible, wheelchair spaces are left to those who ask.
// spread > 1 picks at random among the spread best blocks instead: buyers who asked at the
// same moment and lost the best block to each other then spread out rather than collide again.
func (l *layout) bestAvailable(count int, category string, accessible bool, occ occupancy, spread int) ([]int, error) {
	keep := func(s Seat) bool {
		return (category == "" || s.Category == category) && s.Accessible == accessible
	}
	runs := l.runs(count, occ, keep)
	sort.SliceStable(runs, func(a, b int) bool { return l.score(runs[a]) < l.score(runs[b]) })
	var clean [][]int
	for _, r := range runs {
		if len(l.orphans(r, occ)) == 0 {
			clean = append(clean, r)
		}
	}
	if len(clean) == 0 {
		clean = runs
	}
	if len(clean) > 0 {
		return clean[rand.IntN(max(1, min(spread, len(clean))))], nil
	}
	// No block: the best seats one by one, a whole free group counting as one unit of its size.
	var units [][]int
	for i, s := range l.hall.Seats {
		if occ[i] || !keep(s) {
			continue
		}
		if s.GroupID == "" {
			units = append(units, []int{i})
			continue
		}
		if g := l.groups[s.GroupID]; g[0] == i && l.allFree(g, occ, keep) {
			units = append(units, g)
		}
	}
	sort.SliceStable(units, func(a, b int) bool { return l.score(units[a]) < l.score(units[b]) })
	var out []int
	for _, u := range units {
		if len(out)+len(u) <= count {
			out = append(out, u...)
		}
		if len(out) == count {
			return out, nil
		}
	}
	return nil, ErrNotEnoughSeats
}

// allFree reports whether every seat of idx is free and passes keep.
func (l *layout) allFree(idx []int, occ occupancy, keep func(Seat) bool) bool {
	for _, i := range idx {
		if occ[i] || !keep(l.hall.Seats[i]) {
			return false
		}
	}
	return true
}

// score ranks a block of seats: lower is better.
func (l *layout) score(block []int) float64 {
	var x float64
	y := l.hall.Seats[block[0]].Y
	for _, i := range block {
		x += float64(l.hall.Seats[i].X)
	}
	x /= float64(len(block))
	row := sort.SearchInts(l.rowY, y)
	ideal := float64(len(l.rowY)-1) * 2 / 3
	return math.Abs(float64(row)-ideal)*4 + math.Abs(x-l.centerX)
}

func (l *layout) ids(idx []int) []string {
	out := make([]string, len(idx))
	for k, i := range idx {
		out[k] = l.hall.Seats[i].ID
	}
	sort.Strings(out)
	return out
}
