package sdk

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The quick check may only ever say "valid" where the validator agrees.

var quickSchemas = []struct {
	schema string
	quick  bool // compileQuick handles it
}{
	{`{"type":"object","properties":{"text":{"type":"string","maxLength":5}},"required":["text"]}`, true},
	{`{"type":"object","properties":{"compound":{"type":"string","description":"d"},"property":{"type":"string","enum":["boiling_point","density"]},` +
		`"unit":{"type":"string","enum":["c","f"],"default":"c"}},"required":["compound","property"]}`, true},
	{`{"type":"object","properties":{"n":{"type":"integer"},"x":{"type":"number"},"b":{"type":"boolean"},"s":{"type":["string","null"],"minLength":2},` +
		`"l":{"type":"array","items":{"type":"integer"}},"o":{"type":"object","properties":{"k":{"type":"string"}},"required":["k"]},"any":{}},"title":"t"}`, true},
	{`{"type":"object","properties":{"e":{"enum":["a","b"]}}}`, true},
	{`{"type":"object","properties":{"p":{"type":"string","pattern":"^a"}}}`, false},
	{`{"type":"object","properties":{"e":{"enum":["a",1]}}}`, false},
	{`{"type":"object","additionalProperties":false}`, false},
	{`{"type":"object","properties":{"r":{"$ref":"#"}}}`, false},
	{`{"type":"object","properties":{"x":true}}`, false},
}

var quickInstances = []string{
	`{"text":"hello"}`, `{"text":"héllo"}`, `{"text":"toolong"}`, `{}`, `{"text":5}`, `{"text":"a\nb"}`, `{"text":"hi","text":6}`,
	`{"compound":"ethanol","property":"boiling_point"}`, `{"compound":"x","property":"melting"}`, `{"compound":"x"}`,
	`{"compound":1,"property":"density","unit":"f"}`, `{"compound":"x","property":"density","unit":"k"}`,
	`{"n":3,"x":2.5,"b":true,"s":"ab","l":[1,2],"o":{"k":"v"},"any":[{"z":null}]}`, `{"n":3.0}`, `{"n":1e2}`, `{"x":-0}`,
	`{"s":null}`, `{"s":"a"}`, `{"l":[1,"a"]}`, `{"o":{}}`, `{"o":{"k":1}}`, `{"e":"a"}`, `{"e":"c"}`, `{"e":1}`,
	`{"p":"abc"}`, `{"r":{}}`, `[]`, `"x"`, `{"a":1} x`, `{"a":}`, ``, `{"text":"\ud83d\ude00"}`,
}

// checkQuick compares the quick check of in with the validator's verdict.
func checkQuick(t *testing.T, schema, in string) (quick bool) {
	t.Helper()
	c, err := compileSchema([]byte(schema))
	if err != nil {
		t.Fatal(err)
	}
	if c.quick == nil || !c.quick.validJSON(in) {
		return false
	}
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(in))
	if err != nil {
		t.Fatalf("schema %s: quick check passed %q, which is not JSON: %v", schema, in, err)
	}
	if err := c.full.Validate(inst); err != nil {
		t.Fatalf("schema %s: quick check passed %q, which the validator rejects: %v", schema, in, err)
	}
	return true
}

func TestQuickSchema(t *testing.T) {
	for _, s := range quickSchemas {
		c, err := compileSchema([]byte(s.schema))
		if err != nil {
			t.Fatal(err)
		}
		if (c.quick != nil) != s.quick {
			t.Errorf("%s: quick check %v, want %v", s.schema, c.quick != nil, s.quick)
		}
		for _, in := range quickInstances {
			checkQuick(t, s.schema, in)
		}
	}
	// Good calls of the common kind must take the quick path.
	for _, c := range []struct{ schema, in string }{
		{quickSchemas[0].schema, `{"text":"hello"}`},
		{quickSchemas[0].schema, ` { "text" : "a\"b" } `},
		{quickSchemas[1].schema, `{"compound":"ethanol","property":"boiling_point"}`},
		{quickSchemas[1].schema, `{"property":"density","compound":"x","unit":"f","other":[1,{"a":null}]}`},
		{quickSchemas[2].schema, `{"n":3,"x":2.5,"b":true,"s":"ab","l":[1,2],"o":{"k":"v"},"any":[{"z":null}]}`},
		{quickSchemas[3].schema, `{"e":"b"}`},
	} {
		if !checkQuick(t, c.schema, c.in) {
			t.Errorf("schema %s: %s did not pass the quick check", c.schema, c.in)
		}
	}
}

func FuzzQuickSchema(f *testing.F) {
	for _, in := range quickInstances {
		f.Add(uint8(0), in)
	}
	f.Fuzz(func(t *testing.T, i uint8, in string) {
		checkQuick(t, quickSchemas[int(i)%len(quickSchemas)].schema, in)
	})
}

// TestValidateErrors checks that calls failing the quick check get the
// validator's messages.
func TestValidateErrors(t *testing.T) {
	tool := &Tool{Name: "t", Schema: []byte(quickSchemas[1].schema), Handler: func(*Episode, json.RawMessage) (any, error) { return nil, nil }}
	if err := tool.compile(); err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		`{"compound":"x"}`:                          "invalid arguments: at '': missing property 'property'",
		`{"compound":"x","property":"melting"}`:     "invalid arguments: at '/property': value must be one of 'boiling_point', 'density'",
		`{"compound":1,"property":"density"} x`:     "arguments are not valid JSON: invalid character after top-level value",
		`{"compound":"x","property":"density",}`:    "arguments are not valid JSON: invalid character '}' looking for beginning of object key string",
		`{"compound":"\ud83d","property":"density"`: "arguments are not valid JSON: unexpected EOF",
	} {
		_, _, err := tool.validate(in)
		if err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %s", in, err, want)
		}
	}
	free := &Tool{Name: "f", Schema: []byte(`{"type":"object"}`), Handler: tool.Handler}
	if err := free.compile(); err != nil {
		t.Fatal(err)
	}
	if args, _, err := free.validate(" \n"); err != nil || args != "{}" {
		t.Errorf("blank arguments: %q, %v; want {}", args, err)
	}
}
