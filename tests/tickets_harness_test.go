package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"boxoffice/session/sessiontest"
	"boxoffice/tickets/ticketstest"
)

// The ticketing end-to-end tests: real boxoffice processes (the race-built binary of TestMain)
// sharing one throwaway PostgreSQL database and one Redis per test group, driven over HTTP,
// every exchange validated against openapi.yaml. The catalogue is made through the admin API.

// The test hall (ticketHall), drawn as the seat map shows it (x across, y down; "|" an aisle):
//
//	y=0  A1 A2 A3 A4 A5 A6 A7 A8 A9 A10   standard: ten adjacent seats, the race's row
//	y=1  B1 B2 B3 B4 | B5 B6 B7 B8        standard
//	y=2  C1=C2 C3 C4 C5 C6 | C7 C8        premium; C1=C2 is a love seat (group "C1-C2")
//	y=3  D1 D2 D3 D4 D5                   standard; D1, D2 are wheelchair spaces
//	y=4  E1 E2 E3                         premium: a row of three
const (
	tkMovie    = "metropolis"
	tkCinema   = "kino-e2e"
	tkHall     = "saal-1"
	tkDuration = 90 // minutes
	tkCleaning = 15 // minutes
	tkStandard = 1200
	tkPremium  = 1800
)

// raceRow is the row of ten adjacent seats the race tests contend for.
var raceRow = []string{"A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "A9", "A10"}

// tkSeat is a seat as the admin API takes it and the seat map returns it.
type tkSeat struct {
	ID         string `json:"id"`
	Label      string `json:"label"`
	Row        string `json:"row"`
	Number     int    `json:"number"`
	X          int    `json:"x"`
	Y          int    `json:"y"`
	Category   string `json:"category"`
	Accessible bool   `json:"accessible"`
	GroupID    string `json:"group_id,omitempty"`
	Status     string `json:"status,omitempty"` // seat maps only
}

// ticketHall is the layout drawn above.
func ticketHall() []tkSeat {
	var seats []tkSeat
	row := func(y int, name, category string, xs ...int) {
		for i, x := range xs {
			id := fmt.Sprintf("%s%d", name, i+1)
			seats = append(seats, tkSeat{ID: id, Label: id, Row: name, Number: i + 1, X: x, Y: y, Category: category})
		}
	}
	row(0, "A", "standard", 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)
	row(1, "B", "standard", 0, 1, 2, 3, 5, 6, 7, 8)
	row(2, "C", "premium", 0, 1, 2, 3, 4, 5, 7, 8)
	row(3, "D", "standard", 0, 1, 2, 3, 4)
	row(4, "E", "premium", 0, 1, 2)
	for i := range seats {
		switch seats[i].ID {
		case "C1", "C2":
			seats[i].GroupID = "C1-C2"
		case "D1", "D2":
			seats[i].Accessible = true
		}
	}
	return seats
}

func tkPrices() []map[string]any {
	return []map[string]any{
		{"category": "standard", "amount": tkStandard, "currency": "EUR"},
		{"category": "premium", "amount": tkPremium, "currency": "EUR"},
	}
}

// tkHold is a hold as the API returns it.
type tkHold struct {
	ID          string   `json:"id"`
	ScreeningID string   `json:"screening_id"`
	SeatIDs     []string `json:"seat_ids"`
	Status      string   `json:"status"`
	Total       struct {
		Amount   int64  `json:"amount"`
		Currency string `json:"currency"`
	} `json:"total"`
	CreatedAt        time.Time `json:"created_at"`
	ExpiresAt        time.Time `json:"expires_at"`
	ExpiresInSeconds int       `json:"expires_in_seconds"`
	ServerTime       time.Time `json:"server_time"`
}

// tkScreening is a screening as the API returns it.
type tkScreening struct {
	ID             string    `json:"id"`
	MovieID        string    `json:"movie_id"`
	CinemaID       string    `json:"cinema_id"`
	HallID         string    `json:"hall_id"`
	StartsAt       time.Time `json:"starts_at"`
	EndsAt         time.Time `json:"ends_at"`
	Status         string    `json:"status"`
	SeatsAvailable int       `json:"seats_available"`
}

// tkSeatMap is GET /v1/screenings/{id}/seats.
type tkSeatMap struct {
	ScreeningID string   `json:"screening_id"`
	Version     int64    `json:"version"`
	Seats       []tkSeat `json:"seats"`
}

// status returns each seat's status by seat ID.
func (m tkSeatMap) status() map[string]string {
	out := make(map[string]string, len(m.Seats))
	for _, s := range m.Seats {
		out[s.ID] = s.Status
	}
	return out
}

// problemSeats returns the seat_ids of a problem.
func problemSeats(r reply) []string {
	var p struct {
		SeatIDs []string `json:"seat_ids"`
	}
	_ = json.Unmarshal(r.body, &p)
	return p.SeatIDs
}

// ticketEnv is a deployment of the ticketing tests: n instances sharing one throwaway
// PostgreSQL database and one Redis, an administrator, and the catalogue made through the
// admin API: the movie tkMovie, the cinema tkCinema and the hall tkHall (ticketHall).
type ticketEnv struct {
	d     *deployment
	db    *pgxpool.Pool // a direct connection pool to the database, for the invariant queries
	redis *sessiontest.Redis
	admin string // an administrator's access token

	mu    sync.Mutex
	slots int // screenings scheduled by newScreening
	base  time.Time
}

// ticketDeployment starts n instances over a fresh PostgreSQL database (ticketstest.PostgresURL:
// the test is skipped loudly without a server, except in CI) and a fresh Redis, with the demo
// catalogue off, and builds the catalogue through the admin API. env overrides the instances'
// environment.
func ticketDeployment(t *testing.T, n int, env map[string]string) *ticketEnv {
	t.Helper()
	return ticketDeploymentVia(t, n, env, nil)
}

// ticketDeploymentVia is ticketDeployment whose instances reach the database at via(dbURL)
// (e.g. through a proxy the test controls); nil means directly.
func ticketDeploymentVia(t *testing.T, n int, env map[string]string, via func(dbURL string) string) *ticketEnv {
	t.Helper()
	return ticketDeploymentWith(t, n, env, via, nil)
}

// ticketDeploymentWith is ticketDeploymentVia over the Redis r the test started itself (e.g.
// with an append-only file, to kill and restart it without losing sessions); nil starts one.
func ticketDeploymentWith(t *testing.T, n int, env map[string]string, via func(dbURL string) string, r *sessiontest.Redis) *ticketEnv {
	t.Helper()
	dbURL := ticketstest.PostgresURL(t) // first: its cleanup (the drop) runs last
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if r == nil {
		r = sessiontest.Start(t)
	}
	instURL := dbURL
	if via != nil {
		instURL = via(dbURL)
	}
	full := map[string]string{
		"DATABASE_URL":                  instURL,
		"BOXOFFICE_DEMO_DATA":           "false",
		"BOXOFFICE_REGISTER_MAX_PER_IP": "0",
		"BOXOFFICE_LOGIN_MAX_PER_IP":    "100000",
	}
	for k, v := range env {
		full[k] = v
	}
	d := deploy(t, n, r.URL(), full)
	t.Cleanup(func() {
		// After every other check of the test: the servers must not have raced or panicked.
		d.checkLogs(t, "DATA RACE", "panic:", "fatal error")
		if t.Failed() {
			d.dumpLogs(os.Stderr)
		}
	})
	e := &ticketEnv{d: d, db: pool, redis: r,
		base: time.Now().Add(24 * time.Hour).Truncate(time.Minute)}
	root := signIn(t, d.inst(0))
	grantAdminAt(t, r.URL(), root.name)
	e.admin = root.tk.AccessToken
	e.catalogue(t)
	return e
}

// grantAdminAt grants the admin role with the CLI against the Redis at redisURL, as an
// operator would.
func grantAdminAt(t *testing.T, redisURL, username string) {
	t.Helper()
	cmd := exec.Command(binary, "admin", "grant", username)
	// The instances' patient Redis timeout: the grant's audit event is kept within it.
	cmd.Env = append(os.Environ(), "REDIS_URL="+redisURL, "BOXOFFICE_JWT_SECRET="+testSecret, "REDIS_TIMEOUT=5s")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "admin") {
		t.Fatalf("boxoffice admin grant: %v\n%s", err, out)
	}
}

// catalogue creates the movie, the cinema and the hall through the admin API, and checks that
// the public catalogue shows them.
func (e *ticketEnv) catalogue(t *testing.T) {
	t.Helper()
	c := e.d.inst(0)
	expect(t, c.do(t, "PUT", "/v1/admin/movies/"+tkMovie, e.admin, map[string]any{
		"title": "Metropolis", "synopsis": "A city of the future.", "duration_minutes": tkDuration,
		"rating": "PG", "genres": []string{"Drama", "Science Fiction"}}), 201, "")
	expect(t, c.do(t, "PUT", "/v1/admin/cinemas/"+tkCinema, e.admin, map[string]any{
		"name": "Kino E2E", "city": "Berlin", "time_zone": "Europe/Berlin"}), 201, "")
	r := c.do(t, "PUT", "/v1/admin/halls/"+tkHall, e.admin, map[string]any{
		"cinema_id": tkCinema, "name": "Saal 1", "cleaning_minutes": tkCleaning, "seats": ticketHall()})
	expect(t, r, 201, "")
	var hall struct{ Seats []tkSeat }
	r.decode(t, &hall)
	if !slices.Equal(hall.Seats, ticketHall()) { // both ordered by (y, x)
		t.Fatalf("the hall was stored as %s", r.body)
	}
	r = e.d.inst(1).do(t, "GET", "/v1/cinemas/"+tkCinema, "", nil)
	expect(t, r, 200, "")
	var cin struct {
		TimeZone string `json:"time_zone"`
		Halls    []struct {
			ID        string `json:"id"`
			SeatCount int    `json:"seat_count"`
		}
	}
	r.decode(t, &cin)
	if cin.TimeZone != "Europe/Berlin" || len(cin.Halls) != 1 || cin.Halls[0].ID != tkHall || cin.Halls[0].SeatCount != len(ticketHall()) {
		t.Fatalf("GET /v1/cinemas/%s: %s", tkCinema, r.body)
	}
	r = e.d.inst(2).do(t, "GET", "/v1/movies", "", nil)
	expect(t, r, 200, "")
	if !bytes.Contains(r.body, []byte(`"`+tkMovie+`"`)) {
		t.Fatalf("GET /v1/movies does not list %s: %s", tkMovie, r.body)
	}
}

// newScreening schedules a screening of tkMovie in tkHall in a slot of its own (a day from
// now and later, four hours apart: no two overlap) and returns it.
func (e *ticketEnv) newScreening(t *testing.T) tkScreening {
	t.Helper()
	r := e.createScreening(t, e.nextSlot())
	expect(t, r, 201, "")
	var s tkScreening
	r.decode(t, &s)
	return s
}

// nextSlot reserves a four-hour slot of the hall, a day from now or later, and returns its
// start.
func (e *ticketEnv) nextSlot() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.slots++
	return e.base.Add(time.Duration(e.slots-1) * 4 * time.Hour)
}

// createScreening asks the admin API for a screening of tkMovie in tkHall starting at at.
func (e *ticketEnv) createScreening(t *testing.T, at time.Time) reply {
	t.Helper()
	return e.d.inst(0).do(t, "POST", "/v1/admin/screenings", e.admin, map[string]any{
		"movie_id": tkMovie, "hall_id": tkHall, "starts_at": at.UTC().Format(time.RFC3339), "prices": tkPrices()})
}

// seatMap reads a screening's seat map through c.
func seatMap(t *testing.T, c *client, screening string) tkSeatMap {
	t.Helper()
	r := c.do(t, "GET", "/v1/screenings/"+screening+"/seats", "", nil)
	expect(t, r, 200, "")
	var m tkSeatMap
	r.decode(t, &m)
	if m.ScreeningID != screening || len(m.Seats) != len(ticketHall()) {
		t.Fatalf("seat map of %s: %s", screening, r.body)
	}
	return m
}

// hold asks for seats (seat_ids) through c and returns the reply and, for a 201, the hold.
func hold(t *testing.T, c *client, token, screening string, seats ...string) (reply, tkHold) {
	t.Helper()
	return holdBody(t, c, token, screening, map[string]any{"seat_ids": seats})
}

func holdBody(t *testing.T, c *client, token, screening string, body any) (reply, tkHold) {
	t.Helper()
	r := c.do(t, "POST", "/v1/screenings/"+screening+"/holds", token, body)
	var h tkHold
	if r.status == 201 {
		r.decode(t, &h)
		if loc := r.header.Get("Location"); loc != "/v1/holds/"+h.ID {
			t.Fatalf("201 hold with Location %q, want /v1/holds/%s", loc, h.ID)
		}
	}
	return r, h
}

// mustHold holds seats and fails the test unless the hold is exactly them.
func mustHold(t *testing.T, c *client, token, screening string, seats ...string) tkHold {
	t.Helper()
	r, h := hold(t, c, token, screening, seats...)
	expect(t, r, 201, "")
	if want := sortedCopy(seats); !slices.Equal(h.SeatIDs, want) || h.Status != "active" || h.ScreeningID != screening {
		t.Fatalf("hold of %v: %s", want, r.body)
	}
	return h
}

// getHold reads a hold through c.
func getHold(t *testing.T, c *client, token, id string) tkHold {
	t.Helper()
	r := c.do(t, "GET", "/v1/holds/"+id, token, nil)
	expect(t, r, 200, "")
	var h tkHold
	r.decode(t, &h)
	return h
}

// awaitSeats polls the seat map until every seat has the status (bounded by the guard).
func awaitSeats(t *testing.T, c *client, screening, status string, seats ...string) {
	t.Helper()
	deadline := time.Now().Add(guard)
	for {
		st := seatMap(t, c, screening).status()
		missing := []string{}
		for _, s := range seats {
			if st[s] != status {
				missing = append(missing, s+"="+st[s])
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("seats %v of %s are not %s after %s", missing, screening, status, guard)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// seatsAre fails unless each seat has the status now.
func seatsAre(t *testing.T, m tkSeatMap, status string, seats ...string) {
	t.Helper()
	st := m.status()
	for _, s := range seats {
		if st[s] != status {
			t.Fatalf("seat %s is %q, want %s (seat map version %d)", s, st[s], status, m.Version)
		}
	}
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// exchange is client.do for other goroutines: the same request, validated against
// openapi.yaml the same way (a violation is reported with t.Errorf, which any goroutine may
// call), but a transport error is returned instead of ending the test. hc is the HTTP client
// (one per test, with enough idle connections for its concurrency).
func (c *client) exchange(t *testing.T, hc *http.Client, method, path, token string, body any) (reply, error) {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return reply{}, err
		}
	}
	return c.oxSend(context.Background(), t, hc, method, path, token, raw)
}

// pooledClient is an HTTP client keeping up to n idle connections per host (the default keeps
// two, which would open a connection per request at higher concurrency); its idle connections
// are closed when the test ends.
func pooledClient(t *testing.T, n int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost, tr.MaxIdleConns = n, n
	hc := &http.Client{Timeout: 2 * guard, Transport: tr}
	t.Cleanup(hc.CloseIdleConnections)
	return hc
}

// ticketUser is a user with a live session.
type ticketUser struct {
	name, pw string
	tk       tokens
}

// ticketUsers registers and signs in n users through lb, at most conc at a time.
func ticketUsers(t *testing.T, lb interface{ inst(int) *client }, hc *http.Client, n, conc int) []ticketUser {
	t.Helper()
	users := make([]ticketUser, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	for i := range users {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c := lb.inst(i)
			name, pw := uniqueName()
			r, err := c.exchange(t, hc, "POST", "/v1/users", "", map[string]string{"username": name, "password": pw})
			if err == nil && r.status != 201 {
				err = fmt.Errorf("register %s: %d %s", name, r.status, r.body)
			}
			if err == nil {
				r, err = c.exchange(t, hc, "POST", "/v1/auth/login", "", map[string]string{"username": name, "password": pw, "device_name": "e2e"})
				if err == nil && r.status != 200 {
					err = fmt.Errorf("login %s: %d %s", name, r.status, r.body)
				}
			}
			if err == nil {
				users[i] = ticketUser{name: name, pw: pw}
				err = json.Unmarshal(r.body, &users[i].tk)
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return users
}

// replaceHost returns the database URL u with its host:port replaced by addr.
func replaceHost(t *testing.T, u, addr string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	p.Host = addr
	return p.String()
}

// pgHostPort returns the host:port of a database URL.
func pgHostPort(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	if p.Port() == "" {
		return p.Hostname() + ":5432"
	}
	return p.Host
}
