package main

import (
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"unicode/utf8"
)

// usage is the --help text: the commands, then every environment variable with its default
// and meaning.
func usage(w io.Writer) {
	fmt.Fprint(w, `boxoffice serves the boxoffice API: sessions and tickets.

Usage: boxoffice [command]

Commands:
  serve                           serve the API (the default)
  healthcheck                     ask the local server's /healthz; exit status 0 when it answers 200
  admin grant|revoke|show <user>  manage administrators, directly in Redis
  demo-data                       load the demo catalogue into DATABASE_URL or BOXOFFICE_SQLITE_PATH
  version                         print the module version, commit and Go version
  help, -h, --help                print this help

Configuration is read once at start-up from these environment variables; an invalid one stops
the program with every problem listed. Durations use Go syntax (300ms, 5m, 168h). The effective
configuration is logged at start-up ("configuration"), secrets masked.
`)
	for _, g := range settings(&config{}) {
		title := g.title
		if g.about != "" {
			title += " (" + plain(g.about) + ")"
		}
		fmt.Fprintf(w, "\n%s:\n", title)
		for _, s := range g.rows {
			fmt.Fprintf(w, "  %s%s\n%s", s.name, helpDefault(s), wrap(plain(s.doc), "      ", 100))
		}
	}
	fmt.Fprint(w, `
The OpenTelemetry SDK also reads the standard OTEL_BSP_* (batching) and OTEL_EXPORTER_OTLP_*
certificate, compression and timeout variables itself.
`)
}

// helpDefault is what --help says of a setting's default and minimum: " (default 5m; at least
// 1s)", " (default: embedded)", or "" for neither.
func helpDefault(s setting) string {
	var parts []string
	switch {
	case s.literal() && s.note != "":
		parts = append(parts, "default "+s.def+", "+plain(s.note))
	case s.literal():
		parts = append(parts, "default "+s.def)
	case s.def != "":
		parts = append(parts, "default: "+plain(strings.TrimSuffix(strings.TrimPrefix(s.def, "("), ")")))
	}
	if m := shownMin(s); m != "" {
		parts = append(parts, "at least "+m)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// shownMin is the minimum the documentation states: none for 0, which only refuses negative
// values.
func shownMin(s setting) string {
	if s.min == "0" || s.min == "0s" {
		return ""
	}
	return s.min
}

// plain turns the Markdown of the table's texts into plain text: no backquotes or bold, and a
// link [text](target) as "text (target)", or only the target when it starts with the text.
func plain(md string) string {
	md = strings.NewReplacer("`", "", "**", "").Replace(md)
	return regexp.MustCompile(`\[([^\]]+)\]\(([^)]+)\)`).ReplaceAllStringFunc(md, func(link string) string {
		text, target, _ := strings.Cut(link[1:len(link)-1], "](")
		if strings.HasPrefix(target, "#") {
			target = "README.md" + target
		}
		if strings.HasPrefix(target, text) {
			return target
		}
		return text + " (" + target + ")"
	})
}

// wrap breaks text into lines of at most width characters (unless a word is longer), each
// starting with indent and ending with a newline.
func wrap(text, indent string, width int) string {
	var b strings.Builder
	line := indent
	for _, word := range strings.Fields(text) {
		if line != indent && utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if line != indent {
			line += " "
		}
		line += word
	}
	b.WriteString(line + "\n")
	return b.String()
}

// docsURL is where the interactive API reference of a server listening on addr is, for the
// start-up log: http://host:port/docs, with localhost for a wildcard address.
func docsURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/docs"
}
