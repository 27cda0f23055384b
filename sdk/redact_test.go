package sdk_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"boxoffice/sdk"
)

// TestSecretsNeverPrint: the generated types that carry a password or a token show neither
// through any fmt verb, inside another value, or through log/slog; JSON keeps them.
func TestSecretsNeverPrint(t *testing.T) {
	const pw, tok = "hunter2-hunter2-pw", "bxr_secret-token-value"
	dev := "laptop"
	values := []any{
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
			if strings.Contains(s, pw) || strings.Contains(s, tok) || strings.Contains(s, fmt.Sprintf("%x", pw)) {
				t.Errorf("%T printed a secret: %s", v, s)
			}
		}
		if s := fmt.Sprintf("%+v", v); !strings.Contains(s, "[redacted]") {
			t.Errorf("%T: %s, want [redacted]", v, s)
		}
		if b, _ := json.Marshal(v); !strings.Contains(string(b), pw) && !strings.Contains(string(b), tok) {
			t.Errorf("%T through JSON lost its secret: %s", v, b)
		}
	}
	if s := fmt.Sprint(sdk.LoginRequest{Username: "alice", Password: pw}); !strings.Contains(s, "alice") {
		t.Errorf("the rest is still shown: %s", s)
	}
}
