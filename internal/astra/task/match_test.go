package task

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// oldKey is Key as it was before keys were built without allocating
// (canonicalizing a map that the defaults were written into): the
// reference the current Key must agree with.
func oldKey(arguments []byte, defaults map[string]any) (string, error) {
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
	oldCanon(&b, m)
	return b.String(), nil
}

func oldCanon(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		switch {
		case err != nil || math.IsInf(f, 0):
			b.WriteString("n:" + string(x))
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
			oldCanon(b, e)
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
			oldCanon(b, x[k])
		}
		b.WriteByte('}')
	default:
		fmt.Fprintf(b, "?%T", v)
	}
}

var keyDefaults = map[string]any{"unit": "celsius", "year": json.Number("2023"), "z": []any{"A", map[string]any{"b": nil}}, "t": true}

var keyInputs = []string{
	`{"compound":"ethanol","property":"boiling_point"}`,
	`{"property": "Boiling_Point ", "compound": "ETHANOL"}`,
	`{"a":1,"a":2,"unit":"F","year":2023.0,"big":1e999,"neg":-0,"n":null,"b":false}`,
	`{"f":["Temp",{"b":1,"a":" X "}],"o":{"lang":"EN","é":"\u00c9"},"k":"\t x\n"}`,
	`{"q":"\"quoted\\\u0001","x":[[],{}],"y":123456789012345678901234567890}`,
	`{"1":1,"2":2,"3":3,"4":4,"5":5,"6":6,"7":7,"8":8,"9":9,"10":10,"11":11,"12":12,"13":13,"14":14,"15":15,"16":16,"17":17,"18":18}`,
	`{}`, `[1]`, `"s"`, `{"a":}`, `{"a":1} {}`, ``,
}

func checkKey(t *testing.T, in string) {
	t.Helper()
	for _, d := range []map[string]any{nil, keyDefaults} {
		want, wantErr := oldKey([]byte(in), d)
		got, err := Key([]byte(in), d)
		if (err != nil) != (wantErr != nil) || got != want || err != nil && err.Error() != wantErr.Error() {
			t.Fatalf("Key(%s) = %q, %v; before: %q, %v", in, got, err, want, wantErr)
		}
	}
}

func TestKeyUnchanged(t *testing.T) {
	for _, in := range keyInputs {
		checkKey(t, in)
	}
}

func FuzzKey(f *testing.F) {
	for _, in := range keyInputs {
		f.Add(in)
	}
	f.Fuzz(checkKey)
}

// TestLookup checks the table's exact and canonical paths, with and without
// arguments decoded by the caller.
func TestLookup(t *testing.T) {
	tk := &Task{
		Tools: []Tool{
			{Name: "lookup", Parameters: json.RawMessage(`{"type":"object","properties":{"c":{"type":"string"},"unit":{"type":"string","default":"celsius"}}}`)},
			{Name: "other", Parameters: json.RawMessage(`{"type":"object","properties":{}}`)},
		},
		Calls: []Call{
			{Tool: "lookup", Arguments: json.RawMessage(`{"c":"ethanol"}`), Answer: "78"},
			{Tool: "lookup", Arguments: json.RawMessage(`{"c":"ethanol","unit":"celsius"}`), Answer: "78"}, // same key: call 0 answers
			{Tool: "lookup", Arguments: json.RawMessage(`{"c":"water","unit":"fahrenheit"}`), Answer: "212"},
			{Tool: "other", Arguments: json.RawMessage(`{}`), Answer: "x"},
		},
	}
	tb, err := NewTable(tk)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tool, args string
		want       int
	}{
		{"lookup", `{"c":"ethanol"}`, 0},
		{"lookup", `{"c":"ethanol","unit":"celsius"}`, 0},
		{"lookup", `{"unit":"Celsius ", "c":"ETHANOL"}`, 0},
		{"lookup", `{"c":"water","unit":"fahrenheit"}`, 2},
		{"lookup", `{"c":"water"}`, -1},
		{"lookup", `{}`, -1},
		{"lookup", `{"c":`, -1},
		{"lookup", `[]`, -1},
		{"other", `{}`, 3},
		{"other", ` { } `, 3},
		{"other", `{"c":"ethanol"}`, -1},
		{"nosuch", `{"c":"ethanol"}`, -1},
	} {
		if got := tb.Lookup(c.tool, []byte(c.args)); got != c.want {
			t.Errorf("Lookup(%s, %s) = %d, want %d", c.tool, c.args, got, c.want)
		}
		calls := 0
		decoded := func() map[string]any {
			calls++
			m, _ := decodeArguments([]byte(c.args))
			return m
		}
		if got := tb.LookupDecoded(c.tool, []byte(c.args), decoded); got != c.want {
			t.Errorf("LookupDecoded(%s, %s) = %d, want %d", c.tool, c.args, got, c.want)
		}
		if _, exact := tb.exact[c.tool+"\x00"+c.args]; exact && calls > 0 {
			t.Errorf("LookupDecoded(%s, %s) decoded the arguments of a verified call", c.tool, c.args)
		}
	}
}
