package tests

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// Every line a boxoffice process writes is a JSON log record: go-redis' and OpenTelemetry's
// own lines included (they are routed through slog). The harness reads each process's output
// when it exits (plainLines); a deployment's test fails on a plain-text line (checkJSON), and
// the run fails if any process, shared fleets included, wrote one (leftovers).

// maxPlain bounds how many plain-text lines of one process a failure quotes.
const maxPlain = 5

// plainLines returns the complete lines of the log at path that are not JSON objects (at most
// maxPlain, each cut to 300 bytes). A last line without its newline — a process killed while
// writing — is not judged.
func plainLines(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil // the test removed its directory first: nothing to judge
	}
	var out []string
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if !bytes.HasSuffix(line, []byte("\n")) {
			break
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 || (line[0] == '{' && json.Valid(line)) {
			continue
		}
		if len(out) == maxPlain {
			out = append(out, "…")
			break
		}
		out = append(out, string(tailBytes(line, 300)))
	}
	return out
}

// checkJSON fails the test if a stopped instance of d wrote a line that is not JSON.
func (d *deployment) checkJSON(t *testing.T) {
	t.Helper()
	for _, p := range d.procs {
		select {
		case <-p.done:
		default:
			continue // still running: judged when it exits (leftovers)
		}
		if len(p.plain) > 0 {
			t.Errorf("instance %s wrote lines that are not JSON:\n%s", p.base, strings.Join(p.plain, "\n"))
		}
	}
}

// TestPlainLines: the check finds plain-text lines among JSON ones, and leaves a last line
// still being written (no newline) alone.
func TestPlainLines(t *testing.T) {
	path := t.TempDir() + "/instance.log"
	log := `{"level":"INFO","msg":"listening"}` + "\n" +
		"redis: 2026/12/02 06:00:00 pool.go:770: connection pool: failed to dial\n" +
		`{"level":"WARN","msg":"connection pool: failed to dial","component":"redis"}` + "\n" +
		"\n" +
		`{"level":"INFO","msg":"cut short`
	if err := os.WriteFile(path, []byte(log), 0o600); err != nil {
		t.Fatal(err)
	}
	got := plainLines(path)
	if len(got) != 1 || !strings.HasPrefix(got[0], "redis: ") {
		t.Fatalf("plain lines %q", got)
	}
}
