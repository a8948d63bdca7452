package astra

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// argsJSON renders a parsed call as "name{k:v,...}|[positional]" for
// comparison in tables.
func argsJSON(c *Call) string {
	var b strings.Builder
	b.WriteString(c.Func)
	b.WriteByte('{')
	for i, kw := range c.Keywords {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(kw.Name + ":" + string(kw.Value))
	}
	b.WriteByte('}')
	if len(c.Positional) > 0 {
		var ps []string
		for _, p := range c.Positional {
			ps = append(ps, string(p))
		}
		b.WriteString("[" + strings.Join(ps, ",") + "]")
	}
	return b.String()
}

func TestParseCall(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"double quotes", `f(city="Paris", year=2020)`, `f{city:"Paris",year:2020}`},
		{"single quotes", `f(city='Paris')`, `f{city:"Paris"}`},
		{"quote inside other quotes", `f(a="it's", b='say "hi"')`, `f{a:"it's",b:"say \"hi\""}`},
		{"escapes", `f(s='a\nb\tc\'d\"e\\f')`, `f{s:"a\nb\tc'd\"e\\f"}`},
		{"unicode escapes", `f(s="\u674e\u767d \U0001F600 \x41 \101")`, `f{s:"李白 😀 A A"}`},
		{"surrogate pair escapes", `f(s="\ud83d\ude00")`, `f{s:"😀"}`},
		{"lone surrogate", `f(s="\ud83d!")`, `f{s:"` + string(utf8.RuneError) + `!"}`},
		{"unknown escape kept", `f(s="a\qb")`, `f{s:"a\\qb"}`},
		{"raw string", `f(s=r"a\nb\"")`, `f{s:"a\\nb\\\""}`},
		{"triple quotes", "f(s='''one\ntwo''', t=\"\"\"x\"y\"\"\")", `f{s:"one\ntwo",t:"x\"y"}`},
		{"adjacent literals", `f(s="ab" 'cd' u"ef")`, `f{s:"abcdef"}`},
		{"chinese", `book_author_lookup(title="红楼梦")`, `book_author_lookup{title:"红楼梦"}`},
		{"chinese keyword", `f(城市='北京')`, `f{城市:"北京"}`},
		{"ints", `f(a=0, b=-7, c=1_000, d=0x1F, e=0o17, g=0b101, h=+3, i=--2)`, `f{a:0,b:-7,c:1000,d:31,e:15,g:5,h:3,i:2}`},
		{"big int", `f(n=123456789012345678901234567890)`, `f{n:123456789012345678901234567890}`},
		{"floats", `f(a=1.5, b=-0.25, c=2.0, d=1e3, e=.5, f=5., g=1_0.5e-1_0)`, `f{a:1.5,b:-0.25,c:2.0,d:1000.0,e:0.5,f:5.0,g:1.05e-09}`},
		{"constants", `f(a=True, b=False, c=None)`, `f{a:true,b:false,c:null}`},
		{"lists and tuples", `f(a=[1, 'x', [2.5, None]], b=(1, 2), c=(), d=(3,), e=(4), f=[])`, `f{a:[1,"x",[2.5,null]],b:[1,2],c:[],d:[3],e:4,f:[]}`},
		{"dicts", `f(d={'k': 1, "n": {'x': [True]}, 3: 'int key', 'k': 2})`, `f{d:{"k":2,"n":{"x":[true]},"3":"int key"}}`},
		{"trailing commas", `f(a=[1,], b={'x': 1,},)`, `f{a:[1],b:{"x":1}}`},
		{"white space and newlines", "f(\n  a = 1 ,\n  b=[1,\n 2]  # comment\n)\n", `f{a:1,b:[1,2]}`},
		{"no arguments", `f()`, `f{}`},
		{"dotted name", `tools.weather.f(a=1)`, `f{a:1}`},
		{"assignment", `result = f(a=1)`, `f{a:1}`},
		{"print wrapper", `print(f(a='x'))`, `f{a:"x"}`},
		{"semicolon", `f(a=1);`, `f{a:1}`},
		{"positional", `convert(42, 'km', to_unit="mi")`, `convert{to_unit:"mi"}[42,"km"]`},
		{"line continuation", "f(a=1, \\\n b=2)", `f{a:1,b:2}`},
		{"string with html", `f(q="<a & b>")`, `f{q:"<a & b>"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseCall(tt.src)
			if err != nil {
				t.Fatalf("ParseCall(%q): %v", tt.src, err)
			}
			if got := argsJSON(c); got != tt.want {
				t.Errorf("ParseCall(%q)\n got %s\nwant %s", tt.src, got, tt.want)
			}
		})
	}
}

func TestParseCallErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"empty", ``, "expected a function name"},
		{"not a call", `f`, "expected '('"},
		{"unclosed", `f(a=1`, "expected ',' or ')'"},
		{"name value", `f(a=b)`, `"b" is not a literal`},
		{"nested call", `f(a=g(1))`, `"g" is not a literal`},
		{"expression", `f(a=1+2)`, "expected ',' or ')'"},
		{"unterminated string", `f(a="x)`, "unterminated string literal"},
		{"newline in string", "f(a='x\ny')", "newline inside quotes"},
		{"bytes", `f(a=b"x")`, "bytes literals"},
		{"f-string", `f(a=f"{x}")`, "f-strings"},
		{"set", `f(a={1, 2})`, "set literals"},
		{"float key", `f(a={1.5: 2})`, "float dict keys"},
		{"leading zero", `f(a=012)`, "leading zeros"},
		{"complex", `f(a=1j)`, "complex numbers"},
		{"inf", `f(a=1e999)`, "out of range"},
		{"minus string", `f(a=-'x')`, "numbers only"},
		{"repeated keyword", `f(a=1, a=2)`, "repeated"},
		{"positional after keyword", `f(a=1, 2)`, "positional argument after keyword"},
		{"unpacking", `f(**kw)`, "unpacking"},
		{"trailing garbage", `f(a=1) g`, "after the call"},
		{"bad escape", `f(a="\x4")`, `\x escape`},
		{"named escape", `f(a="\N{DASH}")`, `\N{...}`},
		{"too deep", "f(a=" + strings.Repeat("[", 200) + strings.Repeat("]", 200) + ")", "nested deeper"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseCall(tt.src)
			if err == nil {
				t.Fatalf("ParseCall(%q) = %s, want an error containing %q", tt.src, argsJSON(c), tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseCall(%q) error %q, want it to contain %q", tt.src, err, tt.want)
			}
		})
	}
}

// pyLiteral renders a decoded JSON value as a Python literal, for the
// round-trip property of the fuzz target.
func pyLiteral(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case json.Number:
		return string(x)
	case string:
		var b strings.Builder
		b.WriteByte('"')
		for _, r := range x {
			switch {
			case r == '"' || r == '\\':
				b.WriteString(`\` + string(r))
			case r < 0x20 || r == 0x7f:
				fmt.Fprintf(&b, `\x%02x`, r)
			default:
				b.WriteRune(r)
			}
		}
		b.WriteByte('"')
		return b.String()
	case []any:
		var ps []string
		for _, e := range x {
			ps = append(ps, pyLiteral(e))
		}
		return "[" + strings.Join(ps, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var ps []string
		for _, k := range keys {
			ps = append(ps, strconv.Quote(k)+": "+pyLiteral(x[k]))
		}
		return "{" + strings.Join(ps, ", ") + "}"
	}
	panic(fmt.Sprintf("unexpected %T", v))
}

func decodeJSON(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("parser produced invalid JSON %q: %v", b, err)
	}
	return v
}

// FuzzParseCall checks that the parser never panics, that every value it
// returns is valid JSON, and that rendering the parsed call back to Python
// and parsing it again gives the same JSON.
func FuzzParseCall(f *testing.F) {
	for _, s := range []string{
		`f(city="Paris", year=2020)`,
		`f(a='it\'s', b=[1, -2.5, None], c={'k': (True, False)})`,
		`landmark_info(name="Tokyo Tower")`,
		`book_author_lookup(title="红楼梦")`,
		`f(s="\u674e\U0001F600\x41\101\n", r=r'\d+', t='''x''')`,
		`print(tools.f(1, 'km', to=0x1F, n=1_000, e=1e-3))`,
		`f(a={1: [], "b": {}},)`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		c, err := ParseCall(src)
		if err != nil {
			return
		}
		var parts []string
		for _, p := range c.Positional {
			parts = append(parts, pyLiteral(decodeJSON(t, p)))
		}
		for _, kw := range c.Keywords {
			parts = append(parts, kw.Name+"="+pyLiteral(decodeJSON(t, kw.Value)))
		}
		again := c.Func + "(" + strings.Join(parts, ", ") + ")"
		c2, err := ParseCall(again)
		if err != nil {
			t.Fatalf("re-parse of %q (from %q): %v", again, src, err)
		}
		if len(c2.Positional) != len(c.Positional) || len(c2.Keywords) != len(c.Keywords) {
			t.Fatalf("re-parse of %q changed the argument count", again)
		}
		for i := range c.Positional {
			if a, b := canonJSON(t, c.Positional[i]), canonJSON(t, c2.Positional[i]); a != b {
				t.Fatalf("positional %d: %s then %s", i, a, b)
			}
		}
		for i := range c.Keywords {
			if a, b := canonJSON(t, c.Keywords[i].Value), canonJSON(t, c2.Keywords[i].Value); a != b {
				t.Fatalf("keyword %s: %s then %s", c.Keywords[i].Name, a, b)
			}
		}
	})
}

func canonJSON(t *testing.T, b []byte) string {
	out, err := json.Marshal(decodeJSON(t, b))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
