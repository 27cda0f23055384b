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

// TestTokensNeverPrint: no fmt verb and no log/slog handler shows a token, also inside another
// value, while JSON (how apps store the tokens) keeps them.
func TestTokensNeverPrint(t *testing.T) {
	c := newClient(t, "")
	name, pw := newUser(t, c)
	login(t, c, name, pw)
	tk := c.Tokens()

	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v"} {
		out = append(out, fmt.Sprintf(verb, tk), fmt.Sprintf(verb, &tk), fmt.Sprintf(verb, struct{ T sdk.Tokens }{tk}))
	}
	out = append(out, fmt.Sprint(tk), fmt.Sprintln(tk), tk.String(), tk.GoString())
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("tokens", "tokens", tk, slog.Any("any", tk))
	slog.New(slog.NewTextHandler(&logs, nil)).Info("tokens", "tokens", tk, slog.Any("any", tk))
	out = append(out, logs.String())
	for _, s := range out {
		if strings.Contains(s, tk.AccessToken) || strings.Contains(s, tk.RefreshToken) || strings.Contains(s, tk.RefreshToken[4:20]) {
			t.Errorf("a token printed: %s", s)
		}
	}
	if s := fmt.Sprint(tk); !strings.Contains(s, "[redacted]") || !strings.Contains(s, tk.Expiry.Format("2006-01-02T15:04:05")) {
		t.Errorf("%%v of tokens: %s; want the tokens redacted and the expiry", s)
	}
	if s := fmt.Sprint(sdk.Tokens{}); s != `{AccessToken:"" RefreshToken:"" Expiry:0001-01-01T00:00:00Z}` {
		t.Errorf("%%v of no tokens: %s", s)
	}

	b, err := json.Marshal(tk)
	var back sdk.Tokens
	if err != nil || json.Unmarshal(b, &back) != nil || back.AccessToken != tk.AccessToken || back.RefreshToken != tk.RefreshToken || !back.Expiry.Equal(tk.Expiry) {
		t.Errorf("tokens through JSON: %v", err)
	}
}
