package tests

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"boxoffice/session/sessiontest"
)

// TestReadmeWalkthrough runs the README's curl walkthrough exactly as written (with B pointing
// at a test instance) and checks what each step shows: browse, hold, order (and its replay), my
// orders, cancel, and the logout accepted with the session revoked.
func TestReadmeWalkthrough(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		sessiontest.RequireBinary(t, tool, "Debian package "+tool)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	script := walkthrough(t, string(readme))
	// A fresh instance over a fresh Redis, with the embedded database and its demo catalogue
	// as `go run ./cmd/boxoffice` has them: the walkthrough registers "alice" and holds seats.
	r := sessiontest.StartMini(t)
	p := deploy(t, 1, r.URL(), map[string]string{"BOXOFFICE_DEMO_DATA": "true"}).procs[0]
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "B="+p.base)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("walkthrough failed: %v\n%s", err, out)
	}
	for _, want := range []string{`"username":"alice"`, `Etag: "0"`, `"theme":"dark"`, `"title":"Orbit of Glass"`,
		"\n304\n", `"status":"active"`, `"expires_in_seconds":`, `"status":"confirmed"`, "same order\n",
		`{"status":"cancelled","refund":{"reason":"customer_cancelled","status":"succeeded"}}`,
		"event: ready\nevent: seats\nevent: seats\nevent: seats\n", "\n204\n",
		`"code":"session_revoked"`} {
		if !strings.Contains(strings.ReplaceAll(string(out), "ETag", "Etag"), want) {
			t.Fatalf("walkthrough output lacks %q:\n%s", want, out)
		}
	}
}

// walkthrough extracts the first ```sh block after the "Walkthrough with curl" heading.
func walkthrough(t *testing.T, readme string) string {
	_, rest, ok := strings.Cut(readme, "## Walkthrough with curl")
	if !ok {
		t.Fatal("README has no walkthrough section")
	}
	_, rest, ok = strings.Cut(rest, "```sh\n")
	if !ok {
		t.Fatal("walkthrough has no sh block")
	}
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("walkthrough block is not closed")
	}
	return block
}
