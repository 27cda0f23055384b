package api

import (
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/limiter"

	"boxoffice/accounts"
)

// routes is the whole API, in the order of openapi.yaml.
func (s *Server) routes() {
	d := s.deps
	authed := authenticate(d.Tokens, s.jar)

	s.app.Get("/healthz", handleHealthz())
	s.app.Get("/readyz", handleReadyz(d.Ping, &s.draining))
	s.app.Get("/openapi.yaml", handleSpec(d.Spec, "application/yaml"))
	s.app.Get("/openapi.json", handleSpec(s.specJSON, fiber.MIMEApplicationJSON))
	s.app.Get("/docs", handleDocs())
	s.app.Get("/docs/:asset", handleDocs())
	if d.Web != nil {
		web := handleWebApp(d.Web)
		s.app.Get("/", web)
		s.app.Get("/app/:asset", web)
	}

	v1 := s.app.Group("/v1")
	t, holds := d.Tickets, sessionHolds{d.Tickets, d.Logger}
	v1.Post("/users", s.registerLimit(), handleCreateUser(d.Users, d.Passwords, d.Now, d.Audit))
	v1.Post("/auth/login", handleLogin(d.Accounts, s.jar))
	v1.Post("/auth/refresh", handleRefresh(d.Accounts, s.jar, holds))
	v1.Post("/auth/logout", authed, handleLogout(d.Sessions, s.jar, holds))
	v1.Post("/auth/logout-all", authed, handleLogoutAll(d.Sessions, s.jar, holds))
	v1.Post("/auth/password", authed, handleChangePassword(d.Accounts, s.jar, holds))
	v1.Get("/me", authed, handleMe(d.Sessions))
	v1.Get("/me/activity", authed, handleMyActivity(d.Sessions, d.Activity))
	v1.Get("/session", authed, handleGetSession(d.Sessions))
	v1.Patch("/session/data", authed, handlePatchSessionData(d.Sessions))
	v1.Get("/sessions", authed, handleListSessions(d.Sessions))
	v1.Delete("/sessions/:id", authed, handleDeleteSession(d.Sessions, holds))

	v1.Get("/movies", handleListMovies(t))
	v1.Get("/movies/:id", handleGetMovie(t))
	v1.Get("/cinemas", handleListCinemas(t))
	v1.Get("/cinemas/:id", handleGetCinema(t))
	v1.Get("/screenings", handleListScreenings(t))
	v1.Get("/screenings/:id", handleGetScreening(t))
	v1.Get("/screenings/:id/seats", handleSeatMap(t))
	v1.Get("/screenings/:id/seats/events", handleSeatEvents(t, d.Live, s.cfg.Streams, s.cfg.WriteTimeout))
	live := requireSession(d.Sessions)
	v1.Post("/screenings/:id/holds", authed, live, handleCreateHold(t))
	v1.Get("/holds/:id", authed, live, handleGetHold(t))
	v1.Delete("/holds/:id", authed, live, handleDeleteHold(t))
	v1.Post("/orders", authed, live, handleCreateOrder(t))
	v1.Get("/orders", authed, live, handleListOrders(t))
	v1.Get("/orders/:id", authed, live, handleGetOrder(t))
	v1.Post("/orders/:id/cancel", authed, live, handleCancelOrder(t))
	v1.Post("/payments/webhook", handlePaymentWebhook(t))

	admin := requireAdmin(d.Sessions, d.Audit)
	v1.Get("/admin/users/:id/sessions", authed, admin, handleAdminListSessions(d.Sessions, d.Users))
	v1.Delete("/admin/users/:id/sessions", authed, admin, handleAdminRevokeSessions(d.Sessions, d.Users, holds))
	v1.Delete("/admin/users/:id/sessions/:sid", authed, admin, handleAdminRevokeSession(d.Sessions, d.Users, holds))
	v1.Put("/admin/movies/:id", authed, admin, handlePutMovie(t))
	v1.Put("/admin/cinemas/:id", authed, admin, handlePutCinema(t))
	v1.Put("/admin/halls/:id", authed, admin, handlePutHall(t))
	v1.Post("/admin/screenings", authed, admin, handleCreateScreening(t))
	v1.Post("/admin/screenings/:id/cancel", authed, admin, handleCancelScreening(t))
	v1.Post("/admin/screenings/:id/block", authed, admin, handleBlockSeats(t, true))
	v1.Post("/admin/screenings/:id/unblock", authed, admin, handleBlockSeats(t, false))
	v1.Get("/admin/screenings/:id/refunds", authed, admin, handleRefundReport(t))
	v1.Get("/admin/audit", authed, admin, handleAdminAudit(d.Activity))
}

// registerLimit is a coarse per-IP limit on account creation kept in the shared storage.
// Fiber's limiter is not atomic across instances and fails open when storage errors, which is
// acceptable here (argon2 work is bounded separately) but not for login throttling.
func (s *Server) registerLimit() fiber.Handler {
	if s.cfg.RegisterPerIP <= 0 || s.deps.Storage == nil {
		return func(c *fiber.Ctx) error { return c.Next() }
	}
	return limiter.New(limiter.Config{
		Max:          s.cfg.RegisterPerIP,
		Expiration:   s.cfg.RegisterWindow,
		KeyGenerator: func(c *fiber.Ctx) string { return "register:" + accounts.Network(clientIP(c)) },
		Storage:      prefixed{s.deps.Storage, s.cfg.StoragePrefix + "limiter:"},
		LimitReached: func(c *fiber.Ctx) error { return fiber.ErrTooManyRequests },
	})
}
