package tests

import (
	"context"
	"net/http"
	"testing"

	"boxoffice/sdk"
)

// TestGoSDKLifecycle drives the whole session lifecycle through the Go client generated from
// openapi.yaml, across three instances: if the spec and the server disagree, the generated
// client cannot decode the answers this test relies on.
func TestGoSDKLifecycle(t *testing.T) {
	ctx := context.Background()
	clients := make([]*sdk.ClientWithResponses, 3)
	for i := range clients {
		c, err := sdk.NewClientWithResponses(fleet.procs[i].base, sdk.WithHTTPClient(checked{t}))
		if err != nil {
			t.Fatal(err)
		}
		clients[i] = c
	}
	a, b, c := clients[0], clients[1], clients[2]
	name, _ := uniqueName()
	pw := "sdk-password-" + name
	display := "SDK User"

	reg, err := a.CreateUserWithResponse(ctx, nil, sdk.CreateUserRequest{Username: name, Password: pw, DisplayName: &display})
	if err != nil || reg.JSON201 == nil || reg.JSON201.DisplayName != display {
		t.Fatalf("register: %v %s", err, body(reg.Body))
	}
	dup, _ := b.CreateUserWithResponse(ctx, nil, sdk.CreateUserRequest{Username: name, Password: pw})
	if dup.ApplicationproblemJSON409 == nil || dup.ApplicationproblemJSON409.Code != "username_taken" {
		t.Fatalf("duplicate: %d %s", dup.StatusCode(), dup.Body)
	}
	device := "sdk-laptop"
	li, err := b.LoginWithResponse(ctx, nil, sdk.LoginRequest{Username: name, Password: pw, DeviceName: &device})
	if err != nil || li.JSON200 == nil {
		t.Fatalf("login: %v %s", err, li.Body)
	}
	tok := bearerGrant(t, li.JSON200)
	auth := bearer(tok.AccessToken)

	gs, err := c.GetSessionWithResponse(ctx, nil, auth)
	if err != nil || gs.JSON200 == nil || gs.JSON200.Id != tok.SessionId || gs.HTTPResponse.Header.Get("ETag") != `"0"` {
		t.Fatalf("get session: %v %s", err, gs.Body)
	}
	etag := sdk.IfMatch(`"0"`)
	p, err := a.PatchSessionDataWithApplicationMergePatchPlusJSONBodyWithResponse(ctx, &sdk.PatchSessionDataParams{IfMatch: &etag},
		sdk.SessionDataPatch{"cart": map[string]any{"show": 7, "seats": []string{"C3"}}}, auth)
	if err != nil || p.JSON200 == nil || p.HTTPResponse.Header.Get("ETag") != `"1"` {
		t.Fatalf("patch: %v %d %s", err, p.StatusCode(), p.Body)
	}
	stale, _ := b.PatchSessionDataWithApplicationMergePatchPlusJSONBodyWithResponse(ctx, &sdk.PatchSessionDataParams{IfMatch: &etag},
		sdk.SessionDataPatch{"cart": nil}, auth)
	if stale.ApplicationproblemJSON412 == nil || stale.ApplicationproblemJSON412.Code != "precondition_failed" {
		t.Fatalf("stale patch: %d %s", stale.StatusCode(), stale.Body)
	}

	rf, err := c.RefreshTokenWithResponse(ctx, nil, sdk.RefreshRequest{RefreshToken: tok.RefreshToken})
	if err != nil || rf.JSON200 == nil || bearerGrant(t, rf.JSON200).RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh: %v %s", err, rf.Body)
	}
	auth = bearer(bearerGrant(t, rf.JSON200).AccessToken)
	me, err := a.GetMeWithResponse(ctx, nil, auth)
	if err != nil || me.JSON200 == nil || me.JSON200.Username != name {
		t.Fatalf("me: %v %s", err, me.Body)
	}

	li2, _ := a.LoginWithResponse(ctx, nil, sdk.LoginRequest{Username: name, Password: pw})
	other := bearerGrant(t, li2.JSON200)
	ls, err := b.ListSessionsWithResponse(ctx, nil, auth)
	if err != nil || ls.JSON200 == nil || len(ls.JSON200.Items) != 2 || ls.JSON200.NextCursor != nil {
		t.Fatalf("list: %v %s", err, ls.Body)
	}
	one := 1
	p1, err := b.ListSessionsWithResponse(ctx, &sdk.ListSessionsParams{Limit: &one}, auth)
	if err != nil || p1.JSON200 == nil || len(p1.JSON200.Items) != 1 || p1.JSON200.NextCursor == nil {
		t.Fatalf("first page: %v %s", err, p1.Body)
	}
	p2, err := c.ListSessionsWithResponse(ctx, &sdk.ListSessionsParams{Limit: &one, Cursor: p1.JSON200.NextCursor}, auth)
	if err != nil || p2.JSON200 == nil || len(p2.JSON200.Items) != 1 || p2.JSON200.NextCursor != nil ||
		p2.JSON200.Items[0].Id == p1.JSON200.Items[0].Id || p1.JSON200.Items[0].Id != other.SessionId {
		t.Fatalf("second page: %v %s (first %s)", err, p2.Body, p1.Body)
	}
	bad := "x"
	if r, _ := a.ListSessionsWithResponse(ctx, &sdk.ListSessionsParams{Cursor: &bad}, auth); r.ApplicationproblemJSON422 == nil || r.ApplicationproblemJSON422.Errors["cursor"] == "" {
		t.Fatalf("bad cursor: %d %s", r.StatusCode(), r.Body)
	}
	del, _ := c.DeleteSessionWithResponse(ctx, other.SessionId, nil, auth)
	if del.StatusCode() != http.StatusNoContent {
		t.Fatalf("delete: %d %s", del.StatusCode(), del.Body)
	}
	gone, _ := a.GetSessionWithResponse(ctx, nil, bearer(other.AccessToken))
	if gone.ApplicationproblemJSON401 == nil || gone.ApplicationproblemJSON401.Code != "session_revoked" {
		t.Fatalf("deleted session: %d %s", gone.StatusCode(), gone.Body)
	}

	lo, _ := b.LogoutWithResponse(ctx, nil, auth)
	if lo.StatusCode() != http.StatusNoContent {
		t.Fatalf("logout: %d %s", lo.StatusCode(), lo.Body)
	}
	after, _ := c.GetSessionWithResponse(ctx, nil, auth)
	if after.ApplicationproblemJSON401 == nil || after.ApplicationproblemJSON401.Code != "session_revoked" {
		t.Fatalf("after logout: %d %s", after.StatusCode(), after.Body)
	}
}

// bearerGrant is the TokenResponse of a bearer-transport sign-in or refresh, told by the
// answer's discriminator.
func bearerGrant(t *testing.T, g *sdk.SessionGrant) sdk.TokenResponse {
	t.Helper()
	if g == nil {
		t.Fatal("no session grant in the answer")
	}
	v, err := g.ValueByDiscriminator()
	tr, ok := v.(sdk.TokenResponse)
	if err != nil || !ok || tr.Transport != sdk.TokenResponseTransportBearer {
		t.Fatalf("a bearer sign-in answered %T (%v), want a TokenResponse", v, err)
	}
	return tr
}

func bearer(tok string) sdk.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+tok)
		return nil
	}
}

func body(b []byte) string { return string(b) }

// checked is the SDK's HTTP client: it validates every exchange against openapi.yaml too.
type checked struct{ t *testing.T }

func (c checked) Do(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.GetBody != nil {
		rc, _ := req.GetBody()
		reqBody, _ = readAll(rc)
	}
	resp, err := httpc.Do(req)
	if err != nil {
		return nil, err
	}
	b, _ := readAll(resp.Body)
	resp.Body = nopCloser(b)
	if err := spec.check(req, reqBody, resp, b); err != nil {
		c.t.Errorf("contract: %v", err)
	}
	return resp, nil
}
