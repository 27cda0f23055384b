package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// moduleRoot is the directory of the main module's go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run this from inside the boxoffice module (go run ./bench/peers)")
	}
	return filepath.Dir(gomod), nil
}

// waitReady polls url until it answers 200.
func waitReady(ctx context.Context, url string, p *proc) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if p.exited() {
			return fmt.Errorf("%s exited before it was ready (%s)", p.name, p.cmd.ProcessState)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s was not ready within 60 s", p.name)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// call sends one request and fails unless it is answered with want.
func call(ctx context.Context, method, url, contentType, body string, header [2]string, want int) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if header[0] != "" {
		req.Header.Set(header[0], header[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != want {
		return nil, nil, fmt.Errorf("%s %s: %s, want %d: %s", method, url, resp.Status, want, b)
	}
	return resp, b, nil
}

// boxofficeLogin registers a user, signs in and gives the session some data (as
// docs/bench/load.sh does); it returns the access token.
func boxofficeLogin(ctx context.Context, base string) (string, error) {
	const user = `{"username":"peerbench","password":"peer-bench-password"}`
	if _, _, err := call(ctx, http.MethodPost, base+"/v1/users", "application/json", user, [2]string{}, http.StatusCreated); err != nil {
		return "", err
	}
	_, b, err := call(ctx, http.MethodPost, base+"/v1/auth/login", "application/json", user, [2]string{}, http.StatusOK)
	if err != nil {
		return "", err
	}
	var login struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(b, &login); err != nil || login.AccessToken == "" {
		return "", fmt.Errorf("login answer without access_token: %s", b)
	}
	auth := [2]string{"Authorization", "Bearer " + login.AccessToken}
	if _, _, err := call(ctx, http.MethodPatch, base+"/v1/session/data", "application/merge-patch+json",
		`{"cart":{"show":42,"seats":["F7","F8"]},"theme":"dark"}`, auth, http.StatusOK); err != nil {
		return "", err
	}
	return login.AccessToken, nil
}

// fiberLogin creates a session on the Fiber-session peer and returns its cookie (name=value).
func fiberLogin(ctx context.Context, url string) (string, error) {
	resp, _, err := call(ctx, http.MethodGet, url, "", "", [2]string{}, http.StatusOK)
	if err != nil {
		return "", err
	}
	for _, c := range resp.Cookies() {
		if c.Name == "session_id" && c.Value != "" {
			return c.Name + "=" + c.Value, nil
		}
	}
	return "", fmt.Errorf("GET %s set no session_id cookie", url)
}

// probe checks that a contender answers 200 to the request wrk will send.
func probe(ctx context.Context, c *contender) error {
	var h [2]string
	if c.header != "" {
		k, v, _ := strings.Cut(c.header, ": ")
		h = [2]string{k, v}
	}
	_, _, err := call(ctx, http.MethodGet, c.url, "", "", h, http.StatusOK)
	if err != nil {
		return fmt.Errorf("%s: %w", c.key, err)
	}
	return nil
}
