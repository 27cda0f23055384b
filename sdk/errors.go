package sdk

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// ErrSignedOut is returned by the Client's calls that need a session when it holds none: it
// never signed in, it signed out (Logout, LogoutAll), or the server ended the session. In the
// last case the error also holds the server's *Problem (code session_revoked, session_expired,
// invalid_refresh_token or refresh_token_reused), found with errors.As. Sign in again with
// Login.
const ErrSignedOut = sentinel("boxoffice: signed out")

// sentinel is the type of the package's error constants, compared with errors.Is.
type sentinel string

func (e sentinel) Error() string { return string(e) }

// Error describes the problem as "boxoffice: <code> (<status>): <detail>", with the title when
// the problem has no detail. It makes *Problem an error: every call of Client returns the
// server's problem as one, so that
//
//	var p *sdk.Problem
//	if errors.As(err, &p) && p.Code == sdk.CodePreconditionFailed { ... }
//
// tells the answer apart.
func (p *Problem) Error() string {
	msg := p.Title
	if p.Detail != nil && *p.Detail != "" {
		msg = *p.Detail
	}
	return fmt.Sprintf("boxoffice: %s (%d): %s", p.Code, p.Status, msg)
}

// StatusError is the error for an answer with a status the call did not expect and no problem
// body: such as a 502 from a proxy, or a 404 from a server that is not boxoffice.
type StatusError struct {
	Method      string // the request's method and path, when the HTTP client reports them
	Path        string
	StatusCode  int    // the answer's HTTP status code
	ContentType string // its Content-Type
	Body        []byte // its first 512 bytes
}

func (e *StatusError) Error() string {
	body := strings.TrimSpace(string(e.Body))
	return fmt.Sprintf("boxoffice: %s %s: unexpected %d %s (%s) without a problem body: %q",
		e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode), e.ContentType, body)
}

// signedOutError is ErrSignedOut because the server ended the session with problem.
type signedOutError struct{ problem *Problem }

func (e *signedOutError) Error() string {
	return string(ErrSignedOut) + ": " + strings.TrimPrefix(e.problem.Error(), "boxoffice: ")
}

func (e *signedOutError) Unwrap() []error { return []error{ErrSignedOut, e.problem} }

// endsSession reports whether a 401 with p's code means that the session is over: its refresh
// token can never work again.
func endsSession(p *Problem) bool {
	switch p.Code {
	case CodeSessionRevoked, CodeSessionExpired, CodeInvalidRefreshToken, CodeRefreshTokenReused:
		return p.Status == http.StatusUnauthorized
	}
	return false
}

// decode reads resp's body and closes it. When the status is want it decodes the JSON body into
// a T (nothing for 204); any other answer gives a *Problem or a *StatusError. A non-nil err (the
// call's, from the HTTP client or a request editor) is returned as it is.
func decode[T any](resp *http.Response, err error, want int) (T, error) {
	var v T
	if err != nil {
		return v, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return v, fmt.Errorf("boxoffice: %s: read the %d answer: %w", where(resp), resp.StatusCode, err)
	}
	if resp.StatusCode != want {
		return v, failure(resp, body)
	}
	if want == http.StatusNoContent {
		return v, nil
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return v, fmt.Errorf("boxoffice: %s: decode the %d answer: %w", where(resp), resp.StatusCode, err)
	}
	return v, nil
}

// failure is the error for an unwanted answer: its *Problem when the body is one, else a
// *StatusError.
func failure(resp *http.Response, body []byte) error {
	if p := problemOf(resp, body); p != nil {
		return p
	}
	e := &StatusError{StatusCode: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Body: body}
	if len(e.Body) > 512 {
		e.Body = e.Body[:512]
	}
	if resp.Request != nil && resp.Request.URL != nil {
		e.Method, e.Path = resp.Request.Method, resp.Request.URL.Path
	}
	return e
}

// problemOf decodes body as an RFC 9457 problem of boxoffice's (a JSON object with a code);
// nil when it is not one.
func problemOf(resp *http.Response, body []byte) *Problem {
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt != "application/problem+json" && mt != "application/json" {
		return nil
	}
	var p Problem
	if json.Unmarshal(body, &p) != nil || p.Code == "" {
		return nil
	}
	if p.Status == 0 {
		p.Status = resp.StatusCode
	}
	return &p
}

// where names resp's request as "METHOD /path" for error messages.
func where(resp *http.Response) string {
	if resp.Request == nil || resp.Request.URL == nil {
		return "request"
	}
	return resp.Request.Method + " " + resp.Request.URL.Path
}
