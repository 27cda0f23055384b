package sdk_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"boxoffice/sdk"
)

// TestNoRedirects puts a proxy before the server that answers GET /v1/me with a 307 to another
// port and POST /v1/auth/refresh with a 307 to another host name: the Client follows neither,
// with its default HTTP client or with one of the app's (which it leaves as it was), so the
// access token and the refresh token never reach the other server. The 3xx is a *StatusError
// for the Client's methods, the refresh keeps the tokens, and API() returns the 307 as it is.
func TestNoRedirects(t *testing.T) {
	var mu sync.Mutex
	var leaked []string
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		leaked = append(leaked, r.Method+" "+r.Host+r.URL.Path+" Authorization="+r.Header.Get("Authorization")+" body="+string(b))
		mu.Unlock()
		w.WriteHeader(http.StatusTeapot)
	}))
	defer elsewhere.Close()
	otherHost := strings.Replace(elsewhere.URL, "127.0.0.1", "localhost", 1)
	target, err := url.Parse(serverURL)
	if err != nil {
		t.Fatal(err)
	}
	forward := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/me":
			http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusTemporaryRedirect)
		case "/v1/auth/refresh":
			http.Redirect(w, r, otherHost+r.URL.Path, http.StatusTemporaryRedirect)
		default:
			forward.ServeHTTP(w, r)
		}
	}))
	defer proxy.Close()

	apps := &http.Client{Timeout: guard}
	for _, tc := range []struct {
		name string
		opts []sdk.Option
	}{
		{"default HTTP client", nil},
		{"the app's HTTP client", []sdk.Option{sdk.WithHTTPClient(apps)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			c := newClient(t, proxy.URL, tc.opts...)
			name, pw := newUser(t, c)
			login(t, c, name, pw)
			before := c.Tokens()

			_, err := c.Me(ctx)
			var se *sdk.StatusError
			if !errors.As(err, &se) || se.StatusCode != http.StatusTemporaryRedirect || se.Path != "/v1/me" {
				t.Errorf("me answered 307: %v; want a *StatusError", err)
			}
			_, err = c.Refresh(ctx)
			if !errors.As(err, &se) || se.StatusCode != http.StatusTemporaryRedirect || errors.Is(err, sdk.ErrSignedOut) {
				t.Errorf("refresh answered 307: %v; want a *StatusError", err)
			}
			if c.Tokens() != before {
				t.Errorf("the refresh answered 307 changed the tokens: %v", c.Tokens())
			}
			me, err := c.API().GetMeWithResponse(ctx, nil)
			if err != nil || me.StatusCode() != http.StatusTemporaryRedirect {
				t.Errorf("API() me answered 307: %v, status %d", err, me.StatusCode())
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if len(leaked) > 0 {
		t.Errorf("the redirects were followed: %q", leaked)
	}
	if apps.CheckRedirect != nil {
		t.Error("New changed the app's HTTP client")
	}
}

// TestNoCookieJar: the Client is bearer-only: an app's HTTP client with a cookie jar that holds
// a cookie for the server sends it with none of the Client's requests, and its jar is left as
// it was.
func TestNoCookieJar(t *testing.T) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(serverURL)
	if err != nil {
		t.Fatal(err)
	}
	jar.SetCookies(u, []*http.Cookie{{Name: "boxoffice_session", Value: "app-cookie"}})
	var mu sync.Mutex
	var cookies []string
	rt := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if h := req.Header.Get("Cookie"); h != "" {
			mu.Lock()
			cookies = append(cookies, req.Method+" "+req.URL.Path+": "+h)
			mu.Unlock()
		}
		return http.DefaultTransport.RoundTrip(req)
	})
	apps := &http.Client{Transport: rt, Jar: jar, Timeout: guard}
	c := newClient(t, "", sdk.WithHTTPClient(apps))
	name, pw := newUser(t, c)
	login(t, c, name, pw)
	if _, err := c.Me(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(cookies) > 0 {
		t.Errorf("the app's cookies were sent: %q", cookies)
	}
	if apps.Jar != jar || len(jar.Cookies(u)) != 1 {
		t.Errorf("New changed the app's HTTP client or its jar: %v", jar.Cookies(u))
	}
}
