package api

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v3"
)

// specJSON converts the YAML contract to JSON once, validating it on the way. Keys keep the
// YAML's order (a generator reads the first media type of a body as its default, and people
// read the document top to bottom), which a conversion through Go maps would sort away.
func specJSON(doc []byte) ([]byte, error) {
	if _, err := openapi3.NewLoader().LoadFromData(doc); err != nil {
		return nil, fmt.Errorf("api: openapi.yaml: %w", err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil {
		return nil, fmt.Errorf("api: openapi.yaml: %w", err)
	}
	if root.Kind == 0 { // an empty document, which the loader accepts: tests that serve no spec
		return []byte("{}"), nil
	}
	var buf bytes.Buffer
	if err := appendYAMLAsJSON(&buf, &root); err != nil {
		return nil, fmt.Errorf("api: openapi.yaml: %w", err)
	}
	return buf.Bytes(), nil
}

// appendYAMLAsJSON writes n as compact JSON, mappings in their written order. It returns an
// error for what JSON cannot say: non-string keys, merge keys, and non-finite numbers.
func appendYAMLAsJSON(buf *bytes.Buffer, n *yaml.Node) error {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return fmt.Errorf("line %d: want one document", n.Line)
		}
		return appendYAMLAsJSON(buf, n.Content[0])
	case yaml.AliasNode:
		return appendYAMLAsJSON(buf, n.Alias)
	case yaml.MappingNode:
		buf.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
				return fmt.Errorf("line %d: mapping keys must be plain scalars", k.Line)
			}
			if i > 0 {
				buf.WriteByte(',')
			}
			key, _ := json.Marshal(k.Value)
			buf.Write(key)
			buf.WriteByte(':')
			if err := appendYAMLAsJSON(buf, v); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
		return nil
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, v := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := appendYAMLAsJSON(buf, v); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
		return nil
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		buf.Write(b)
		return nil
	}
	return fmt.Errorf("line %d: unexpected YAML node kind %d", n.Line, n.Kind)
}
