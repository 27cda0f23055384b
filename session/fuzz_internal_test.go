package session

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// Fuzz targets for the session data rules. Seed corpora live in testdata/fuzz/<FuzzName>/; run
// one target at a time, e.g.
//
//	go test ./session -run '^$' -fuzz '^FuzzMergePatch$' -fuzztime 180s -parallel 2

// fuzzDecode decodes one JSON text keeping numbers as their text.
func fuzzDecode(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// fuzzMergePatch is a reference RFC 7396 MergePatch written from section 2 of the RFC. Unlike
// mergePatch it never modifies its arguments: it builds a new result.
//
//	define MergePatch(Target, Patch):
//	  if Patch is an Object:
//	    if Target is not an Object:
//	      Target = {} # Ignore the contents and set it to an empty Object
//	    for each Name/Value pair in Patch:
//	      if Value is null:
//	        if Name exists in Target:
//	          remove the Name/Value pair from Target
//	      else:
//	        Target[Name] = MergePatch(Target[Name], Value)
//	    return Target
//	  else:
//	    return Patch
func fuzzMergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	out := map[string]any{}
	if t, ok := target.(map[string]any); ok {
		for k, v := range t {
			out[k] = v
		}
	}
	for k, v := range p {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = fuzzMergePatch(out[k], v)
	}
	return out
}

// fuzzNoPatchNulls fails if a member the patch deletes (a null reached through objects only)
// is present in the result.
func fuzzNoPatchNulls(t *testing.T, path string, result, patch any) {
	t.Helper()
	p, ok := patch.(map[string]any)
	if !ok {
		return
	}
	r, ok := result.(map[string]any)
	if !ok {
		t.Fatalf("%s: the patch is an object but the result is %#v", path, result)
	}
	for k, v := range p {
		rv, present := r[k]
		switch {
		case v == nil && present:
			t.Fatalf("%s/%s: the patch deletes it but the result has %#v", path, k, rv)
		case v != nil && !present:
			t.Fatalf("%s/%s: the patch sets it but the result lacks it", path, k)
		case v != nil:
			fuzzNoPatchNulls(t, path+"/"+k, rv, v)
		}
	}
}

// fuzzNumbers returns the text of every number in a decoded value.
func fuzzNumbers(v any, out map[string]int) {
	switch v := v.(type) {
	case json.Number:
		out[string(v)]++
	case map[string]any:
		for _, e := range v {
			fuzzNumbers(e, out)
		}
	case []any:
		for _, e := range v {
			fuzzNumbers(e, out)
		}
	}
}

// FuzzMergePatch: mergeJSON(target, patch) for a JSON object patch (and any target, or none)
// is compact valid JSON equal to the reference MergePatch, keeps every number's exact text,
// drops every member the patch nulls, and is idempotent: applying the patch again changes
// nothing.
func FuzzMergePatch(f *testing.F) {
	for _, s := range [][2]string{
		{`{"a":{"b":1,"c":2}}`, `{"a":{"b":null,"d":12345678901234567890123}}`},
		{`{"n":1e400,"x":0.1}`, `{"m":1E+2,"x":0.10,"y":-0}`},
		{``, `{"new":{"x":null,"y":{"z":null}}}`},
		{`[1,2]`, `{"a":[null,{"b":null}]}`},
		{`null`, `{}`},
		{`{"\ud800":"<&>"}`, `{"\udc00":null,"k":"\u2028"}`},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, target, patch string) {
		if target != "" && !json.Valid([]byte(target)) || !json.Valid([]byte(patch)) {
			t.Skip()
		}
		p, err := fuzzDecode([]byte(patch))
		if err != nil {
			t.Fatalf("decode valid patch %q: %v", patch, err)
		}
		if _, ok := p.(map[string]any); !ok {
			t.Skip() // PatchData merges only object values
		}
		var tv any
		if target != "" {
			if tv, err = fuzzDecode([]byte(target)); err != nil {
				t.Fatalf("decode valid target %q: %v", target, err)
			}
		}

		got, err := mergeJSON([]byte(target), []byte(patch))
		if err != nil {
			t.Fatalf("mergeJSON(%q, %q): %v", target, patch, err)
		}
		if !json.Valid([]byte(got)) {
			t.Fatalf("mergeJSON(%q, %q) = %q: not JSON", target, patch, got)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, []byte(got)); err != nil || compact.String() != got {
			t.Fatalf("mergeJSON(%q, %q) = %q: not compact", target, patch, got)
		}
		gv, err := fuzzDecode([]byte(got))
		if err != nil {
			t.Fatal(err)
		}
		want := fuzzMergePatch(tv, p)
		if !reflect.DeepEqual(gv, want) { // json.Number compares by text: numbers are exact
			wb, _ := json.Marshal(want)
			t.Fatalf("mergeJSON(%q, %q) = %s, reference MergePatch gives %s", target, patch, got, wb)
		}
		fuzzNoPatchNulls(t, "", gv, p)

		// Every number in the result is spelled as in the target or the patch.
		in, out := map[string]int{}, map[string]int{}
		fuzzNumbers(tv, in)
		fuzzNumbers(p, in)
		fuzzNumbers(gv, out)
		for n := range out {
			if in[n] == 0 {
				t.Fatalf("mergeJSON(%q, %q) = %s: number %s is in neither input", target, patch, got, n)
			}
		}

		again, err := mergeJSON([]byte(got), []byte(patch))
		if err != nil || again != got {
			t.Fatalf("patch %q applied twice to %q: %q then %q (%v)", patch, target, got, again, err)
		}
	})
}

// FuzzCheckDataKey: CheckDataKey accepts exactly the keys of 1 to 128 bytes of valid UTF-8
// without control characters (C0, DEL, C1), and refuses everything else with ErrInvalidData.
func FuzzCheckDataKey(f *testing.F) {
	for _, s := range []string{"", "cart", strings.Repeat("k", 128), strings.Repeat("k", 129),
		strings.Repeat("é", 64), "a\tb", "a\u0085b", "\xff", "\u200b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, k string) {
		err := CheckDataKey(k)
		control := false
		for _, r := range k {
			control = control || r < 0x20 || r >= 0x7f && r <= 0x9f
		}
		valid := len(k) >= 1 && len(k) <= MaxDataKeyBytes && utf8.ValidString(k) && !control
		if err == nil && !valid {
			t.Fatalf("CheckDataKey(%q) accepted a key of %d bytes (valid UTF-8 %v, control %v)",
				k, len(k), utf8.ValidString(k), control)
		}
		if err != nil && valid {
			t.Fatalf("CheckDataKey(%q) refused a valid key: %v", k, err)
		}
		if err != nil && !errors.Is(err, ErrInvalidData) {
			t.Fatalf("CheckDataKey(%q) = %v, not ErrInvalidData", k, err)
		}
	})
}
