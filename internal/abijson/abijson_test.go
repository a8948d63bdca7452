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
	want, err := marshal(s)
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
	b, err := marshal(v)
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

// marshal is encoding/json with HTML escaping off, as the SDK encodes.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

var stepResultCases = []struct {
	in   string
	fast bool
}{
	{`{"messages":[{"role":"tool","content":"higher","name":"guess","tool_call_id":"c1"}],"done":false}`, true},
	{`{"messages":[],"done":true}`, true},
	{` { "done" : true , "messages" : [ {"role":"tool","content":"{\"error\":\"x\"}"} , {"role":"tool","content":"é"} ] } `, true},
	{`{"messages":[{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}}]}]}`, true},
	{`{}`, true},
	// Left to encoding/json:
	{`{"messages":null,"done":false}`, false},
	{`{"messages":[],"done":null}`, false},
	{`{"messages":[],"done":1}`, false},
	{`{"messages":[],"done":true,"done":false}`, false},
	{`{"Messages":[]}`, false},
	{`{"messages":[],"extra":0}`, false},
	{`{"messages":[{"role":"tool","x":1}]}`, false},
	{`{"messages":[{"role":"tool"},]}`, false},
	{`{"messages":[],"done":tru}`, false},
	{`{"messages":[]} x`, false},
	{`[]`, false},
	{``, false},
}

func TestDecodeStepResult(t *testing.T) {
	for _, c := range stepResultCases {
		got, fast := DecodeStepResult([]byte(c.in))
		if fast != c.fast {
			t.Errorf("%s: fast path %v, want %v", c.in, fast, c.fast)
		}
		checkStepResult(t, []byte(c.in), got, fast)
	}
}

func checkStepResult(t *testing.T, in []byte, got abi.StepResult, fast bool) {
	t.Helper()
	if !fast {
		return
	}
	var want abi.StepResult
	if err := json.Unmarshal(in, &want); err != nil {
		t.Fatalf("%q: fast decoder accepted what encoding/json rejects: %v", in, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: decoded %#v, encoding/json %#v", in, got, want)
	}
}

func FuzzDecodeStepResult(f *testing.F) {
	for _, c := range stepResultCases {
		f.Add([]byte(c.in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, fast := DecodeStepResult(in)
		checkStepResult(t, in, got, fast)
	})
}

// checkAppendMessage compares AppendMessage with json.Marshal (HTML
// escaping on, as the host encodes actions).
func checkAppendMessage(t *testing.T, m abi.Message) {
	t.Helper()
	want, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if got := AppendMessage(nil, &m); !bytes.Equal(got, want) {
		t.Fatalf("%#v: encoded %s, encoding/json %s", m, got, want)
	}
}

func TestAppendMessage(t *testing.T) {
	call := abi.ToolCall{ID: "c1", Type: "function", Function: abi.FunctionCall{Name: "say", Arguments: `{"text":"<b>&</b>"}`}}
	for _, m := range []abi.Message{
		{},
		{Role: abi.RoleAssistant, Content: "done"},
		{Role: abi.RoleAssistant, ToolCalls: []abi.ToolCall{call, {}}},
		{Role: abi.RoleAssistant, ToolCalls: []abi.ToolCall{}},
		{Role: abi.RoleTool, Name: "n", ToolCallID: "x", Content: "q\"b\\s/\b\f\n\r\t\x00\x1f\x7f"},
	} {
		checkAppendMessage(t, m)
	}
	for _, s := range stringCases {
		checkAppendMessage(t, abi.Message{Role: s, Content: s, Name: s, ToolCallID: s,
			ToolCalls: []abi.ToolCall{{ID: s, Type: s, Function: abi.FunctionCall{Name: s, Arguments: s}}}})
	}
}

func FuzzAppendMessage(f *testing.F) {
	for _, s := range stringCases {
		f.Add(s, s, s)
	}
	f.Fuzz(func(t *testing.T, content, name, args string) {
		m := abi.Message{Role: abi.RoleAssistant, Content: content, Name: name}
		if args != "" {
			m.ToolCalls = []abi.ToolCall{{ID: name, Type: "function", Function: abi.FunctionCall{Name: name, Arguments: args}}}
		}
		checkAppendMessage(t, m)
	})
}
