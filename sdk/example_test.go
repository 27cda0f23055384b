package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"boxoffice/sdk"
)

// Sign in, read the session, change its data; a change made against a version of the data
// that is no longer the current one fails with a *Problem.
func Example() {
	ctx := context.Background()
	c, err := sdk.New(serverURL)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Login(ctx, sdk.LoginRequest{Username: "alice", Password: "correct horse battery"}); err != nil {
		log.Fatal(err)
	}
	s, err := c.Session(ctx)
	if err != nil {
		log.Fatal(err)
	}
	seen := s.Version
	s, err = c.PatchSessionData(ctx, sdk.SessionDataPatch{"theme": "dark"}, seen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("theme:", s.Data["theme"])

	_, err = c.PatchSessionData(ctx, sdk.SessionDataPatch{"theme": "light"}, seen) // stale
	var p *sdk.Problem
	if errors.As(err, &p) && p.Code == sdk.CodePreconditionFailed {
		fmt.Println("refused:", p.Status, p.Code)
	}
	// Output:
	// theme: dark
	// refused: 412 precondition_failed
}

// New with an HTTP client of the app's, and a function that stores every new pair of tokens.
func ExampleNew() {
	ctx := context.Background()
	c, err := sdk.New(serverURL,
		sdk.WithHTTPClient(&http.Client{Timeout: 30 * time.Second}),
		sdk.WithOnTokens(func(t sdk.Tokens) {
			// Keep t in the platform's keychain: each refresh spends the previous refresh token.
		}),
	)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Login(ctx, sdk.LoginRequest{Username: "alice", Password: "correct horse battery"}); err != nil {
		log.Fatal(err)
	}
	me, err := c.Me(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(me.Username)
	// Output: alice
}

// Resume the session an earlier run of the app stored, without signing in again.
func ExampleWithTokens() {
	ctx := context.Background()
	stored := signedInTokens() // as WithOnTokens's function stored them

	c, err := sdk.New(serverURL, sdk.WithTokens(stored))
	if err != nil {
		log.Fatal(err)
	}
	me, err := c.Me(ctx)
	if errors.Is(err, sdk.ErrSignedOut) {
		fmt.Println("the session is over: sign in again")
		return
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(me.Username)
	// Output: alice
}

// A wrong password: the server's RFC 9457 problem is the error.
func ExampleProblem() {
	c, err := sdk.New(serverURL)
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.Login(context.Background(), sdk.LoginRequest{Username: "alice", Password: "wrong password"})
	var p *sdk.Problem
	if errors.As(err, &p) {
		fmt.Println(p.Status, p.Code)
	}
	// Output: 401 invalid_credentials
}

// After Logout, calls that need a session fail with ErrSignedOut.
func ExampleClient_Logout() {
	ctx := context.Background()
	c, err := sdk.New(serverURL)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Login(ctx, sdk.LoginRequest{Username: "alice", Password: "correct horse battery"}); err != nil {
		log.Fatal(err)
	}
	if err := c.Logout(ctx); err != nil {
		log.Fatal(err)
	}
	_, err = c.Session(ctx)
	fmt.Println(errors.Is(err, sdk.ErrSignedOut))
	// Output: true
}

// Every other operation, with the Client's session, through the generated client.
func ExampleClient_API() {
	ctx := context.Background()
	c, err := sdk.New(serverURL)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Login(ctx, sdk.LoginRequest{Username: "alice", Password: "correct horse battery"}); err != nil {
		log.Fatal(err)
	}
	activity, err := c.API().ListMyActivityWithResponse(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(activity.StatusCode(), activity.JSON200 != nil)
	// Output: 200 true
}

// signedInTokens signs alice in and returns the tokens, as an app would have stored them.
func signedInTokens() sdk.Tokens {
	var stored sdk.Tokens
	c, err := sdk.New(serverURL, sdk.WithOnTokens(func(t sdk.Tokens) { stored = t }))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Login(context.Background(), sdk.LoginRequest{Username: "alice", Password: "correct horse battery"}); err != nil {
		log.Fatal(err)
	}
	return stored
}
