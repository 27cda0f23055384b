package sdk_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"boxoffice"
)

// TestProblemCodesMatchSpec holds the Code* constants to openapi.yaml: every code the spec
// names (the Problem schema's enum and table, response examples, the urn: types) must have a
// constant, and every constant must be a code of the spec's enum.
func TestProblemCodesMatchSpec(t *testing.T) {
	consts := codeConstants(t)
	enum, named := specCodes(t)
	if len(enum) == 0 || len(consts) == 0 {
		t.Fatalf("found %d codes in the spec's enum and %d constants", len(enum), len(consts))
	}
	for code, where := range named {
		if _, ok := consts[code]; !ok {
			t.Errorf("openapi.yaml names the problem code %q (%s) but the SDK has no constant for it: add Code... = %q to sdk/codes.go", code, where, code)
		}
		if !enum[code] {
			t.Errorf("openapi.yaml names the problem code %q (%s) that the Problem schema's code enum lacks", code, where)
		}
	}
	for code, name := range consts {
		if !enum[code] {
			t.Errorf("sdk.%s = %q is not a problem code of openapi.yaml", name, code)
		}
	}
}

// codeConstants parses the package's hand-written files for the constants of type ProblemCode
// named Code...: value -> name.
func codeConstants(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		path := e.Name()
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || strings.HasSuffix(path, ".gen.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "ProblemCode" {
					continue
				}
				for i, n := range vs.Names {
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || !strings.HasPrefix(n.Name, "Code") {
						t.Fatalf("constant %s of type ProblemCode: want Code... = \"literal\"", n.Name)
					}
					v, _ := strconv.Unquote(lit.Value)
					if prev, dup := out[v]; dup {
						t.Errorf("%s and %s are both %q", prev, n.Name, v)
					}
					out[v] = n.Name
				}
			}
		}
	}
	return out
}

var (
	tableRow = regexp.MustCompile("(?m)^\\| [0-9]{3} \\| `([a-z_]+)` \\|")
	urnCode  = regexp.MustCompile(`^urn:boxoffice:problem:([a-z_]+)$`)
)

// specCodes reads openapi.yaml: the Problem schema's code enum, and every code the spec names
// anywhere, with where it was seen.
func specCodes(t *testing.T) (enum map[string]bool, named map[string]string) {
	t.Helper()
	var root yaml.Node
	if err := yaml.Unmarshal(boxoffice.OpenAPI, &root); err != nil {
		t.Fatal(err)
	}
	enum, named = map[string]bool{}, map[string]string{}
	code := lookup(&root, "components", "schemas", "Problem", "properties", "code")
	for _, n := range lookup(code, "enum").Content {
		enum[n.Value] = true
		named[n.Value] = "the Problem schema's enum"
	}
	for _, m := range tableRow.FindAllStringSubmatch(lookup(code, "description").Value, -1) {
		named[m[1]] = "the Problem schema's table"
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.ScalarNode {
			if m := urnCode.FindStringSubmatch(n.Value); m != nil {
				named[m[1]] = "a problem type, line " + strconv.Itoa(n.Line)
			}
		}
		if n.Kind == yaml.MappingNode {
			// A problem example: a mapping with a title, a status and a scalar code.
			c, s, ti := lookup(n, "code"), lookup(n, "status"), lookup(n, "title")
			if c != nil && s != nil && ti != nil && c.Kind == yaml.ScalarNode {
				named[c.Value] = "an example, line " + strconv.Itoa(c.Line)
			}
			// The enum of a code property (as in ValidationProblem).
			if e := lookup(n, "code", "enum"); e != nil {
				for _, v := range e.Content {
					named[v.Value] = "an enum, line " + strconv.Itoa(v.Line)
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&root)
	if t.Failed() {
		t.Logf("codes named by the spec: %v", slices.Sorted(maps.Keys(named)))
	}
	return enum, named
}

// lookup follows keys through nested YAML mappings; nil when one is missing.
func lookup(n *yaml.Node, keys ...string) *yaml.Node {
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, k := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	return n
}
