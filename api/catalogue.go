package api

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"boxoffice/tickets"
)

// Shapes of the ticketing ids in paths and queries, checked before any store call: a path id
// of another shape is 404 not_found, a query id 422. Catalogue ids (movies, cinemas, halls)
// are chosen by administrators; screening and hold ids are generated (a prefix and 128
// random bits in lowercase base32).
var (
	slugID      = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)
	screeningID = regexp.MustCompile(`^scr_[a-z2-7]{25}[aeimquy4]$`)
	holdID      = regexp.MustCompile(`^hold_[a-z2-7]{25}[aeimquy4]$`)
	cursorText  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,700}$`)
)

// pathID returns the path parameter name when it has the shape, errNotFound otherwise.
func pathID(c *fiber.Ctx, name string, shape *regexp.Regexp) (string, error) {
	id := c.Params(name)
	if !shape.MatchString(id) {
		return "", errNotFound
	}
	return strings.Clone(id), nil // a copy: Fiber reuses the path's bytes
}

// query reads query parameters, each at most once, collecting a message per invalid one.
type query struct {
	c    *fiber.Ctx
	errs map[string]string
}

func newQuery(c *fiber.Ctx) *query { return &query{c: c, errs: map[string]string{}} }

// get returns parameter name ("" when absent or given twice, which is an error; given
// empty, it is an error too: "limit=" is no limit).
func (q *query) get(name string) string {
	switch vals := q.c.Context().QueryArgs().PeekMulti(name); {
	case len(vals) > 1:
		q.errs[name] = "must be given once"
	case len(vals) == 1 && len(vals[0]) == 0:
		q.errs[name] = "must not be empty"
	case len(vals) == 1:
		return string(vals[0]) // a copy: it outlives Fiber's buffers
	}
	return ""
}

// page reads limit (1 to tickets.MaxPageLimit; absent: the default) and cursor (a next_cursor
// the API returned).
func (q *query) page() (cursor string, limit int) {
	if text := q.get("limit"); text != "" {
		n, err := strconv.Atoi(text)
		if err != nil || strings.ContainsAny(text, "+-") || n < 1 || n > tickets.MaxPageLimit {
			q.errs["limit"] = "must be an integer from 1 to " + strconv.Itoa(tickets.MaxPageLimit)
		}
		limit = n
	}
	if cursor = q.get("cursor"); cursor != "" && !cursorText.MatchString(cursor) {
		q.errs["cursor"] = "must be the next_cursor of a previous page"
	}
	return cursor, limit
}

// err returns the collected messages as a 422, or nil.
func (q *query) err() error {
	if len(q.errs) == 0 {
		return nil
	}
	return &validationError{q.errs}
}

// handleListMovies returns one page of the catalogue's movies by title.
func handleListMovies(t *tickets.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		q := newQuery(c)
		cursor, limit := q.page()
		if err := q.err(); err != nil {
			return err
		}
		list, next, err := t.Movies(c.UserContext(), cursor, limit)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.MIMEApplicationJSON, viewPage(list, next, viewMovie))
	}
}

// handleGetMovie returns one movie.
func handleGetMovie(t *tickets.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := pathID(c, "id", slugID)
		if err != nil {
			return err
		}
		m, err := t.Movie(c.UserContext(), id)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.MIMEApplicationJSON, viewMovie(m))
	}
}

// handleListCinemas returns every cinema with its halls.
func handleListCinemas(t *tickets.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		list, err := t.Cinemas(c.UserContext())
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.MIMEApplicationJSON, viewList(list, viewCinema))
	}
}

// handleGetCinema returns one cinema with its halls.
func handleGetCinema(t *tickets.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := pathID(c, "id", slugID)
		if err != nil {
			return err
		}
		cin, err := t.Cinema(c.UserContext(), id)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.MIMEApplicationJSON, viewCinema(cin))
	}
}

// handleListScreenings returns one page of screenings by start time, filtered by movie,
// cinema and a span of start times (tickets.ScreeningFilter has the defaults).
func handleListScreenings(t *tickets.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		q := newQuery(c)
		var f tickets.ScreeningFilter
		f.Cursor, f.Limit = q.page()
		for name, dst := range map[string]*string{"movie_id": &f.MovieID, "cinema_id": &f.CinemaID} {
			if *dst = q.get(name); *dst != "" && !slugID.MatchString(*dst) {
				q.errs[name] = "must be 1-64 lowercase letters, digits or '-'"
			}
		}
		for name, dst := range map[string]*time.Time{"from": &f.From, "to": &f.To} {
			if text := q.get(name); text != "" {
				var err error
				if *dst, err = parseTime(text); err != nil {
					q.errs[name] = err.Error()
					if strings.Contains(text, " ") { // an unencoded "+" arrives as a space
						q.errs[name] += " (encode + as %2B)"
					}
				}
			}
		}
		if err := q.err(); err != nil {
			return err
		}
		list, next, err := t.Screenings(c.UserContext(), f)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.MIMEApplicationJSON, viewPage(list, next, viewScreening))
	}
}

// handleGetScreening returns one screening.
func handleGetScreening(t *tickets.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := pathID(c, "id", screeningID)
		if err != nil {
			return err
		}
		s, err := t.Screening(c.UserContext(), id)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.MIMEApplicationJSON, viewScreening(s))
	}
}

// handleSeatMap returns a screening's seats with their availability, its ETag (which changes
// whenever any seat's status does) and Cache-Control: no-cache, so that clients poll with
// If-None-Match and get 304 Not Modified, without a body, while nothing changed.
func handleSeatMap(t *tickets.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := pathID(c, "id", screeningID)
		if err != nil {
			return err
		}
		m, err := t.SeatMap(c.UserContext(), id)
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderETag, m.ETag)
		c.Set(fiber.HeaderCacheControl, "no-cache")
		if noneMatch(c.Get(fiber.HeaderIfNoneMatch), m.ETag) {
			c.Status(fiber.StatusNotModified) // no body, and no Content-Type for none
			c.Response().Header.SetNoDefaultContentType(true)
			return nil
		}
		return writeJSON(c, fiber.MIMEApplicationJSON, viewSeatMap(m))
	}
}

// noneMatch reports whether an If-None-Match value matches etag: "*", or a comma-separated
// list holding etag under weak comparison (RFC 9110 13.1.2: W/ prefixes are ignored).
// Members that are not entity tags never match.
func noneMatch(header, etag string) bool {
	header = strings.TrimSpace(header)
	if header == "" {
		return false
	}
	if header == "*" {
		return true
	}
	want := strings.TrimPrefix(etag, "W/")
	for _, part := range strings.Split(header, ",") {
		if strings.TrimPrefix(strings.TrimSpace(part), "W/") == want {
			return true
		}
	}
	return false
}
