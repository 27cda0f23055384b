// Package sdk is a Go client for the boxoffice API, generated from openapi.yaml by oapi-codegen
// (pinned as a tool in go.mod). Do not edit client.gen.go; run go generate ./sdk.
package sdk

//go:generate go tool oapi-codegen -config oapi-codegen.yaml ../openapi.yaml
