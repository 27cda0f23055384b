package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"boxoffice"
)

// contract validates every exchange of the end-to-end tests against openapi.yaml.
type contract struct {
	doc    *openapi3.T
	router routers.Router
}

func loadContract() (*contract, error) {
	doc, err := openapi3.NewLoader().LoadFromData(boxoffice.OpenAPI)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, err
	}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &contract{doc: doc, router: r}, nil
}

// check validates one exchange. A request the spec allows must get a response the spec
// documents (status, headers, body). A request the spec forbids must be refused with a 4xx
// that the spec documents for that operation. A request to no operation at all must get a
// 404 or 405 Problem.
func (k *contract) check(req *http.Request, reqBody []byte, resp *http.Response, body []byte) error {
	if req.Method == http.MethodOptions && req.Header.Get("Access-Control-Request-Method") != "" {
		return nil // CORS preflights are answered by the CORS middleware, described in info
	}
	ctx := context.Background()
	req = req.Clone(ctx)
	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := k.router.FindRoute(req)
	if err != nil {
		if resp.StatusCode != 404 && resp.StatusCode != 405 {
			return fmt.Errorf("%s %s is no operation of the spec but got %d", req.Method, req.URL.Path, resp.StatusCode)
		}
		return k.problem(body)
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	reqErr := openapi3filter.ValidateRequest(ctx, in)
	if reqErr != nil && (resp.StatusCode < 400 || resp.StatusCode >= 500) {
		return fmt.Errorf("%s %s violates the spec (%v) but was answered %d", req.Method, req.URL.Path, reqErr, resp.StatusCode)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	out.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return fmt.Errorf("%s %s -> %d violates the spec: %v\nbody: %s", req.Method, req.URL.Path, resp.StatusCode, err, body)
	}
	return nil
}

// problem validates body against the Problem schema.
func (k *contract) problem(body []byte) error {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("problem body is not JSON: %s", body)
	}
	if err := k.doc.Components.Schemas["Problem"].Value.VisitJSON(v); err != nil {
		return fmt.Errorf("problem body violates the Problem schema: %v\n%s", err, body)
	}
	return nil
}

// TestContractCatchesViolations proves the checker can fail: a response the spec does not
// allow is reported.
func TestContractCatchesViolations(t *testing.T) {
	req, _ := http.NewRequest("GET", "http://127.0.0.1:1/v1/session", nil)
	req.Header.Set("Authorization", "Bearer x")
	for _, tc := range []struct {
		status int
		body   string
		header http.Header
	}{
		{418, `{}`, http.Header{"Content-Type": {"application/json"}}},
		{200, `{"id":42}`, http.Header{"Content-Type": {"application/json"}, "Etag": {`"1"`}}},
		{401, `{"code":"made_up"}`, http.Header{"Content-Type": {"application/problem+json"}, "Www-Authenticate": {"Bearer"}}},
	} {
		resp := &http.Response{StatusCode: tc.status, Header: tc.header}
		if err := spec.check(req, nil, resp, []byte(tc.body)); err == nil {
			t.Errorf("status %d body %s passed the contract", tc.status, tc.body)
		}
	}
}
