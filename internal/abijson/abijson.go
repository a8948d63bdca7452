// Package abijson encodes and decodes the ABI's JSON (package abi) by hand,
// on the hot path of every step: in the guest (package sdk), where
// encoding/json's reflection and allocations are slow in WebAssembly, and
// in the host (package runtime). The decoders accept only the common
// shapes of well-formed input and report false for anything else (an
// escape they do not handle, a duplicate or unknown key, null, invalid
// input...), whereupon the caller runs encoding/json as before: results,
// errors and messages are encoding/json's in every case. The encoders
// write exactly what json.Marshal writes. The tests check both against
// encoding/json, with fuzzing.
package abijson

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/terrarium-rl/terrarium/abi"
)

// MaxDepth bounds the nesting that DecodeValue handles itself; deeper
// values go to encoding/json (which fails beyond 10000).
const MaxDepth = 100

// Scanner walks JSON text held in a string.
type Scanner struct {
	s string
	i int
}

// NewScanner returns a Scanner reading s.
func NewScanner(s string) Scanner { return Scanner{s: s} }

// Advance skips one byte (one Peek returned).
func (d *Scanner) Advance() { d.i++ }

func (d *Scanner) skipSpace() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// Peek returns the next byte after white space, or 0 at the end.
func (d *Scanner) Peek() byte {
	d.skipSpace()
	if d.i < len(d.s) {
		return d.s[d.i]
	}
	return 0
}

// Consume skips white space and the byte c, reporting whether it was there.
func (d *Scanner) Consume(c byte) bool {
	if d.Peek() == c {
		d.i++
		return true
	}
	return false
}

// Str reads a string literal (after white space) as encoding/json decodes
// it. It reports false for escaped surrogates and invalid UTF-8, which
// encoding/json replaces, and for anything that is not a valid string.
// A string without escapes is returned as a substring of d.s.
func (d *Scanner) Str() (string, bool) {
	if !d.Consume('"') {
		return "", false
	}
	start := d.i
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			s := d.s[start:d.i]
			d.i++
			return s, true
		case c == '\\':
			return d.unescape(start)
		case c < ' ':
			return "", false
		case c < utf8.RuneSelf:
			d.i++
		default:
			r, size := utf8.DecodeRuneInString(d.s[d.i:])
			if r == utf8.RuneError && size == 1 {
				return "", false
			}
			d.i += size
		}
	}
	return "", false
}

// unescape continues str at the first backslash, the string having begun
// at start.
func (d *Scanner) unescape(start int) (string, bool) {
	// The string ends at the first quote not escaped; unescaping never
	// lengthens it, and a Builder hands its bytes over uncopied.
	end := d.i
	for end < len(d.s) && d.s[end] != '"' {
		if d.s[end] == '\\' {
			end++
		}
		end++
	}
	var b strings.Builder
	b.Grow(min(end, len(d.s)) - start)
	b.WriteString(d.s[start:d.i])
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			d.i++
			return b.String(), true
		case c == '\\':
			if d.i+1 >= len(d.s) {
				return "", false
			}
			e := d.s[d.i+1]
			d.i += 2
			switch e {
			case '"', '\\', '/':
				b.WriteByte(e)
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				r, ok := hex4(d.s[d.i:])
				if !ok || r >= 0xd800 && r < 0xe000 {
					return "", false // surrogates: encoding/json pairs or replaces them
				}
				d.i += 4
				b.WriteRune(r)
			default:
				return "", false
			}
		case c < ' ':
			return "", false
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			d.i++
		default:
			r, size := utf8.DecodeRuneInString(d.s[d.i:])
			if r == utf8.RuneError && size == 1 {
				return "", false
			}
			b.WriteString(d.s[d.i : d.i+size])
			d.i += size
		}
	}
	return "", false
}

func hex4(s string) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[:4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// Number reads a number literal (after white space) and returns its text.
func (d *Scanner) Number() (string, bool) {
	d.skipSpace()
	start := d.i
	if d.i < len(d.s) && d.s[d.i] == '-' {
		d.i++
	}
	switch {
	case d.i < len(d.s) && d.s[d.i] == '0':
		d.i++
	case d.i < len(d.s) && '1' <= d.s[d.i] && d.s[d.i] <= '9':
		d.digits()
	default:
		return "", false
	}
	if d.i < len(d.s) && d.s[d.i] == '.' {
		d.i++
		if !d.digits() {
			return "", false
		}
	}
	if d.i < len(d.s) && (d.s[d.i] == 'e' || d.s[d.i] == 'E') {
		d.i++
		if d.i < len(d.s) && (d.s[d.i] == '+' || d.s[d.i] == '-') {
			d.i++
		}
		if !d.digits() {
			return "", false
		}
	}
	return d.s[start:d.i], true
}

// digits skips one or more digits, reporting false if there were none.
func (d *Scanner) digits() bool {
	start := d.i
	for d.i < len(d.s) && '0' <= d.s[d.i] && d.s[d.i] <= '9' {
		d.i++
	}
	return d.i > start
}

// Literal skips the word w (true, false, null) after white space.
func (d *Scanner) Literal(w string) bool {
	d.skipSpace()
	if len(d.s)-d.i >= len(w) && d.s[d.i:d.i+len(w)] == w {
		d.i += len(w)
		return true
	}
	return false
}

// End reports whether only white space is left.
func (d *Scanner) End() bool {
	d.skipSpace()
	return d.i == len(d.s)
}

// DecodeValue decodes a JSON value as jsonschema.UnmarshalJSON does
// (encoding/json into an any, numbers as json.Number, nothing but white
// space after the value), or reports false.
func DecodeValue(s string) (any, bool) {
	d := Scanner{s: s}
	v, ok := d.value(0)
	if !ok || !d.End() {
		return nil, false
	}
	return v, true
}

func (d *Scanner) value(depth int) (any, bool) {
	switch c := d.Peek(); {
	case c == '"':
		return d.Str()
	case c == '{':
		if depth >= MaxDepth {
			return nil, false
		}
		d.i++
		m := map[string]any{}
		if d.Consume('}') {
			return m, true
		}
		for {
			k, ok := d.Str()
			if !ok || !d.Consume(':') {
				return nil, false
			}
			v, ok := d.value(depth + 1)
			if !ok {
				return nil, false
			}
			m[k] = v // the last of duplicate keys wins, as in encoding/json
			if d.Consume('}') {
				return m, true
			}
			if !d.Consume(',') {
				return nil, false
			}
		}
	case c == '[':
		if depth >= MaxDepth {
			return nil, false
		}
		d.i++
		a := make([]any, 0)
		if d.Consume(']') {
			return a, true
		}
		for {
			v, ok := d.value(depth + 1)
			if !ok {
				return nil, false
			}
			a = append(a, v)
			if d.Consume(']') {
				return a, true
			}
			if !d.Consume(',') {
				return nil, false
			}
		}
	case c == '-' || '0' <= c && c <= '9':
		n, ok := d.Number()
		return json.Number(n), ok
	case c == 't':
		return true, d.Literal("true")
	case c == 'f':
		return false, d.Literal("false")
	case c == 'n':
		return nil, d.Literal("null")
	}
	return nil, false
}

// DecodeMessage decodes a message (an action, an oracle's reply) as
// json.Unmarshal into an abi.Message does, or reports false. Beyond invalid
// JSON it leaves to encoding/json what would make their results hard to
// compare: keys other than the message's and tool call's own
// (encoding/json also matches them case-insensitively), a key given twice,
// null and other non-string values.
func DecodeMessage(body []byte) (abi.Message, bool) {
	// The message's strings are copied out (string(...), unescape) before
	// body, a request buffer, is reused.
	d := Scanner{s: string(body)}
	var m abi.Message
	if !d.message(&m) || !d.End() {
		return abi.Message{}, false
	}
	return m, true
}

// message reads one message object into m.
func (d *Scanner) message(m *abi.Message) bool {
	var seen [5]bool
	once := func(i int) bool {
		first := !seen[i]
		seen[i] = true
		return first
	}
	return d.Object(func(key string) bool {
		switch key {
		case "role":
			return once(0) && d.StrInto(&m.Role)
		case "content":
			return once(1) && d.StrInto(&m.Content)
		case "name":
			return once(2) && d.StrInto(&m.Name)
		case "tool_call_id":
			return once(3) && d.StrInto(&m.ToolCallID)
		case "tool_calls":
			if !once(4) {
				return false
			}
			calls, ok := d.toolCalls()
			m.ToolCalls = calls
			return ok
		}
		return false
	})
}

// DecodeStepResult decodes a step's reply as json.Unmarshal into an
// abi.StepResult does, or reports false (as DecodeMessage).
func DecodeStepResult(body []byte) (abi.StepResult, bool) {
	d := Scanner{s: string(body)}
	var res abi.StepResult
	var seen [2]bool
	ok := d.Object(func(key string) bool {
		switch key {
		case "messages":
			if seen[0] || !d.Consume('[') {
				return false
			}
			seen[0] = true
			res.Messages = make([]abi.Message, 0, 1)
			if d.Consume(']') {
				return true
			}
			for {
				res.Messages = append(res.Messages, abi.Message{})
				if !d.message(&res.Messages[len(res.Messages)-1]) {
					return false
				}
				if d.Consume(']') {
					return true
				}
				if !d.Consume(',') {
					return false
				}
			}
		case "done":
			if seen[1] {
				return false
			}
			seen[1] = true
			switch d.Peek() {
			case 't':
				res.Done = true
				return d.Literal("true")
			case 'f':
				return d.Literal("false")
			}
		}
		return false
	})
	if !ok || !d.End() {
		return abi.StepResult{}, false
	}
	return res, true
}

// StrInto reads a string into f.
func (d *Scanner) StrInto(f *string) bool {
	s, ok := d.Str()
	*f = s
	return ok
}

// Object reads an object, calling field with each key; field reads the
// value.
func (d *Scanner) Object(field func(key string) bool) bool {
	if !d.Consume('{') {
		return false
	}
	if d.Consume('}') {
		return true
	}
	for {
		k, ok := d.Str()
		if !ok || !d.Consume(':') || !field(k) {
			return false
		}
		if d.Consume('}') {
			return true
		}
		if !d.Consume(',') {
			return false
		}
	}
}

func (d *Scanner) toolCalls() ([]abi.ToolCall, bool) {
	if !d.Consume('[') {
		return nil, false
	}
	calls := make([]abi.ToolCall, 0, 1)
	if d.Consume(']') {
		return calls, true
	}
	for {
		var c abi.ToolCall
		var seen [3]bool
		ok := d.Object(func(key string) bool {
			switch key {
			case "id":
				if seen[0] {
					return false
				}
				seen[0] = true
				return d.StrInto(&c.ID)
			case "type":
				if seen[1] {
					return false
				}
				seen[1] = true
				return d.StrInto(&c.Type)
			case "function":
				if seen[2] {
					return false
				}
				seen[2] = true
				var fs [2]bool
				return d.Object(func(key string) bool {
					switch key {
					case "name":
						if fs[0] {
							return false
						}
						fs[0] = true
						return d.StrInto(&c.Function.Name)
					case "arguments":
						if fs[1] {
							return false
						}
						fs[1] = true
						return d.StrInto(&c.Function.Arguments)
					}
					return false
				})
			}
			return false
		})
		if !ok {
			return nil, false
		}
		calls = append(calls, c)
		if d.Consume(']') {
			return calls, true
		}
		if !d.Consume(',') {
			return nil, false
		}
	}
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string exactly as encoding/json encodes
// it with HTML escaping off.
func AppendString(dst []byte, s string) []byte { return appendString(dst, s, false) }

// appendString appends s as encoding/json does, escaping <, > and & when
// html is set (json.Marshal's default).
func appendString(dst []byte, s string, html bool) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= ' ' && b != '"' && b != '\\' && !(html && (b == '<' || b == '>' || b == '&')) {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// EncodeStepResult encodes res as json.Marshal does. Tool calls in its messages
// (which steps do not return) are left to encoding/json.
func EncodeStepResult(res *abi.StepResult) ([]byte, bool) {
	if res.Messages == nil {
		return nil, false
	}
	n := 24
	for i := range res.Messages {
		m := &res.Messages[i]
		if len(m.ToolCalls) > 0 {
			return nil, false
		}
		n += 64 + len(m.Role) + len(m.Content) + len(m.Name) + len(m.ToolCallID)
	}
	b := make([]byte, 0, n+n/8)
	b = append(b, `{"messages":[`...)
	for i := range res.Messages {
		m := &res.Messages[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"role":`...)
		b = AppendString(b, m.Role)
		b = append(b, `,"content":`...)
		b = AppendString(b, m.Content)
		if m.Name != "" {
			b = append(b, `,"name":`...)
			b = AppendString(b, m.Name)
		}
		if m.ToolCallID != "" {
			b = append(b, `,"tool_call_id":`...)
			b = AppendString(b, m.ToolCallID)
		}
		b = append(b, '}')
	}
	b = append(b, `],"done":`...)
	if res.Done {
		b = append(b, "true}"...)
	} else {
		b = append(b, "false}"...)
	}
	return b, true
}

// AppendMessage appends m encoded exactly as json.Marshal encodes it (HTML
// characters escaped, empty optional fields left out).
func AppendMessage(dst []byte, m *abi.Message) []byte {
	dst = append(dst, `{"role":`...)
	dst = appendString(dst, m.Role, true)
	dst = append(dst, `,"content":`...)
	dst = appendString(dst, m.Content, true)
	if m.Name != "" {
		dst = append(dst, `,"name":`...)
		dst = appendString(dst, m.Name, true)
	}
	if len(m.ToolCalls) > 0 {
		dst = append(dst, `,"tool_calls":[`...)
		for i := range m.ToolCalls {
			c := &m.ToolCalls[i]
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"id":`...)
			dst = appendString(dst, c.ID, true)
			dst = append(dst, `,"type":`...)
			dst = appendString(dst, c.Type, true)
			dst = append(dst, `,"function":{"name":`...)
			dst = appendString(dst, c.Function.Name, true)
			dst = append(dst, `,"arguments":`...)
			dst = appendString(dst, c.Function.Arguments, true)
			dst = append(dst, "}}"...)
		}
		dst = append(dst, ']')
	}
	if m.ToolCallID != "" {
		dst = append(dst, `,"tool_call_id":`...)
		dst = appendString(dst, m.ToolCallID, true)
	}
	return append(dst, '}')
}

// Marshal encodes v with encoding/json, HTML escaping off (so that tool
// output reaches the agent, and a task file, as written) and without the
// encoder's trailing newline: how the SDK encodes replies and the ASTRA
// import encodes tasks.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
