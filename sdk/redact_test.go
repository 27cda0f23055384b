package sdk_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"boxoffice/sdk"
)

// TestSecretsNeverPrint: the generated types that carry a password or a token show neither
// through any fmt verb, inside another value, or through log/slog; JSON keeps them.
func TestSecretsNeverPrint(t *testing.T) {
	const pw, tok = "hunter2-hunter2-pw", "bxr_secret-token-value"
	dev := "laptop"
	var bearer, cookie sdk.SessionGrant
	if err := bearer.FromTokenResponse(sdk.TokenResponse{AccessToken: tok, RefreshToken: tok, ExpiresIn: 300}); err != nil {
		t.Fatal(err)
	}
	if err := cookie.FromCookieSessionResponse(sdk.CookieSessionResponse{CsrfToken: tok, ExpiresIn: 300}); err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"transport":"bearer","access_token":"` + tok + `","refresh_token":"` + tok + `","expires_in":300}`)
	ok := &http.Response{Status: "200 OK", StatusCode: http.StatusOK}
	values := []any{
		bearer,
		cookie,
		&bearer,
		sdk.LoginResponse{Body: body, HTTPResponse: ok, JSON200: &bearer},
		&sdk.RefreshTokenResponse{Body: body, HTTPResponse: ok, JSON200: &bearer},
		sdk.ChangePasswordResponse{Body: body, HTTPResponse: ok, JSON200: &bearer},
		sdk.LoginResponse{Body: body}, // no status, no grant decoded
		sdk.LoginRequest{Username: "alice", Password: pw, DeviceName: &dev},
		sdk.CreateUserRequest{Username: "alice", Password: pw},
		sdk.ChangePasswordRequest{CurrentPassword: pw, NewPassword: pw},
		sdk.RefreshRequest{RefreshToken: tok},
		sdk.TokenResponse{AccessToken: tok, RefreshToken: tok, ExpiresIn: 300},
		sdk.CookieSessionResponse{CsrfToken: tok, ExpiresIn: 300},
	}
	for _, v := range values {
		var out []string
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
			out = append(out, fmt.Sprintf(verb, v), fmt.Sprintf(verb, struct{ V any }{v}))
		}
		var logs bytes.Buffer
		slog.New(slog.NewJSONHandler(&logs, nil)).Info("m", "v", v)
		slog.New(slog.NewTextHandler(&logs, nil)).Info("m", "v", v)
		out = append(out, logs.String())
		for _, s := range out {
			if strings.Contains(s, pw) || strings.Contains(s, tok) || strings.Contains(s, fmt.Sprintf("%x", pw)) ||
				strings.Contains(s, fmt.Sprintf("%x", tok)) || strings.Contains(s, base64.StdEncoding.EncodeToString([]byte(tok))[:20]) ||
				strings.Contains(s, base64.StdEncoding.EncodeToString(body)[:20]) {
				t.Errorf("%T printed a secret: %s", v, s)
			}
		}
		if s := fmt.Sprintf("%+v", v); !strings.Contains(s, "[redacted]") {
			t.Errorf("%T: %s, want [redacted]", v, s)
		}
		if b, _ := json.Marshal(v); !strings.Contains(string(b), pw) && !strings.Contains(string(b), tok) &&
			!strings.Contains(string(b), base64.StdEncoding.EncodeToString(body)) {
			t.Errorf("%T through JSON lost its secret: %s", v, b)
		}
	}
	if s := fmt.Sprint(sdk.LoginRequest{Username: "alice", Password: pw}); !strings.Contains(s, "alice") {
		t.Errorf("the rest is still shown: %s", s)
	}
	refused := sdk.RefreshTokenResponse{Body: []byte(`{"status":401,"code":"refresh_token_reused"}`),
		HTTPResponse: &http.Response{Status: "401 Unauthorized", StatusCode: http.StatusUnauthorized}}
	for _, v := range []any{values[3], refused} {
		var logs bytes.Buffer
		slog.New(slog.NewJSONHandler(&logs, nil)).Info("m", "v", v)
		for _, s := range []string{fmt.Sprintf("%v", v), fmt.Sprintf("%+v", v), logs.String()} {
			if !strings.Contains(s, "200 OK") && !(strings.Contains(s, "401 Unauthorized") && strings.Contains(s, "refresh_token_reused")) {
				t.Errorf("%T: the status (and the problem) are not shown: %s", v, s)
			}
		}
	}
}
