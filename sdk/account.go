package sdk

import (
	"context"
	"errors"
	"net/http"
)

// Register creates an account; it does not sign in (see Login). The answer shows the username
// in its canonical form. Errors: a *Problem such as username_taken (409), validation_failed
// (422, with a message per field in Errors) or rate_limited (429).
func (c *Client) Register(ctx context.Context, req CreateUserRequest) (User, error) {
	resp, err := c.plain.CreateUser(ctx, nil, req)
	return decode[User](resp, err, http.StatusCreated)
}

// Me returns the signed-in user. Errors: ErrSignedOut, or a *Problem.
func (c *Client) Me(ctx context.Context) (User, error) {
	resp, err := c.authed.GetMe(ctx, nil)
	return decode[User](resp, err, http.StatusOK)
}

// ChangePassword changes the user's password. The server revokes every other session of the
// user and moves this one to a new id with new tokens, which the Client keeps (and passes to
// WithOnTokens's function); it returns them. A failure at the transport or a 5xx answer is
// retried with the same access token, which the server answers with the moved session's tokens
// when the change went through (see WithRefreshRetry). Errors: a *Problem (a wrong current
// password is validation_failed, 422, with Errors["current_password"]; too_many_attempts, 429;
// conflict, 409, for a concurrent change), or ErrSignedOut when the session was over.
func (c *Client) ChangePassword(ctx context.Context, currentPassword, newPassword string) (TokenResponse, error) {
	var grant TokenResponse
	err := c.src.exclusive(ctx, true, renew, func(ctx context.Context, access string) (*held, error) {
		g, err := do(ctx, c.retry, "password change", func(ctx context.Context) (TokenResponse, *http.Response, error) {
			resp, err := c.plain.ChangePassword(ctx, nil,
				ChangePasswordRequest{CurrentPassword: currentPassword, NewPassword: newPassword}, bearer(access))
			g, err := grantOf(resp, err)
			return g, resp, err
		})
		var p *Problem
		switch {
		case err == nil:
			grant = g
			t := tokensOf(g, c.now())
			return &t, nil
		case errors.As(err, &p) && endsSession(p):
			return &held{}, &signedOutError{p}
		}
		return nil, err
	})
	return grant, err
}
