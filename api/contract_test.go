package api

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"boxoffice"
)

// TestRoutesMatchSpec keeps openapi.yaml and the router identical: a route served that the
// spec lacks, or an operation the spec lists that is not served, fails. We compare rather than
// generate the server from the spec (oapi-codegen's Fiber server) because generated handlers
// would own request decoding and error writing, which we keep strict and in one place.
func TestRoutesMatchSpec(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(boxoffice.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		t.Fatalf("openapi.yaml is not valid: %v", err)
	}
	inSpec := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			inSpec[method+" "+strings.NewReplacer("{", ":", "}", "").Replace(path)] = true
		}
	}
	ts := newTestServer(t)
	served := map[string]bool{}
	for _, r := range ts.srv.app.GetRoutes(true) {
		if r.Method == http.MethodHead {
			continue // Fiber answers HEAD for every GET; the spec says so once, in info
		}
		served[r.Method+" "+r.Path] = true
	}
	var missing, extra []string
	for r := range served {
		if !inSpec[r] {
			missing = append(missing, r)
		}
	}
	for r := range inSpec {
		if !served[r] {
			extra = append(extra, r)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("router and openapi.yaml differ:\n  served, not in the spec: %v\n  in the spec, not served: %v", missing, extra)
	}
	for _, op := range operations(doc) {
		if op.OperationID == "" || len(op.Tags) == 0 {
			t.Errorf("operation without operationId or tags: %+v", op.Summary)
		}
	}
}

func operations(doc *openapi3.T) []*openapi3.Operation {
	var out []*openapi3.Operation
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			out = append(out, op)
		}
	}
	return out
}

// TestSpecAndDocsAreServed: the served contract is the embedded file, the JSON form is the
// same document, and the reference page and its assets come from this server under a CSP that
// allows nothing else.
func TestSpecAndDocsAreServed(t *testing.T) {
	ts := newTestServer(t)
	resp, b := ts.call(t, "GET", "/openapi.yaml", "", "")
	if resp.StatusCode != 200 || string(b) != string(boxoffice.OpenAPI) || resp.Header.Get("Content-Type") != "application/yaml" {
		t.Fatalf("/openapi.yaml: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	resp, b = ts.call(t, "GET", "/openapi.json", "", "")
	doc, err := openapi3.NewLoader().LoadFromData(b)
	if resp.StatusCode != 200 || err != nil || doc.Info.Title != "boxoffice" || doc.Paths.Find("/v1/session") == nil {
		t.Fatalf("/openapi.json: %d %v", resp.StatusCode, err)
	}
	resp, b = ts.call(t, "GET", "/docs", "", "")
	if resp.StatusCode != 200 || !strings.Contains(string(b), "swagger-ui-bundle.js") ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("/docs: %d %s", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
	for _, a := range []string{"init.js", "swagger-ui-bundle.js", "swagger-ui.css"} {
		if resp, _ := ts.call(t, "GET", "/docs/"+a, "", ""); resp.StatusCode != 200 {
			t.Fatalf("/docs/%s: %d", a, resp.StatusCode)
		}
	}
	for _, a := range []string{"index.html", "LICENSE", "..%2Fserver.go", "nope.js"} {
		if resp, _ := ts.call(t, "GET", "/docs/"+a, "", ""); resp.StatusCode != 404 {
			t.Fatalf("/docs/%s: %d, want 404", a, resp.StatusCode)
		}
	}
}

// specCheck returns a validator of exchanges against openapi.yaml, as the end-to-end tests
// run it (tests/contract_test.go): a request the spec allows must get a response the spec
// documents (status, headers, body); a request the spec forbids must get a 4xx the operation
// documents.
func specCheck(tb testing.TB) func(testing.TB, *http.Request, []byte, *http.Response, []byte) {
	tb.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(boxoffice.OpenAPI)
	if err != nil {
		tb.Fatal(err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		tb.Fatal(err)
	}
	return func(tb testing.TB, req *http.Request, reqBody []byte, resp *http.Response, body []byte) {
		tb.Helper()
		ctx := context.Background()
		req = req.Clone(ctx)
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
		if req.URL.Host == "" {
			req.URL.Scheme, req.URL.Host = "http", "example.com"
		}
		route, params, err := router.FindRoute(req)
		if err != nil {
			if resp.StatusCode != 404 && resp.StatusCode != 405 {
				tb.Errorf("%s %s is no operation of the spec but got %d", req.Method, req.URL.Path, resp.StatusCode)
			}
			return
		}
		opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
		if reqErr := openapi3filter.ValidateRequest(ctx, in); reqErr != nil && (resp.StatusCode < 400 || resp.StatusCode >= 500) {
			tb.Errorf("%s %s violates the spec (%v) but was answered %d", req.Method, req.URL.Path, reqErr, resp.StatusCode)
		}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
			Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
		out.SetBodyBytes(body)
		if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
			tb.Errorf("%s %s -> %d violates the spec: %v\nbody: %s", req.Method, req.URL.Path, resp.StatusCode, err, body)
		}
	}
}
