package task

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Defaults returns the "default" of each top-level property of a tool's
// parameter schema. Nested defaults are not applied: ASTRA's tools take flat
// keyword arguments.
func Defaults(parameters json.RawMessage) (map[string]any, error) {
	var s struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := unmarshalNumber(parameters, &s); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	out := map[string]any{}
	for name, raw := range s.Properties {
		var p map[string]any
		if err := unmarshalNumber(raw, &p); err != nil {
			continue // not an object schema; it carries no default
		}
		if d, ok := p["default"]; ok {
			out[name] = d
		}
	}
	return out, nil
}

// Key returns the canonical form of a call's arguments (a JSON object), the
// key under which calls are matched. Two argument objects have the same key
// when they are equal after
//
//   - filling absent properties from defaults (a schema's "default"s),
//   - ignoring the order of object keys,
//   - trimming surrounding white space from strings and folding their case
//     (strings.ToLower), everywhere including inside lists and objects,
//   - comparing numbers by value as float64 (2023 and 2023.0 are equal).
//
// Object keys (argument names) are compared exactly.
func Key(arguments []byte, defaults map[string]any) (string, error) {
	var v any
	if err := unmarshalNumber(arguments, &v); err != nil {
		return "", fmt.Errorf("arguments: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return "", fmt.Errorf("arguments are not a JSON object")
	}
	for k, d := range defaults {
		if _, set := m[k]; !set {
			m[k] = d
		}
	}
	var b strings.Builder
	canon(&b, m)
	return b.String(), nil
}

func unmarshalNumber(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after JSON value")
	}
	return nil
}

// canon writes v in a canonical JSON-like text. It only has to be
// injective on the equivalence classes Key describes, not valid JSON.
func canon(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		switch {
		case err != nil || math.IsInf(f, 0):
			b.WriteString("n:" + string(x)) // out of float range: compare as written
		default:
			b.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
		}
	case float64:
		b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
	case string:
		b.WriteString(strconv.Quote(strings.ToLower(strings.TrimSpace(x))))
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			canon(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(k))
			b.WriteByte(':')
			canon(b, x[k])
		}
		b.WriteByte('}')
	default:
		fmt.Fprintf(b, "?%T", v) // unreachable for decoded JSON
	}
}

// Table answers tool calls from a task's verified calls.
type Table struct {
	defaults map[string]map[string]any // tool -> property -> default
	answers  map[string]int            // tool + "\x00" + key -> call index
}

// NewTable indexes the verified calls of t by tool and canonical key. When
// two calls share a key the first wins; the compiler rejects records where
// their answers differ.
func NewTable(t *Task) (*Table, error) {
	tb := &Table{defaults: map[string]map[string]any{}, answers: map[string]int{}}
	for _, tl := range t.Tools {
		d, err := Defaults(tl.Parameters)
		if err != nil {
			return nil, fmt.Errorf("tool %s: %w", tl.Name, err)
		}
		tb.defaults[tl.Name] = d
	}
	for j, c := range t.Calls {
		k, err := tb.Key(c.Tool, c.Arguments)
		if err != nil {
			return nil, fmt.Errorf("call %d (%s): %w", j, c.Tool, err)
		}
		if _, dup := tb.answers[k]; !dup {
			tb.answers[k] = j
		}
	}
	return tb, nil
}

// Key is the table key of a call of tool with arguments.
func (tb *Table) Key(tool string, arguments []byte) (string, error) {
	k, err := Key(arguments, tb.defaults[tool])
	if err != nil {
		return "", err
	}
	return tool + "\x00" + k, nil
}

// Lookup returns the index of the verified call that a call of tool with
// arguments matches, or -1.
func (tb *Table) Lookup(tool string, arguments []byte) int {
	k, err := tb.Key(tool, arguments)
	if err != nil {
		return -1
	}
	if j, ok := tb.answers[k]; ok {
		return j
	}
	return -1
}
