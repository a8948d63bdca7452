package abijson

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/terrarium-rl/terrarium/abi"
)

// The hand-written JSON of abijson.go must agree with encoding/json wherever
// it answers; these tests compare them on tables and under fuzzing.

var actionCases = []struct {
	in   string
	fast bool // the fast decoder must answer
}{
	{`{"role":"assistant","content":"","tool_calls":[{"id":"call_1","type":"function","function":{"name":"say","arguments":"{\"text\":\"hello\"}"}}]}`, true},
	{` { "role" : "assistant" , "content" : "hi\n\"there\"\\ \/ \b\f\r\t \u00e9\u4e2d" } `, true},
	{`{"role":"assistant","content":"done"}`, true},
	{`{"role":"assistant","tool_calls":[]}`, true},
	{`{"role":"assistant","name":"n","tool_call_id":"x","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":""}},{"function":{"arguments":"{}","name":"g"},"id":"b"}]}`, true},
	{`{}`, true},
	{`{"role":"assistant","content":"héllo ✓ 😀"}`, true},
	// Left to encoding/json:
	{`{"Role":"assistant"}`, false},
	{`{"role":"assistant","role":"user"}`, false},
	{`{"role":null}`, false},
	{`{"role":"assistant","extra":1}`, false},
	{`{"content":"\ud83d\ude00"}`, false},
	{`{"content":"\ud800"}`, false},
	{"{\"content\":\"\xff\"}", false},
	{`{"role":"assistant","tool_calls":null}`, false},
	{`{"tool_calls":[{"id":"a","function":{"name":"f","arguments":"{}","extra":true}}]}`, false},
	{`{"role":"assistant"} x`, false},
	{`{"role":"assistant",}`, false},
	{`{"role":"as` + "\n" + `sistant"}`, false},
	{`{"role":"\x"}`, false},
	{`{"role":5}`, false},
	{`[]`, false},
	{``, false},
	{`{"role":"assistant"`, false},
}

func TestDecodeMessage(t *testing.T) {
	for _, c := range actionCases {
		got, fast := DecodeMessage([]byte(c.in))
		if fast != c.fast {
			t.Errorf("%s: fast path %v, want %v", c.in, fast, c.fast)
		}
		checkAction(t, []byte(c.in), got, fast)
	}
}

func checkAction(t *testing.T, in []byte, got abi.Message, fast bool) {
	t.Helper()
	if !fast {
		return
	}
	var want abi.Message
	if err := json.Unmarshal(in, &want); err != nil {
		t.Fatalf("%q: fast decoder accepted what encoding/json rejects: %v", in, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: decoded %#v, encoding/json %#v", in, got, want)
	}
}

func FuzzDecodeMessage(f *testing.F) {
	for _, c := range actionCases {
		f.Add([]byte(c.in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, fast := DecodeMessage(in)
		checkAction(t, in, got, fast)
	})
}

var valueCases = []struct {
	in   string
	fast bool
}{
	{`{"text":"hello"}`, true},
	{` {"a": [1, -2.5e3, 0, true, false, null, "x\"y", {}, []], "b": {"c": "d"}} `, true},
	{`{"a":1,"a":2}`, true},
	{`"s"`, true},
	{`-0.0E+1`, true},
	{`[]`, true},
	{`{"k\u00e9y":"v\n"}`, true},
	{strings.Repeat(`[`, 150) + strings.Repeat(`]`, 150), false},
	{`{"a":01}`, false},
	{`{"a":1.}`, false},
	{`{"a":.5}`, false},
	{`{"a":-}`, false},
	{`{"a":1e}`, false},
	{`{"a":tru}`, false},
	{`{"a":"\ud83d\ude00"}`, false},
	{`{"a":1} {}`, false},
	{`{"a" 1}`, false},
	{`{a:1}`, false},
	{`{"a":[1,]}`, false},
	{``, false},
	{`nul`, false},
}

func TestDecodeValue(t *testing.T) {
	for _, c := range valueCases {
		got, fast := DecodeValue(c.in)
		if fast != c.fast {
			t.Errorf("%s: fast path %v, want %v", c.in, fast, c.fast)
		}
		checkValue(t, c.in, got, fast)
	}
}

func checkValue(t *testing.T, in string, got any, fast bool) {
	t.Helper()
	if !fast {
		return
	}
	want, err := jsonschema.UnmarshalJSON(strings.NewReader(in))
	if err != nil {
		t.Fatalf("%q: fast decoder accepted what jsonschema.UnmarshalJSON rejects: %v", in, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: decoded %#v, encoding/json %#v", in, got, want)
	}
}

func FuzzDecodeValue(f *testing.F) {
	for _, c := range valueCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, fast := DecodeValue(in)
		checkValue(t, in, got, fast)
	})
}

var stringCases = []string{"", "plain", `q"b\s/`, "\b\f\n\r\t\x00\x1f\x7f", "<&>", "é中😀", "\u2028\u2029", "bad \xff\xfe utf8", "\xe2\x80"}

func checkString(t *testing.T, s string) {
	t.Helper()
	want, err := Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := AppendString(nil, s); !bytes.Equal(got, want) {
		t.Fatalf("%q: encoded %s, encoding/json %s", s, got, want)
	}
	res := abi.StepResult{Messages: []abi.Message{
		{Role: abi.RoleTool, ToolCallID: s, Name: "t", Content: s},
		{Role: abi.RoleTool, Content: s},
	}, Done: len(s)%2 == 0}
	got, fast := EncodeStepResult(&res)
	if want := mustMarshal(t, res); !fast || string(got) != want {
		t.Fatalf("%q: step result %s (fast %v), encoding/json %s", s, got, fast, want)
	}
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEncode(t *testing.T) {
	for _, s := range stringCases {
		checkString(t, s)
	}
	for _, res := range []abi.StepResult{{Messages: []abi.Message{}}, {Messages: []abi.Message{}, Done: true}} {
		got, fast := EncodeStepResult(&res)
		if want := mustMarshal(t, res); !fast || string(got) != want {
			t.Fatalf("%+v: %s (fast %v), encoding/json %s", res, got, fast, want)
		}
	}
	// What the fast encoder leaves to encoding/json.
	for _, res := range []abi.StepResult{{}, {Messages: []abi.Message{{ToolCalls: []abi.ToolCall{{ID: "x"}}}}}} {
		if _, fast := EncodeStepResult(&res); fast {
			t.Errorf("%+v: encoded by the fast encoder", res)
		}
	}
}

func FuzzEncode(f *testing.F) {
	for _, s := range stringCases {
		f.Add(s)
	}
	f.Fuzz(checkString)
}
