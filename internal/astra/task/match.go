package task

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
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
	m, err := decodeArguments(arguments)
	if err != nil {
		return "", err
	}
	return string(appendKey(nil, m, defaults)), nil
}

// decodeArguments decodes a call's arguments, which must be a JSON object.
func decodeArguments(arguments []byte) (map[string]any, error) {
	var v any
	if err := unmarshalNumber(arguments, &v); err != nil {
		return nil, fmt.Errorf("arguments: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("arguments are not a JSON object")
	}
	return m, nil
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

// appendKey appends the canonical form of the arguments m, absent
// properties taken from defaults, to b. Neither map is modified.
func appendKey(b []byte, m, defaults map[string]any) []byte {
	var arr [16]string
	keys := arr[:0]
	for k := range m {
		keys = append(keys, k)
	}
	for k := range defaults {
		if _, set := m[k]; !set {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, k)
		b = append(b, ':')
		v, set := m[k]
		if !set {
			v = defaults[k]
		}
		b = appendCanon(b, v)
	}
	return append(b, '}')
}

// appendCanon appends v in a canonical JSON-like text. It only has to be
// injective on the equivalence classes Key describes, not valid JSON.
func appendCanon(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, x)
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil || math.IsInf(f, 0) {
			b = append(b, "n:"...)
			return append(b, x...) // out of float range: compare as written
		}
		return strconv.AppendFloat(b, f, 'g', -1, 64)
	case float64:
		return strconv.AppendFloat(b, x, 'g', -1, 64)
	case string:
		return strconv.AppendQuote(b, strings.ToLower(strings.TrimSpace(x)))
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendCanon(b, e)
		}
		return append(b, ']')
	case map[string]any:
		return appendKey(b, x, nil)
	default:
		return fmt.Appendf(b, "?%T", v) // unreachable for decoded JSON
	}
}

// Table answers tool calls from a task's verified calls.
type Table struct {
	defaults map[string]map[string]any // tool -> property -> default
	answers  map[string]int            // tool + "\x00" + key -> call index
	// exact maps tool + "\x00" + the arguments of a verified call, byte for
	// byte, to what answers gives for their key: a call that repeats a
	// verified call's arguments exactly (as the oracle does) is answered
	// without canonicalizing them.
	exact map[string]int
	buf   []byte // scratch for keys; a Table is not for concurrent use
}

// NewTable indexes the verified calls of t by tool and canonical key. When
// two calls share a key the first wins; the compiler rejects records where
// their answers differ.
func NewTable(t *Task) (*Table, error) {
	tb := &Table{defaults: map[string]map[string]any{}, answers: map[string]int{}, exact: map[string]int{}}
	for _, tl := range t.Tools {
		d, err := Defaults(tl.Parameters)
		if err != nil {
			return nil, fmt.Errorf("tool %s: %w", tl.Name, err)
		}
		tb.defaults[tl.Name] = d
	}
	keys := make([]string, len(t.Calls))
	for j, c := range t.Calls {
		k, err := tb.Key(c.Tool, c.Arguments)
		if err != nil {
			return nil, fmt.Errorf("call %d (%s): %w", j, c.Tool, err)
		}
		keys[j] = k
		if _, dup := tb.answers[k]; !dup {
			tb.answers[k] = j
		}
	}
	for j, c := range t.Calls {
		tb.exact[c.Tool+"\x00"+string(c.Arguments)] = tb.answers[keys[j]]
	}
	return tb, nil
}

// Key is the table key of a call of tool with arguments.
func (tb *Table) Key(tool string, arguments []byte) (string, error) {
	m, err := decodeArguments(arguments)
	if err != nil {
		return "", err
	}
	return string(tb.appendKey(nil, tool, m)), nil
}

func (tb *Table) appendKey(b []byte, tool string, m map[string]any) []byte {
	b = append(b, tool...)
	b = append(b, 0)
	return appendKey(b, m, tb.defaults[tool])
}

// Lookup returns the index of the verified call that a call of tool with
// arguments matches, or -1.
func (tb *Table) Lookup(tool string, arguments []byte) int {
	return tb.LookupDecoded(tool, arguments, nil)
}

// LookupDecoded is Lookup for a caller that may have the arguments decoded
// already: decoded, when not nil, returns them as encoding/json decodes
// them into an any with UseNumber (as the SDK's Episode.Arguments does). It
// is called only when the arguments are not a verified call's byte for byte.
func (tb *Table) LookupDecoded(tool string, arguments []byte, decoded func() map[string]any) int {
	if j, ok := tb.exact[string(tb.appendExact(tool, arguments))]; ok {
		return j
	}
	var m map[string]any
	if decoded != nil {
		m = decoded()
	}
	if m == nil {
		var err error
		if m, err = decodeArguments(arguments); err != nil {
			return -1
		}
	}
	tb.buf = tb.appendKey(tb.buf[:0], tool, m)
	if j, ok := tb.answers[string(tb.buf)]; ok {
		return j
	}
	return -1
}

func (tb *Table) appendExact(tool string, arguments []byte) []byte {
	tb.buf = append(tb.buf[:0], tool...)
	tb.buf = append(tb.buf, 0)
	tb.buf = append(tb.buf, arguments...)
	return tb.buf
}
