package sdk

import (
	"fmt"
	"log/slog"
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
