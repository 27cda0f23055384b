// Package boxoffice embeds the API contract, openapi.yaml, so the server can serve it and tests
// can hold the code to it.
package boxoffice

import _ "embed"

// OpenAPI is openapi.yaml, the OpenAPI 3.0.3 description of the HTTP API.
//
//go:embed openapi.yaml
var OpenAPI []byte
