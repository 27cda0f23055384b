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

	v1 := s.app.Group("/v1")
	v1.Post("/users", s.registerLimit(), handleCreateUser(d.Users, d.Passwords, d.Now))
	v1.Post("/auth/login", handleLogin(d.Accounts, s.jar))
	v1.Post("/auth/refresh", handleRefresh(d.Accounts, s.jar))
	v1.Post("/auth/logout", authed, handleLogout(d.Sessions, s.jar))
	v1.Post("/auth/logout-all", authed, handleLogoutAll(d.Sessions, s.jar))
	v1.Post("/auth/password", authed, handleChangePassword(d.Accounts, s.jar))
	v1.Get("/me", authed, handleMe(d.Sessions))
	v1.Get("/session", authed, handleGetSession(d.Sessions))
	v1.Patch("/session/data", authed, handlePatchSessionData(d.Sessions))
	v1.Get("/sessions", authed, handleListSessions(d.Sessions))
	v1.Delete("/sessions/:id", authed, handleDeleteSession(d.Sessions))

	admin := requireAdmin(d.Sessions)
	v1.Get("/admin/users/:id/sessions", authed, admin, handleAdminListSessions(d.Sessions, d.Users))
	v1.Delete("/admin/users/:id/sessions", authed, admin, handleAdminRevokeSessions(d.Sessions, d.Users))
	v1.Delete("/admin/users/:id/sessions/:sid", authed, admin, handleAdminRevokeSession(d.Sessions, d.Users))
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
