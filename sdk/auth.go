package sdk

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
)

// Requests are authenticated in two steps: a request editor sets the Authorization header
// (refreshing first when the access token is due), and authDoer acts on a 401 answer.

// authorize is the request editor of calls that need a session: it sets the Authorization
// header, refreshing first when the token is due, and fails with ErrSignedOut without a
// session.
func (s *tokenSource) authorize(ctx context.Context, req *http.Request) error {
	tok, err := s.access(ctx)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return nil
}

// authorizeIfSignedIn is the request editor of API(): like authorize, but a request goes
// without Authorization when there is no session, and sign-in and refresh never carry one.
func (s *tokenSource) authorizeIfSignedIn(ctx context.Context, req *http.Request) error {
	if strings.HasSuffix(req.URL.Path, "/v1/auth/login") || strings.HasSuffix(req.URL.Path, "/v1/auth/refresh") {
		return nil
	}
	err := s.authorize(ctx, req)
	if err == ErrSignedOut { // not wrapped: there was no session to begin with
		return nil
	}
	return err
}

// bearer is the request editor that sends access.
func bearer(access string) RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+access)
		return nil
	}
}

// maxProblemBytes bounds what authDoer reads of a 401 answer to learn its code.
const maxProblemBytes = 64 << 10

// authDoer sends the requests of authenticated calls and acts on the server's verdict on their
// access token. A 401 answer to a request that carried one of the access tokens of the source's
// current session generation (see tokenSource) is read: token_expired refreshes (or takes the
// tokens of a refresh that happened meanwhile) and sends the request once more with the new
// token; session_revoked and session_expired end the session (ErrSignedOut with the *Problem)
// unless the tokens changed meanwhile (a refresh, or a password change that moved the session),
// in which case the request is sent again with the current token. A 401 to a request sent in
// an earlier generation is never retried: it is returned as it is when the Client signed in
// again since (the request was another session's), and gives ErrSignedOut when it is signed out.
// Any other answer is returned as it is. A request whose body cannot be replayed (no GetBody)
// is not retried.
type authDoer struct {
	next HttpRequestDoer
	src  *tokenSource
}

func (d *authDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.next.Do(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	sent, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return resp, nil
	}
	gen, ok := d.src.generationOf(sent)
	if !ok {
		return resp, nil
	}
	p := peekProblem(resp)
	if p == nil || (p.Code != CodeTokenExpired && p.Code != CodeSessionRevoked && p.Code != CodeSessionExpired) {
		return resp, nil
	}
	tok, err := d.src.rejected(req.Context(), sent, gen, p)
	if err == errOtherGeneration {
		return resp, nil
	}
	if err != nil {
		resp.Body.Close()
		return nil, err
	}
	retry := req.Clone(req.Context())
	if req.Body != nil && req.Body != http.NoBody {
		if req.GetBody == nil {
			return resp, nil
		}
		if retry.Body, err = req.GetBody(); err != nil {
			return resp, nil
		}
	}
	resp.Body.Close()
	retry.Header.Set("Authorization", "Bearer "+tok)
	resp, err = d.next.Do(retry)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	// A session that the server ended while this call was retried is over too.
	if p := peekProblem(resp); p != nil && (p.Code == CodeSessionRevoked || p.Code == CodeSessionExpired) {
		if _, err := d.src.rejected(req.Context(), tok, gen, p); err != nil && err != errOtherGeneration {
			resp.Body.Close()
			return nil, err
		}
	}
	return resp, nil
}

// peekProblem decodes resp's body as a problem, leaving the body readable again; nil when it is
// not one.
func peekProblem(resp *http.Response) *Problem {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxProblemBytes))
	rest := resp.Body
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(body), rest), rest}
	if err != nil {
		return nil
	}
	return problemOf(resp, body)
}
