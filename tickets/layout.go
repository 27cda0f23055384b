package tickets

import (
	"fmt"
	"regexp"
	"sort"
)

// layout indexes a hall's seats for the hold rules: by ID, by group, and by row segment (a run
// of seats in one row with consecutive X; an aisle or the row's end bounds it).
type layout struct {
	hall     Hall
	byID     map[string]int   // seat ID → index in hall.Seats
	groups   map[string][]int // group ID → seat indexes
	segments [][]int          // each sorted by X
	segOf    []int            // seat index → segment
	posOf    []int            // seat index → position in its segment
	rowY     []int            // distinct Y values, ascending
	centerX  float64
}

func newLayout(h Hall) *layout {
	l := &layout{hall: h, byID: make(map[string]int, len(h.Seats)), groups: map[string][]int{},
		segOf: make([]int, len(h.Seats)), posOf: make([]int, len(h.Seats))}
	rows := map[int][]int{}
	minX, maxX := 0, 0
	for i, s := range h.Seats {
		l.byID[s.ID] = i
		if s.GroupID != "" {
			l.groups[s.GroupID] = append(l.groups[s.GroupID], i)
		}
		rows[s.Y] = append(rows[s.Y], i)
		if i == 0 || s.X < minX {
			minX = s.X
		}
		if i == 0 || s.X > maxX {
			maxX = s.X
		}
	}
	l.centerX = float64(minX+maxX) / 2
	for y := range rows {
		l.rowY = append(l.rowY, y)
	}
	sort.Ints(l.rowY)
	for _, y := range l.rowY {
		idx := rows[y]
		sort.Slice(idx, func(a, b int) bool { return h.Seats[idx[a]].X < h.Seats[idx[b]].X })
		var seg []int
		for k, i := range idx {
			if k > 0 && h.Seats[i].X != h.Seats[idx[k-1]].X+1 {
				l.addSegment(seg)
				seg = nil
			}
			seg = append(seg, i)
		}
		l.addSegment(seg)
	}
	return l
}

func (l *layout) addSegment(seg []int) {
	if len(seg) == 0 {
		return
	}
	n := len(l.segments)
	for p, i := range seg {
		l.segOf[i], l.posOf[i] = n, p
	}
	l.segments = append(l.segments, seg)
}

var (
	slugPattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)
	seatIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,15}$`)
)

// Limits on a hall's layout.
const (
	MaxSeatsPerHall = 2000
	maxGroupSize    = 4
)

// validHall checks a hall and its layout: IDs, unique seat IDs and positions, categories, and
// groups of 2–4 adjacent seats in one row.
func validHall(h Hall) FieldErrors {
	fe := FieldErrors{}
	if !slugPattern.MatchString(h.ID) {
		fe["id"] = "must be 1-64 lowercase letters, digits or '-'"
	}
	if !slugPattern.MatchString(h.CinemaID) {
		fe["cinema_id"] = "must be 1-64 lowercase letters, digits or '-'"
	}
	if h.Name == "" || len(h.Name) > 100 {
		fe["name"] = "must be 1-100 bytes"
	}
	if h.CleaningMinutes < 0 || h.CleaningMinutes > 240 {
		fe["cleaning_minutes"] = "must be 0-240"
	}
	if len(h.Seats) == 0 || len(h.Seats) > MaxSeatsPerHall {
		fe["seats"] = fmt.Sprintf("must list 1-%d seats", MaxSeatsPerHall)
		return fe
	}
	ids := map[string]bool{}
	at := map[[2]int]bool{}
	for i, s := range h.Seats {
		f := fmt.Sprintf("seats[%d]", i)
		switch {
		case !seatIDPattern.MatchString(s.ID):
			fe[f+".id"] = "must be 1-16 letters, digits or '-'"
		case ids[s.ID]:
			fe[f+".id"] = "duplicate seat id " + s.ID
		case at[[2]int{s.X, s.Y}]:
			fe[f+".x"] = "another seat has the same x and y"
		case s.Label == "" || len(s.Label) > 16 || s.Row == "" || len(s.Row) > 8:
			fe[f+".label"] = "label (1-16 bytes) and row (1-8 bytes) are required"
		case s.X < 0 || s.Y < 0 || s.X > 1000 || s.Y > 1000 || s.Number < 0 || s.Number > 9999:
			fe[f+".x"] = "x and y must be 0-1000, number 0-9999"
		case !slugPattern.MatchString(s.Category):
			fe[f+".category"] = "must be 1-64 lowercase letters, digits or '-'"
		case s.GroupID != "" && !seatIDPattern.MatchString(s.GroupID):
			fe[f+".group_id"] = "must be 1-16 letters, digits or '-'"
		}
		ids[s.ID], at[[2]int{s.X, s.Y}] = true, true
	}
	if len(fe) > 0 {
		return fe
	}
	l := newLayout(h)
	for g, members := range l.groups {
		seg := l.segOf[members[0]]
		pos := map[int]bool{}
		for _, i := range members {
			if l.segOf[i] != seg {
				seg = -1
				break
			}
			pos[l.posOf[i]] = true
		}
		lo := l.posOf[members[0]]
		for _, i := range members {
			lo = min(lo, l.posOf[i])
		}
		contiguous := seg >= 0
		for k := 0; contiguous && k < len(members); k++ {
			contiguous = pos[lo+k]
		}
		if len(members) < 2 || len(members) > maxGroupSize || !contiguous {
			fe["seats"] = fmt.Sprintf("group %s must be 2-%d adjacent seats in one row", g, maxGroupSize)
		}
	}
	if len(fe) == 0 {
		return nil
	}
	return fe
}

func (l *layout) hasCategory(c string) bool {
	for _, s := range l.hall.Seats {
		if s.Category == c {
			return true
		}
	}
	return false
}
