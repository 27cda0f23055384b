package api

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"boxoffice/tickets"
)

// The catalogue's administration (admin role, checked by requireAdmin before these run). The
// domain validates every field (tickets.FieldErrors, 422); these handlers only read the JSON.

// putStatus is 201 for a record PUT created, 200 for one it replaced.
func putStatus(created bool) int {
	if created {
		return fiber.StatusCreated
	}
	return fiber.StatusOK
}

// handlePutMovie creates or replaces the movie at the path's id (422 for an id that is not a
// slug, as the body's fields).
func handlePutMovie(t *tickets.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		b, err := readBody(c, "title", "synopsis", "duration_minutes", "rating", "genres")
		if err != nil {
			return err
		}
		m := tickets.Movie{ID: strings.Clone(c.Params("id")), Title: b.str("title", true), Synopsis: b.str("synopsis", false),
			DurationMinutes: int(b.integer("duration_minutes", true)), Rating: b.str("rating", false),
			Genres: b.strs("genres", false)}
		if err := b.err(); err != nil {
			return err
		}
		created, err := t.PutMovie(c.UserContext(), m)
		if err != nil {
			return err
		}
		c.Status(putStatus(created))
		return writeJSON(c, fiber.MIMEApplicationJSON, viewMovie(m))
	}
}

// handlePutCinema creates or replaces the cinema at the path's id (not its halls); the
// answer is the cinema with its halls.
func handlePutCinema(t *tickets.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		b, err := readBody(c, "name", "city", "time_zone")
		if err != nil {
			return err
		}
		cin := tickets.Cinema{ID: strings.Clone(c.Params("id")), Name: b.str("name", true), City: b.str("city", true),
			TimeZone: b.str("time_zone", true)}
		if err := b.err(); err != nil {
			return err
		}
		created, err := t.PutCinema(c.UserContext(), cin)
		if err != nil {
			return err
		}
		if cin, err = t.Cinema(c.UserContext(), cin.ID); err != nil { // with its halls
			return err
		}
		c.Status(putStatus(created))
		return writeJSON(c, fiber.MIMEApplicationJSON, viewCinema(cin))
	}
}

// handlePutHall creates the hall at the path's id, or replaces its name, cleaning time and
// seat layout; the answer is the hall as stored, seats ordered by (y, x).
func handlePutHall(t *tickets.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		b, err := readBody(c, "cinema_id", "name", "cleaning_minutes", "seats")
		if err != nil {
			return err
		}
		h := tickets.Hall{ID: strings.Clone(c.Params("id")), CinemaID: b.str("cinema_id", true), Name: b.str("name", true),
			CleaningMinutes: int(b.integer("cleaning_minutes", false))}
		for _, s := range b.objects("seats", true, "id", "label", "row", "number", "x", "y", "category", "accessible", "group_id") {
			h.Seats = append(h.Seats, tickets.Seat{ID: s.str("id", true), Label: s.str("label", true),
				Row: s.str("row", true), Number: int(s.integer("number", true)), X: int(s.integer("x", true)),
				Y: int(s.integer("y", true)), Category: s.str("category", true), Accessible: s.boolean("accessible"),
				GroupID: s.str("group_id", false)})
		}
		if err := b.err(); err != nil {
			return err
		}
		created, err := t.PutHall(c.UserContext(), h)
		if err != nil {
			return err
		}
		if h, err = t.Hall(c.UserContext(), h.ID); err != nil { // as stored: defaults, seat order
			return err
		}
		c.Status(putStatus(created))
		return writeJSON(c, fiber.MIMEApplicationJSON, viewHall(h))
	}
}

// handleCreateScreening schedules a movie in a hall: 201 with the screening and its
// Location. ends_at defaults to starts_at plus the movie's duration.
func handleCreateScreening(t *tickets.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		b, err := readBody(c, "movie_id", "hall_id", "starts_at", "ends_at", "prices")
		if err != nil {
			return err
		}
		sc := tickets.Screening{MovieID: b.str("movie_id", true), HallID: b.str("hall_id", true),
			StartsAt: b.time("starts_at", true), EndsAt: b.time("ends_at", false)}
		for _, p := range b.objects("prices", true, "category", "amount", "currency") {
			sc.Prices = append(sc.Prices, tickets.Price{Category: p.str("category", true),
				Amount: p.integer("amount", true), Currency: p.str("currency", true)})
		}
		if b.present("ends_at") && sc.EndsAt.IsZero() {
			b.fail("ends_at", "must be after starts_at") // zero would mean "absent" below
		}
		if err := b.err(); err != nil {
			return err
		}
		sc, err = t.CreateScreening(c.UserContext(), sc)
		if err != nil {
			return err
		}
		c.Location("/v1/screenings/" + sc.ID)
		c.Status(fiber.StatusCreated)
		return writeJSON(c, fiber.MIMEApplicationJSON, viewScreening(sc))
	}
}

// handleCancelScreening cancels a screening and releases its holds: 204, also when it was
// cancelled already.
func handleCancelScreening(t *tickets.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := pathID(c, "id", screeningID)
		if err != nil {
			return err
		}
		if err := t.CancelScreening(c.UserContext(), id); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	}
}

// handleBlockSeats blocks (or unblocks) seats of a screening, all or nothing: 204. Blocking
// a seat that someone holds or bought is 409 seats_unavailable.
func handleBlockSeats(t *tickets.Service, blocked bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := pathID(c, "id", screeningID)
		if err != nil {
			return err
		}
		b, err := readBody(c, "seat_ids")
		if err != nil {
			return err
		}
		seats := b.strs("seat_ids", true)
		if err := b.err(); err != nil {
			return err
		}
		if err := t.SetBlocked(c.UserContext(), id, seats, blocked); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	}
}
