package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// build is what the binary knows about how it was built, from runtime/debug.ReadBuildInfo.
type build struct {
	Module    string // the main module's path
	Version   string // its version: a tag for `go install …@v1.2.3`, "(devel)" for a local build
	Revision  string // VCS commit, when built in a checkout
	Modified  bool   // the checkout had uncommitted changes
	Time      string // the commit's time (RFC 3339), when known
	GoVersion string
}

// readBuild reads the binary's build information; fields it does not carry stay empty.
func readBuild() build {
	b := build{Module: "boxoffice", Version: "(devel)", GoVersion: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if info.Main.Path != "" {
		b.Module = info.Main.Path
	}
	if info.Main.Version != "" {
		b.Version = info.Main.Version
	}
	b.GoVersion = info.GoVersion
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		case "vcs.time":
			b.Time = s.Value
		}
	}
	return b
}

// short is the version in one word for logs and the tracing resource: the module version when
// it is a release, else the commit's first 12 hex digits (+dirty), else "(devel)".
func (b build) short() string {
	if b.Version != "(devel)" || b.Revision == "" {
		return b.Version
	}
	v := b.Revision
	if len(v) > 12 {
		v = v[:12]
	}
	if b.Modified {
		v += "+dirty"
	}
	return v
}

// versionCommand prints the build information:
//
//	boxoffice version
func versionCommand(stdout io.Writer) error {
	b := readBuild()
	fmt.Fprintf(stdout, "%s %s\n", b.Module, b.Version)
	if b.Revision != "" {
		dirty := ""
		if b.Modified {
			dirty = " (dirty: uncommitted changes)"
		}
		fmt.Fprintf(stdout, "commit   %s%s\n", b.Revision, dirty)
	}
	if b.Time != "" {
		fmt.Fprintf(stdout, "time     %s (of the commit)\n", b.Time)
	}
	fmt.Fprintf(stdout, "go       %s\n", b.GoVersion)
	return nil
}
