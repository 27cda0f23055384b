// Package sdk is the Go client of the boxoffice API, in two layers.
//
// Client (client.go and the files beside it, written by hand) is what apps use. It holds one
// user's bearer session and offers the session operations as methods that take a context and
// return the answer or an error:
//
//	c, err := sdk.New("https://boxoffice.example.com", sdk.WithOnTokens(store))
//	_, err = c.Login(ctx, sdk.LoginRequest{Username: "alice", Password: pw})
//	s, err := c.Session(ctx)                                           // s.Version is the ETag
//	s, err = c.PatchSessionData(ctx, sdk.SessionDataPatch{"theme": "dark"}, s.Version)
//
// It sends the access token, refreshes it 30 s before it expires (DefaultRefreshSkew) and once
// more on a 401 token_expired answer, with one refresh request however many calls need it, and
// retries a refresh that failed at the transport or with a 408, 429 or 5xx answer with the same
// refresh token: the server's grace window (10 s by default) makes that safe, so every attempt
// is cut off after DefaultRefreshAttemptTimeout and none starts later than 4/5 of the window
// after the first (see WithRefreshGrace, which also says what a refresh that failed this way
// leaves at risk). Refresh tokens are single use: keep the latest, which WithOnTokens hands over
// after every change, and resume with WithTokens.
//
// Each sign-in (Login, or the tokens WithTokens resumes) starts a new session generation, which
// refreshes and ChangePassword continue and which Logout, LogoutAll or the server's verdict
// ends. A request is sent again after a 401 only within the generation it was sent in: after a
// sign-out and another sign-in, the answer to a request of the earlier session is returned as
// it is, never replayed with the new session's tokens. The Client follows no redirect (the API
// never redirects), so its tokens go to the base URL's server only.
//
// Errors: the server's RFC 9457 problems are *Problem errors (test them with errors.As and the
// Code... constants); an answer the call did not expect that is not a problem is a
// *StatusError; a failure of the HTTP client is returned as it is (a *url.Error from net/http);
// ErrSignedOut means there is no session (never signed in, signed out, or ended by the server,
// in which case the *Problem is in the error too).
//
// The generated layer (client.gen.go, from openapi.yaml by oapi-codegen, pinned as a tool in
// go.mod; run go generate ./sdk, never edit it) has every operation and schema of the API.
// Client.API returns its ClientWithResponses sharing the Client's session; NewClientWithResponses
// makes one without.
package sdk

//go:generate go tool oapi-codegen -config oapi-codegen.yaml ../openapi.yaml
