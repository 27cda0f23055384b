package main

import (
	"bytes"
	"context"
	"io"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestRunHelpAndVersion: help and version need no valid configuration; unknown commands point
// to --help.
func TestRunHelpAndVersion(t *testing.T) {
	bad := env(map[string]string{"BOXOFFICE_ACCESS_TTL": "x"})
	for _, arg := range []string{"help", "-h", "--help"} {
		var out bytes.Buffer
		if err := run(context.Background(), []string{arg}, bad, &out, io.Discard); err != nil || !strings.Contains(out.String(), "BOXOFFICE_ADDR") {
			t.Errorf("%s: %v\n%s", arg, err, out.String())
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, bad, &out, io.Discard); err != nil ||
		!strings.Contains(out.String(), runtime.Version()) || !strings.HasPrefix(out.String(), "boxoffice") {
		t.Errorf("version: %v\n%s", err, out.String())
	}
	err := run(context.Background(), []string{"frobnicate"}, env(nil), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--help") || !strings.Contains(err.Error(), "version") {
		t.Errorf("unknown command: %v", err)
	}
}

func TestBuildShort(t *testing.T) {
	for _, tc := range []struct {
		b    build
		want string
	}{
		{build{Version: "v1.2.3", Revision: "abc"}, "v1.2.3"},
		{build{Version: "(devel)", Revision: "0123456789abcdef0123", Modified: true}, "0123456789ab+dirty"},
		{build{Version: "(devel)"}, "(devel)"},
	} {
		if got := tc.b.short(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.b, got, tc.want)
		}
	}
	if b := readBuild(); b.GoVersion == "" || !slices.Contains([]string{"boxoffice"}, b.Module) {
		t.Errorf("readBuild %+v", b)
	}
}
