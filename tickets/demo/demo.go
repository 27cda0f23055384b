// Package demo is a small catalogue for trying boxoffice: three cinemas in three time zones
// with differently shaped halls, six films, and screenings over the next seven days.
package demo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"boxoffice/tickets"
)

// Movies are the demo films.
var Movies = []tickets.Movie{
	{ID: "the-last-reel", Title: "The Last Reel", DurationMinutes: 118, Rating: "PG-13", Genres: []string{"drama"},
		Synopsis: "A projectionist keeps a small-town cinema alive for one more season."},
	{ID: "orbit-of-glass", Title: "Orbit of Glass", DurationMinutes: 142, Rating: "PG-13", Genres: []string{"sci-fi", "adventure"},
		Synopsis: "A salvage crew finds a station that should not exist."},
	{ID: "paper-lanterns", Title: "Paper Lanterns", DurationMinutes: 97, Rating: "PG", Genres: []string{"animation", "family"},
		Synopsis: "Two siblings follow a runaway lantern across a festival night."},
	{ID: "quiet-harbour", Title: "Quiet Harbour", DurationMinutes: 126, Rating: "R", Genres: []string{"thriller"},
		Synopsis: "A harbour pilot is paid to forget one ship."},
	{ID: "second-serve", Title: "Second Serve", DurationMinutes: 104, Rating: "PG", Genres: []string{"comedy", "sport"},
		Synopsis: "A retired tennis pro coaches her rival's daughter."},
	{ID: "the-cartographer", Title: "The Cartographer", DurationMinutes: 151, Rating: "PG-13", Genres: []string{"history", "drama"},
		Synopsis: "The woman who mapped a coastline that kept moving."},
}

type hall struct {
	hall  tickets.Hall
	price map[string]int64
}

type cinema struct {
	tickets.Cinema
	currency string
	halls    []hall
}

// cinemas are the demo venues; their halls differ in shape on purpose (aisles, a widening
// trapezoid, love seats, wheelchair spaces).
func cinemas() []cinema {
	return []cinema{
		{Cinema: tickets.Cinema{ID: "kino-mitte", Name: "Kino Mitte", City: "Berlin", TimeZone: "Europe/Berlin"}, currency: "EUR",
			halls: []hall{
				{hall: tickets.Hall{ID: "kino-mitte-1", CinemaID: "kino-mitte", Name: "Saal 1", CleaningMinutes: 20,
					Seats: grid(10, []int{4, 8, 4}, 3, 2)}, price: map[string]int64{"standard": 1150, "premium": 1450}},
				{hall: tickets.Hall{ID: "kino-mitte-2", CinemaID: "kino-mitte", Name: "Saal 2 (Lounge)", CleaningMinutes: 15,
					Seats: withLoveSeats(grid(5, []int{8}, 0, 0), 4)}, price: map[string]int64{"standard": 1300, "loveseat": 1600}},
			}},
		{Cinema: tickets.Cinema{ID: "cine-rex", Name: "Ciné Rex", City: "Lyon", TimeZone: "Europe/Paris"}, currency: "EUR",
			halls: []hall{
				{hall: tickets.Hall{ID: "cine-rex-1", CinemaID: "cine-rex", Name: "Salle Lumière", CleaningMinutes: 15,
					Seats: trapezoid(9, 8, 16, 2)}, price: map[string]int64{"standard": 1050, "premium": 1350}},
			}},
		{Cinema: tickets.Cinema{ID: "roxy-nyc", Name: "Roxy", City: "New York", TimeZone: "America/New_York"}, currency: "USD",
			halls: []hall{
				{hall: tickets.Hall{ID: "roxy-grand", CinemaID: "roxy-nyc", Name: "Grand", CleaningMinutes: 25,
					Seats: grid(12, []int{5, 10, 5}, 4, 2)}, price: map[string]int64{"standard": 1600, "premium": 2100}},
				{hall: tickets.Hall{ID: "roxy-studio", CinemaID: "roxy-nyc", Name: "Studio", CleaningMinutes: 15,
					Seats: grid(6, []int{10}, 0, 1)}, price: map[string]int64{"standard": 1400}},
			}},
	}
}

// showTimes are the local start times of each day's screenings in every hall.
var showTimes = [][2]int{{14, 0}, {17, 30}, {21, 0}}

// Load puts the demo catalogue into svc: movies, cinemas and halls are created or replaced;
// screenings are scheduled for the seven days from now, in each cinema's zone, skipping
// times already past and slots already taken (so loading twice adds nothing).
func Load(ctx context.Context, svc *tickets.Service, now time.Time) (screenings int, err error) {
	for _, m := range Movies {
		if _, err := svc.PutMovie(ctx, m); err != nil {
			return 0, fmt.Errorf("movie %s: %w", m.ID, err)
		}
	}
	film := 0
	for _, c := range cinemas() {
		if _, err := svc.PutCinema(ctx, c.Cinema); err != nil {
			return 0, fmt.Errorf("cinema %s: %w", c.ID, err)
		}
		loc, err := time.LoadLocation(c.TimeZone)
		if err != nil {
			return 0, err
		}
		for _, h := range c.halls {
			if _, err := svc.PutHall(ctx, h.hall); err != nil && !errors.Is(err, tickets.ErrHallInUse) {
				return 0, fmt.Errorf("hall %s: %w", h.hall.ID, err)
			}
			var prices []tickets.Price
			for cat, amount := range h.price {
				prices = append(prices, tickets.Price{Category: cat, Amount: amount, Currency: c.currency})
			}
			day := now.In(loc)
			for d := 0; d < 7; d++ {
				for _, st := range showTimes {
					start := time.Date(day.Year(), day.Month(), day.Day()+d, st[0], st[1], 0, 0, loc)
					film++
					if !start.After(now) {
						continue
					}
					_, err := svc.CreateScreening(ctx, tickets.Screening{MovieID: Movies[film%len(Movies)].ID,
						HallID: h.hall.ID, StartsAt: start, Prices: prices})
					switch {
					case errors.Is(err, tickets.ErrHallBusy):
					case err != nil:
						return screenings, fmt.Errorf("screening in %s at %s: %w", h.hall.ID, start, err)
					default:
						screenings++
					}
				}
			}
		}
	}
	return screenings, nil
}
