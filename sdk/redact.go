package sdk

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
)

// The generated types that carry a password or a token print it as [redacted] through fmt
// (every verb) and log/slog, like Tokens; encoding/json still carries everything, since that is
// how they travel. Each method formats a copy of the value as a type without methods.

// Format prints r with its password redacted.
func (r LoginRequest) Format(f fmt.State, verb rune) { formatRedacted(f, verb, r.redacted()) }

// LogValue is r for log/slog, its password redacted.
func (r LoginRequest) LogValue() slog.Value { return slog.AnyValue(r.redacted()) }

func (r LoginRequest) redacted() any {
	type plain LoginRequest
	c := plain(r)
	c.Password = redacted(c.Password)
	return c
}

// Format prints r with its password redacted.
func (r CreateUserRequest) Format(f fmt.State, verb rune) { formatRedacted(f, verb, r.redacted()) }

// LogValue is r for log/slog, its password redacted.
func (r CreateUserRequest) LogValue() slog.Value { return slog.AnyValue(r.redacted()) }

func (r CreateUserRequest) redacted() any {
	type plain CreateUserRequest
	c := plain(r)
	c.Password = redacted(c.Password)
	return c
}

// Format prints r with both passwords redacted.
func (r ChangePasswordRequest) Format(f fmt.State, verb rune) {
	formatRedacted(f, verb, r.redacted())
}

// LogValue is r for log/slog, both passwords redacted.
func (r ChangePasswordRequest) LogValue() slog.Value { return slog.AnyValue(r.redacted()) }

func (r ChangePasswordRequest) redacted() any {
	type plain ChangePasswordRequest
	c := plain(r)
	c.CurrentPassword, c.NewPassword = redacted(c.CurrentPassword), redacted(c.NewPassword)
	return c
}

// Format prints r with its refresh token redacted.
func (r RefreshRequest) Format(f fmt.State, verb rune) { formatRedacted(f, verb, r.redacted()) }

// LogValue is r for log/slog, its refresh token redacted.
func (r RefreshRequest) LogValue() slog.Value { return slog.AnyValue(r.redacted()) }

func (r RefreshRequest) redacted() any {
	type plain RefreshRequest
	c := plain(r)
	c.RefreshToken = redacted(c.RefreshToken)
	return c
}

// Format prints r with its access and refresh tokens redacted.
func (r TokenResponse) Format(f fmt.State, verb rune) { formatRedacted(f, verb, r.redacted()) }

// LogValue is r for log/slog, its access and refresh tokens redacted.
func (r TokenResponse) LogValue() slog.Value { return slog.AnyValue(r.redacted()) }

func (r TokenResponse) redacted() any {
	type plain TokenResponse
	c := plain(r)
	c.AccessToken, c.RefreshToken = redacted(c.AccessToken), redacted(c.RefreshToken)
	return c
}

// Format prints r with its CSRF token redacted.
func (r CookieSessionResponse) Format(f fmt.State, verb rune) {
	formatRedacted(f, verb, r.redacted())
}

// LogValue is r for log/slog, its CSRF token redacted.
func (r CookieSessionResponse) LogValue() slog.Value { return slog.AnyValue(r.redacted()) }

func (r CookieSessionResponse) redacted() any {
	type plain CookieSessionResponse
	c := plain(r)
	c.CsrfToken = redacted(c.CsrfToken)
	return c
}

// Format prints g's content (a TokenResponse or a CookieSessionResponse) with its tokens
// redacted.
func (g SessionGrant) Format(f fmt.State, verb rune) { formatRedacted(f, verb, g.redacted()) }

// LogValue is g's content for log/slog, its tokens redacted.
func (g SessionGrant) LogValue() slog.Value { return slog.AnyValue(g.redacted()) }

// redacted is g's content, whose Format and LogValue redact the tokens; an unreadable grant
// shows as a string that says so.
func (g SessionGrant) redacted() any {
	v, err := g.ValueByDiscriminator()
	if err != nil {
		return "[unreadable session grant]"
	}
	return v
}

// Format prints r's status and its grant or problem, its body redacted (it may hold tokens).
func (r LoginResponse) Format(f fmt.State, verb rune) {
	formatRedacted(f, verb, grantAnswerOf(r.HTTPResponse, r.Body, r.JSON200))
}

// LogValue is r for log/slog: its status and its grant or problem, its body redacted.
func (r LoginResponse) LogValue() slog.Value {
	return grantAnswerOf(r.HTTPResponse, r.Body, r.JSON200).LogValue()
}

// Format prints r's status and its grant or problem, its body redacted (it may hold tokens).
func (r RefreshTokenResponse) Format(f fmt.State, verb rune) {
	formatRedacted(f, verb, grantAnswerOf(r.HTTPResponse, r.Body, r.JSON200))
}

// LogValue is r for log/slog: its status and its grant or problem, its body redacted.
func (r RefreshTokenResponse) LogValue() slog.Value {
	return grantAnswerOf(r.HTTPResponse, r.Body, r.JSON200).LogValue()
}

// Format prints r's status and its grant or problem, its body redacted (it may hold tokens).
func (r ChangePasswordResponse) Format(f fmt.State, verb rune) {
	formatRedacted(f, verb, grantAnswerOf(r.HTTPResponse, r.Body, r.JSON200))
}

// LogValue is r for log/slog: its status and its grant or problem, its body redacted.
func (r ChangePasswordResponse) LogValue() slog.Value {
	return grantAnswerOf(r.HTTPResponse, r.Body, r.JSON200).LogValue()
}

// grantAnswer is how the generated answers that may carry a SessionGrant print: the status, the
// body redacted, the grant (which redacts its tokens) and the problem of an error answer.
type grantAnswer struct {
	Status  string
	Body    string
	JSON200 *SessionGrant
	Problem *Problem
}

func grantAnswerOf(resp *http.Response, body []byte, grant *SessionGrant) grantAnswer {
	a := grantAnswer{Body: redacted(string(body)), JSON200: grant}
	if resp != nil {
		a.Status = resp.Status
		if resp.StatusCode >= 400 {
			var p Problem
			if json.Unmarshal(body, &p) == nil && p.Code != "" {
				a.Problem = &p
			}
		}
	}
	return a
}

// LogValue is a as a group; the grant is logged through its LogValue, never as JSON.
func (a grantAnswer) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("status", a.Status), slog.String("body", a.Body)}
	if a.JSON200 != nil {
		attrs = append(attrs, slog.Any("json200", *a.JSON200))
	}
	if a.Problem != nil {
		attrs = append(attrs, slog.Any("problem", *a.Problem))
	}
	return slog.GroupValue(attrs...)
}

// formatRedacted prints the redacted copy v as %v, %+v or %#v would (any other verb as %+v, so
// that no verb shows more than these).
func formatRedacted(f fmt.State, verb rune, v any) {
	switch {
	case verb == 'v' && f.Flag('#'):
		fmt.Fprintf(f, "%#v", v)
	case verb == 'v' && !f.Flag('+'):
		fmt.Fprintf(f, "%v", v)
	default:
		fmt.Fprintf(f, "%+v", v)
	}
}
