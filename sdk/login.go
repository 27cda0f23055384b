package sdk

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// Login signs in with req's username and password over the bearer transport and keeps the
// session's tokens (replacing those of a session the Client held, which stays live on the
// server: Logout first to end it). It starts a new session generation: calls made with the
// previous session's tokens that are still in progress never go on with the new ones (a 401 to
// them is returned as it is). It returns the server's answer: the tokens, the session, and
// the device token to send with later sign-ins (req.DeviceToken) from this device. Errors: a
// *Problem (invalid_credentials with status 401 for an unknown username or a wrong password,
// too_many_attempts with status 429, validation_failed...), or an error when req asks for the
// cookie transport, which is for browsers.
func (c *Client) Login(ctx context.Context, req LoginRequest) (TokenResponse, error) {
	if req.Transport != nil && *req.Transport != "" && *req.Transport != LoginRequestTransportBearer {
		return TokenResponse{}, fmt.Errorf("boxoffice: Login: transport %q: the Client uses the bearer transport", *req.Transport)
	}
	bearer := LoginRequestTransportBearer
	req.Transport = &bearer
	var grant TokenResponse
	err := c.src.exclusive(ctx, false, signIn, func(ctx context.Context, _ string) (*held, error) {
		g, err := grantOf(c.plain.Login(ctx, nil, req))
		if err != nil {
			return nil, err
		}
		grant = g
		t := tokensOf(g, c.now())
		return &t, nil
	})
	return grant, err
}

// Refresh exchanges the refresh token for new tokens now (or joins the refresh in flight), and
// returns the server's answer. Calls refresh by themselves when needed: use Refresh to check
// a resumed session at start-up, or to get a fresh access token for another program. Errors:
// ErrSignedOut without a session or when the server ended it (with the *Problem:
// invalid_refresh_token, refresh_token_reused, session_revoked, session_expired), after which
// the Client holds no tokens, or when the session ended while Refresh waited for a Logout or a
// Login to finish; for other failures the tokens are kept and the error wraps the last
// attempt's (see WithRefreshRetry and WithRefreshGrace, which also says what can happen to the
// kept tokens: a failed refresh is a reason to try again soon, not later).
func (c *Client) Refresh(ctx context.Context) (TokenResponse, error) {
	return c.src.refresh(ctx)
}

// Logout signs out: the server revokes the session, and the Client forgets its tokens. It
// returns nil also when the Client held no session or the server had ended it already. On other
// failures (after the retries of WithRefreshRetry: the server's logout is idempotent) the
// Client keeps its tokens, so that Logout can be called again.
func (c *Client) Logout(ctx context.Context) error {
	return c.logout(ctx, "logout", func(ctx context.Context, auth RequestEditorFn) (*http.Response, error) {
		return c.plain.Logout(ctx, nil, auth)
	})
}

// LogoutAll signs out every session of the user, this one included, and forgets the tokens;
// like Logout otherwise.
func (c *Client) LogoutAll(ctx context.Context) error {
	return c.logout(ctx, "logout-all", func(ctx context.Context, auth RequestEditorFn) (*http.Response, error) {
		return c.plain.LogoutAll(ctx, nil, auth)
	})
}

func (c *Client) logout(ctx context.Context, what string, send func(context.Context, RequestEditorFn) (*http.Response, error)) error {
	err := c.src.exclusive(ctx, true, renew, func(ctx context.Context, access string) (*held, error) {
		_, err := do(ctx, c.retry, what, func(ctx context.Context) (struct{}, *http.Response, error) {
			resp, err := send(ctx, bearer(access))
			v, err := decode[struct{}](resp, err, http.StatusNoContent)
			return v, resp, err
		})
		var p *Problem
		if err == nil || (errors.As(err, &p) && endsSession(p)) {
			return &held{}, nil
		}
		return nil, err
	})
	if errors.Is(err, ErrSignedOut) {
		return nil
	}
	return err
}

// exchange is one refresh with rt, retried by c.refresh with the same token (each attempt cut
// off after the attempt timeout, and every attempt started within the retry budget). A 401 that
// ends the session gives ErrSignedOut with the *Problem.
func (c *Client) exchange(ctx context.Context, rt string) (TokenResponse, error) {
	return do(ctx, c.refresh, "refresh", func(ctx context.Context) (TokenResponse, *http.Response, error) {
		resp, err := c.plain.RefreshToken(ctx, nil, RefreshRequest{RefreshToken: rt})
		g, err := grantOf(resp, err)
		var p *Problem
		if errors.As(err, &p) && endsSession(p) {
			err = &signedOutError{p}
		}
		return g, resp, err
	})
}

// grantOf decodes a 200 SessionGrant answer, which must be a bearer TokenResponse.
func grantOf(resp *http.Response, err error) (TokenResponse, error) {
	g, err := decode[SessionGrant](resp, err, http.StatusOK)
	if err != nil {
		return TokenResponse{}, err
	}
	if t, _ := g.Discriminator(); t != string(TokenResponseTransportBearer) {
		return TokenResponse{}, fmt.Errorf("boxoffice: %s: the answer is for transport %q, not bearer", where(resp), t)
	}
	tr, err := g.AsTokenResponse()
	if err != nil || tr.AccessToken == "" || tr.RefreshToken == "" {
		return TokenResponse{}, fmt.Errorf("boxoffice: %s: a bearer answer without tokens (%v)", where(resp), err)
	}
	return tr, nil
}
