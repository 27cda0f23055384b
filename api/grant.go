package api

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"boxoffice/accounts"
)

// answer sends a grant: the tokens in the JSON body (bearer transport), or only in HttpOnly
// cookies with a body that carries no session token (cookie transport).
func answer(c *fiber.Ctx, jar cookieJar, cookie bool, g accounts.Grant) error {
	expiresIn := max(int64(time.Until(g.AccessExpiresAt).Round(time.Second)/time.Second), 0)
	if cookie {
		jar.set(c, g.AccessToken, g.RefreshToken, g.Session.ID, g.Session.AbsoluteExpiresAt)
		return writeJSON(c, fiber.MIMEApplicationJSON, cookieSessionResponse{
			Transport: "cookie", ExpiresIn: expiresIn, SessionID: g.Session.ID,
			Session: viewSession(g.Session, g.Session.ID), CSRFToken: jar.csrf.Token(g.Session.ID),
			DeviceToken: g.DeviceToken,
		})
	}
	return writeJSON(c, fiber.MIMEApplicationJSON, tokenResponse{
		Transport: "bearer", AccessToken: g.AccessToken, TokenType: "Bearer", ExpiresIn: expiresIn, RefreshToken: g.RefreshToken,
		SessionID: g.Session.ID, Session: viewSession(g.Session, g.Session.ID), DeviceToken: g.DeviceToken,
	})
}
