package api

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"boxoffice"
)

// TestSpecJSONKeepsYAMLOrder: /openapi.json says what openapi.yaml says, in the same order, so
// generators pick the first media type written (merge-patch for PATCH /v1/session/data).
func TestSpecJSONKeepsYAMLOrder(t *testing.T) {
	got, err := specJSON(boxoffice.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	var fromJSON, fromYAML any
	if err := json.Unmarshal(got, &fromJSON); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if err := yaml.Unmarshal(boxoffice.OpenAPI, &fromYAML); err != nil {
		t.Fatal(err)
	}
	roundTrip, err := json.Marshal(fromYAML)
	if err != nil {
		t.Fatal(err)
	}
	var want any
	json.Unmarshal(roundTrip, &want)
	if !reflect.DeepEqual(fromJSON, want) {
		t.Fatal("/openapi.json does not say what openapi.yaml says")
	}

	// Order: the top-level keys and the paths as written, and the first PATCH media type.
	var root yaml.Node
	yaml.Unmarshal(boxoffice.OpenAPI, &root)
	var keys, paths []string
	top := root.Content[0]
	for i := 0; i < len(top.Content); i += 2 {
		keys = append(keys, top.Content[i].Value)
		if top.Content[i].Value == "paths" {
			p := top.Content[i+1]
			for j := 0; j < len(p.Content); j += 2 {
				paths = append(paths, p.Content[j].Value)
			}
		}
	}
	if gotKeys := jsonKeys(t, got); !reflect.DeepEqual(gotKeys, keys) {
		t.Fatalf("top-level keys %v, want %v", gotKeys, keys)
	}
	var doc struct{ Paths json.RawMessage }
	json.Unmarshal(got, &doc)
	if gotPaths := jsonKeys(t, doc.Paths); !reflect.DeepEqual(gotPaths, paths) {
		t.Fatalf("paths in order %v, want %v", gotPaths, paths)
	}
	i := bytes.Index(got, []byte(`"operationId":"patchSessionData"`))
	rest := string(got[i:])
	content := rest[strings.Index(rest, `"content":{`)+len(`"content":{`):]
	if !strings.HasPrefix(content, `"application/merge-patch+json"`) {
		t.Fatalf("PATCH /v1/session/data media types start %.60s, want application/merge-patch+json first", content)
	}
}

// jsonKeys lists the keys of a JSON object in the order written.
func jsonKeys(t *testing.T, b []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %v %v", tok, err)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// TestSpecJSONRefusesWhatJSONCannotSay: merge keys and non-string keys are errors, not guesses.
func TestSpecJSONRefusesWhatJSONCannotSay(t *testing.T) {
	for _, doc := range []string{"a: &x {b: 1}\nc:\n  <<: *x\n", "? [1, 2]\n: x\n", "a: .inf\n"} {
		var root yaml.Node
		if err := yaml.Unmarshal([]byte(doc), &root); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := appendYAMLAsJSON(&buf, &root); err == nil {
			t.Errorf("%q converted to %s, want an error", doc, buf.Bytes())
		}
	}
}
