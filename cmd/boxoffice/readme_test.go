package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// The README's configuration table lies between these lines; TestREADMEConfigTable keeps it
// equal to the settings table.
const (
	readmePath  = "../../README.md"
	readmeBegin = "<!-- config-table:begin -->\n"
	readmeEnd   = "<!-- config-table:end -->\n"
	readmeRegen = "BOXOFFICE_UPDATE_README=1 go test ./cmd/boxoffice -run TestREADMEConfigTable"
)

// TestREADMEConfigTable: README.md's configuration table is the settings table, rendered by
// readmeConfigTable. With BOXOFFICE_UPDATE_README=1 it rewrites the table (and nothing else
// of README.md) instead of failing.
func TestREADMEConfigTable(t *testing.T) {
	data, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	i, j := strings.Index(readme, readmeBegin), strings.Index(readme, readmeEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md has no configuration table between %q and %q", readmeBegin, readmeEnd)
	}
	got, want := readme[i+len(readmeBegin):j], readmeConfigTable()
	if got == want {
		return
	}
	if os.Getenv("BOXOFFICE_UPDATE_README") == "1" {
		if err := os.WriteFile(readmePath, []byte(readme[:i+len(readmeBegin)]+want+readme[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Log("README.md: configuration table rewritten from the settings table")
		return
	}
	gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
	n := 0
	for n < len(gl) && n < len(wl) && gl[n] == wl[n] {
		n++
	}
	line := func(ls []string) string {
		if n < len(ls) {
			return ls[n]
		}
		return "(end)"
	}
	t.Errorf("README.md's configuration table is not the settings table (cmd/boxoffice/settings.go); regenerate it with\n\t%s\n"+
		"first difference, line %d of the table:\nREADME.md: %s\nsettings:  %s", readmeRegen, n+1, line(gl), line(wl))
}

// readmeConfigTable renders the settings table as README.md shows it: per group a heading, its
// remark and a table of the variables with their default, minimum and meaning.
func readmeConfigTable() string {
	var b strings.Builder
	fmt.Fprintf(&b, "<!-- Generated from the settings table in cmd/boxoffice/settings.go: edit it there, then run\n     %s -->\n", readmeRegen)
	for _, g := range settings(&config{}) {
		fmt.Fprintf(&b, "\n### %s\n\n", g.title)
		if g.about != "" {
			r, size := utf8.DecodeRuneInString(g.about)
			fmt.Fprintf(&b, "%c%s.\n\n", unicode.ToUpper(r), g.about[size:])
		}
		b.WriteString("| Variable | Default | Minimum | Meaning |\n|---|---|---|---|\n")
		for _, s := range g.rows {
			minimum := ""
			if m := shownMin(s); m != "" && strings.Contains(m, " ") {
				minimum = m // 32 bytes
			} else if m != "" {
				minimum = "`" + m + "`"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", s.name, cell(readmeDefault(s)), minimum, cell(s.doc))
		}
	}
	b.WriteString("\n")
	return b.String()
}

// readmeDefault is a setting's default in README.md: `5m` (with its note), *(embedded)* for a
// description, *(none)* when there is none.
func readmeDefault(s setting) string {
	switch {
	case s.literal() && s.note != "":
		return "`" + s.def + "` (" + s.note + ")"
	case s.literal():
		return "`" + s.def + "`"
	case s.def != "":
		return "*" + s.def + "*"
	}
	return "*(none)*"
}

// cell escapes the pipes of a table cell.
func cell(md string) string { return strings.ReplaceAll(md, "|", `\|`) }
