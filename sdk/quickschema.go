package sdk

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/terrarium-rl/terrarium/internal/abijson"
)

// quickSchema is a fast, conservative check of the common kind of argument
// schema (types, string enums, lengths, properties, required, items). It
// only answers "certainly valid": anything else, and every schema that uses
// other keywords, goes to the compiled JSON Schema validator, which alone
// writes error messages. So it changes no outcome, only skips the general
// validator (slow and allocating in WebAssembly) for good calls.
type quickSchema struct {
	types     []string // allowed JSON types; empty allows any
	enum      []string // allowed values, all strings; nil: no enum
	minLength int
	maxLength int // -1: none
	props     map[string]*quickSchema
	required  []string
	items     *quickSchema
}

// compileQuick makes the quick check of a schema document (as decoded by
// jsonschema.UnmarshalJSON), or returns nil when the schema uses anything
// it does not handle.
func compileQuick(doc any) *quickSchema {
	m, ok := doc.(map[string]any)
	if !ok {
		return nil
	}
	q := &quickSchema{maxLength: -1}
	for k, v := range m {
		switch k {
		case "description", "title", "default", "examples", "$comment", "deprecated", "readOnly", "writeOnly":
			// annotations
		case "type":
			switch t := v.(type) {
			case string:
				q.types = []string{t}
			case []any:
				for _, e := range t {
					s, ok := e.(string)
					if !ok {
						return nil
					}
					q.types = append(q.types, s)
				}
			default:
				return nil
			}
			for _, t := range q.types {
				switch t {
				case "object", "array", "string", "number", "integer", "boolean", "null":
				default:
					return nil
				}
			}
		case "enum":
			a, ok := v.([]any)
			if !ok {
				return nil
			}
			q.enum = make([]string, 0, len(a))
			for _, e := range a {
				s, ok := e.(string)
				if !ok {
					return nil
				}
				q.enum = append(q.enum, s)
			}
		case "minLength", "maxLength":
			n, ok := v.(json.Number)
			if !ok {
				return nil
			}
			i, err := strconv.Atoi(string(n))
			if err != nil || i < 0 {
				return nil
			}
			if k == "minLength" {
				q.minLength = i
			} else {
				q.maxLength = i
			}
		case "properties":
			p, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			q.props = make(map[string]*quickSchema, len(p))
			for name, ps := range p {
				if q.props[name] = compileQuick(ps); q.props[name] == nil {
					return nil
				}
			}
		case "required":
			a, ok := v.([]any)
			if !ok {
				return nil
			}
			for _, e := range a {
				s, ok := e.(string)
				if !ok {
					return nil
				}
				q.required = append(q.required, s)
			}
		case "items":
			if q.items = compileQuick(v); q.items == nil {
				return nil
			}
		default:
			return nil
		}
	}
	return q
}

// anySchema accepts every value; it checks syntax only.
var anySchema = &quickSchema{maxLength: -1}

// validJSON reports whether s is valid JSON whose value certainly
// satisfies the schema, reading s without decoding it. false means "ask
// the validator", which then gets to decode s; true is final.
func (q *quickSchema) validJSON(s string) bool {
	d := abijson.NewScanner(s)
	return q.scan(&d, 0) && d.End()
}

// scan reads one value and reports whether it certainly satisfies q. Of a
// key given twice, every value must satisfy it (encoding/json keeps the
// last).
func (q *quickSchema) scan(d *abijson.Scanner, depth int) bool {
	if depth >= abijson.MaxDepth {
		return false
	}
	switch c := d.Peek(); {
	case c == '"':
		v, ok := d.Str()
		if !ok || !q.typeOK("string", false) {
			return false
		}
		if q.enum != nil && !slices.Contains(q.enum, v) {
			return false
		}
		if q.minLength > 0 || q.maxLength >= 0 {
			n := utf8.RuneCountInString(v)
			if n < q.minLength || q.maxLength >= 0 && n > q.maxLength {
				return false
			}
		}
		return true
	case q.enum != nil:
		return false // the enum holds strings only
	case c == '{':
		if !q.typeOK("object", false) || len(q.required) > 64 {
			return false
		}
		d.Advance()
		var seen uint64
		if !d.Consume('}') {
			for {
				k, ok := d.Str()
				if !ok || !d.Consume(':') {
					return false
				}
				if i := slices.Index(q.required, k); i >= 0 {
					seen |= 1 << i
				}
				p := anySchema
				if sub := q.props[k]; sub != nil {
					p = sub
				}
				if !p.scan(d, depth+1) {
					return false
				}
				if d.Consume('}') {
					break
				}
				if !d.Consume(',') {
					return false
				}
			}
		}
		// A required key listed twice sets one bit twice.
		for i, r := range q.required {
			if seen&(1<<i) == 0 && !slices.Contains(q.required[:i], r) {
				return false
			}
		}
		return true
	case c == '[':
		if !q.typeOK("array", false) {
			return false
		}
		d.Advance()
		if d.Consume(']') {
			return true
		}
		p := anySchema
		if q.items != nil {
			p = q.items
		}
		for {
			if !p.scan(d, depth+1) {
				return false
			}
			if d.Consume(']') {
				return true
			}
			if !d.Consume(',') {
				return false
			}
		}
	case c == '-' || '0' <= c && c <= '9':
		n, ok := d.Number()
		return ok && q.typeOK("number", !strings.ContainsAny(n, ".eE"))
	case c == 't':
		return d.Literal("true") && q.typeOK("boolean", false)
	case c == 'f':
		return d.Literal("false") && q.typeOK("boolean", false)
	case c == 'n':
		return d.Literal("null") && q.typeOK("null", false)
	}
	return false
}

// typeOK reports whether a value of JSON type t (an integer literal when
// isInt) certainly has one of q's types. A number with a fraction or an
// exponent is not taken for an integer here: the validator decides.
func (q *quickSchema) typeOK(t string, isInt bool) bool {
	if len(q.types) == 0 {
		return true
	}
	for _, u := range q.types {
		if u == t || u == "integer" && t == "number" && isInt {
			return true
		}
	}
	return false
}
