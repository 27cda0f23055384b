package api

import (
	"time"

	"boxoffice/tickets"
)

// The JSON representations of the ticketing domain. Times are RFC 3339 in UTC; money is an
// integer amount of minor units with its ISO 4217 currency.

type movieView struct {
	ID              string   `json:"id"`
	Title           string   `json:"title"`
	Synopsis        string   `json:"synopsis"`
	DurationMinutes int      `json:"duration_minutes"`
	Rating          string   `json:"rating"`
	Genres          []string `json:"genres"`
}

func viewMovie(m tickets.Movie) movieView {
	genres := m.Genres
	if genres == nil {
		genres = []string{}
	}
	return movieView{ID: m.ID, Title: m.Title, Synopsis: m.Synopsis, DurationMinutes: m.DurationMinutes,
		Rating: m.Rating, Genres: genres}
}

// pageView is one page of a list and the cursor of the next page (null on the last page).
type pageView[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

func viewPage[S, T any](list []S, next string, view func(S) T) pageView[T] {
	p := pageView[T]{Items: viewList(list, view).Items}
	if next != "" {
		p.NextCursor = &next
	}
	return p
}

// listView is a whole list, in one page.
type listView[T any] struct {
	Items []T `json:"items"`
}

func viewList[S, T any](list []S, view func(S) T) listView[T] {
	items := make([]T, 0, len(list))
	for _, x := range list {
		items = append(items, view(x))
	}
	return listView[T]{items}
}

type hallSummaryView struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	SeatCount int    `json:"seat_count"`
}

type cinemaView struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	City     string            `json:"city"`
	TimeZone string            `json:"time_zone"`
	Halls    []hallSummaryView `json:"halls"`
}

func viewCinema(c tickets.Cinema) cinemaView {
	v := cinemaView{ID: c.ID, Name: c.Name, City: c.City, TimeZone: c.TimeZone, Halls: make([]hallSummaryView, 0, len(c.Halls))}
	for _, h := range c.Halls {
		v.Halls = append(v.Halls, hallSummaryView{ID: h.ID, Name: h.Name, SeatCount: h.SeatCount})
	}
	return v
}

// seatView is a seat of a hall's layout; group_id is absent for a seat sold alone.
type seatView struct {
	ID         string `json:"id"`
	Label      string `json:"label"`
	Row        string `json:"row"`
	Number     int    `json:"number"`
	X          int    `json:"x"`
	Y          int    `json:"y"`
	Category   string `json:"category"`
	Accessible bool   `json:"accessible"`
	GroupID    string `json:"group_id,omitempty"`
}

func viewSeat(s tickets.Seat) seatView {
	return seatView{ID: s.ID, Label: s.Label, Row: s.Row, Number: s.Number, X: s.X, Y: s.Y,
		Category: s.Category, Accessible: s.Accessible, GroupID: s.GroupID}
}

type hallView struct {
	ID              string     `json:"id"`
	CinemaID        string     `json:"cinema_id"`
	Name            string     `json:"name"`
	CleaningMinutes int        `json:"cleaning_minutes"`
	Seats           []seatView `json:"seats"`
}

func viewHall(h tickets.Hall) hallView {
	v := hallView{ID: h.ID, CinemaID: h.CinemaID, Name: h.Name, CleaningMinutes: h.CleaningMinutes,
		Seats: make([]seatView, 0, len(h.Seats))}
	for _, s := range h.Seats {
		v.Seats = append(v.Seats, viewSeat(s))
	}
	return v
}

type moneyView struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

type priceView struct {
	Category string `json:"category"`
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

type screeningView struct {
	ID             string      `json:"id"`
	MovieID        string      `json:"movie_id"`
	CinemaID       string      `json:"cinema_id"`
	HallID         string      `json:"hall_id"`
	StartsAt       time.Time   `json:"starts_at"`
	EndsAt         time.Time   `json:"ends_at"`
	Status         string      `json:"status"`
	Prices         []priceView `json:"prices"`
	SeatsAvailable int         `json:"seats_available"`
}

func viewScreening(s tickets.Screening) screeningView {
	v := screeningView{ID: s.ID, MovieID: s.MovieID, CinemaID: s.CinemaID, HallID: s.HallID,
		StartsAt: s.StartsAt.UTC(), EndsAt: s.EndsAt.UTC(), Status: s.Status,
		Prices: make([]priceView, 0, len(s.Prices)), SeatsAvailable: s.SeatsAvailable}
	for _, p := range s.Prices {
		v.Prices = append(v.Prices, priceView{Category: p.Category, Amount: p.Amount, Currency: p.Currency})
	}
	return v
}

type seatStatusView struct {
	seatView
	Status tickets.SeatState `json:"status"`
}

type seatMapView struct {
	ScreeningID string           `json:"screening_id"`
	Version     int64            `json:"version"`
	Seats       []seatStatusView `json:"seats"`
}

func viewSeatMap(m tickets.SeatMap) seatMapView {
	v := seatMapView{ScreeningID: m.ScreeningID, Version: m.Version, Seats: make([]seatStatusView, 0, len(m.Seats))}
	for _, s := range m.Seats {
		v.Seats = append(v.Seats, seatStatusView{viewSeat(s.Seat), s.Status})
	}
	return v
}

// holdView is a hold as of server_time: expires_in_seconds counts from there, so clients
// count down on the server's clock, not their own.
type holdView struct {
	ID               string    `json:"id"`
	ScreeningID      string    `json:"screening_id"`
	SeatIDs          []string  `json:"seat_ids"`
	Status           string    `json:"status"`
	Total            moneyView `json:"total"`
	CreatedAt        time.Time `json:"created_at"`
	ExpiresAt        time.Time `json:"expires_at"`
	ExpiresInSeconds int       `json:"expires_in_seconds"`
	ServerTime       time.Time `json:"server_time"`
}

func viewHold(h tickets.Hold) holdView {
	h = h.Effective()
	seats := h.SeatIDs
	if seats == nil {
		seats = []string{}
	}
	return holdView{ID: h.ID, ScreeningID: h.ScreeningID, SeatIDs: seats, Status: h.Status,
		Total:     moneyView{Amount: h.Total.Amount, Currency: h.Total.Currency},
		CreatedAt: h.CreatedAt.UTC(), ExpiresAt: h.ExpiresAt.UTC(), ExpiresInSeconds: h.ExpiresIn(),
		ServerTime: h.ServerTime.UTC()}
}
