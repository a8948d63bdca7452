package sdk

// Hand-written JSON for the step path. encoding/json's reflection and
// allocations are slow in WebAssembly, and a step decodes an action,
// decodes each call's arguments and encodes a reply. The decoders here
// accept only the common shapes of well-formed input and report false for
// anything else (an escape they do not handle, a duplicate or unknown key,
// null, invalid input...), whereupon the caller runs encoding/json as
// before: results, errors and messages are encoding/json's in every case.
// json_test.go checks them against encoding/json.

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/terrarium-rl/terrarium/abi"
)

// maxFastDepth bounds the nesting that decodeValue handles itself; deeper
// values go to encoding/json (which fails beyond 10000).
const maxFastDepth = 100

// jsonScanner walks JSON text held in a string.
type jsonScanner struct {
	s string
	i int
}

func (d *jsonScanner) skipSpace() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, or 0 at the end.
func (d *jsonScanner) peek() byte {
	d.skipSpace()
	if d.i < len(d.s) {
		return d.s[d.i]
	}
	return 0
}

// consume skips white space and the byte c, reporting whether it was there.
func (d *jsonScanner) consume(c byte) bool {
	if d.peek() == c {
		d.i++
		return true
	}
	return false
}

// str reads a string literal (after white space) as encoding/json decodes
// it. It reports false for escaped surrogates and invalid UTF-8, which
// encoding/json replaces, and for anything that is not a valid string.
// A string without escapes is returned as a substring of d.s.
func (d *jsonScanner) str() (string, bool) {
	if !d.consume('"') {
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
func (d *jsonScanner) unescape(start int) (string, bool) {
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

// number reads a number literal (after white space) and returns its text.
func (d *jsonScanner) number() (string, bool) {
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
func (d *jsonScanner) digits() bool {
	start := d.i
	for d.i < len(d.s) && '0' <= d.s[d.i] && d.s[d.i] <= '9' {
		d.i++
	}
	return d.i > start
}

// literal skips the word w (true, false, null) after white space.
func (d *jsonScanner) literal(w string) bool {
	d.skipSpace()
	if len(d.s)-d.i >= len(w) && d.s[d.i:d.i+len(w)] == w {
		d.i += len(w)
		return true
	}
	return false
}

// end reports whether only white space is left.
func (d *jsonScanner) end() bool {
	d.skipSpace()
	return d.i == len(d.s)
}

// decodeValue decodes a JSON value as jsonschema.UnmarshalJSON does
// (encoding/json into an any, numbers as json.Number, nothing but white
// space after the value), or reports false.
func decodeValue(s string) (any, bool) {
	d := jsonScanner{s: s}
	v, ok := d.value(0)
	if !ok || !d.end() {
		return nil, false
	}
	return v, true
}

func (d *jsonScanner) value(depth int) (any, bool) {
	switch c := d.peek(); {
	case c == '"':
		return d.str()
	case c == '{':
		if depth >= maxFastDepth {
			return nil, false
		}
		d.i++
		m := map[string]any{}
		if d.consume('}') {
			return m, true
		}
		for {
			k, ok := d.str()
			if !ok || !d.consume(':') {
				return nil, false
			}
			v, ok := d.value(depth + 1)
			if !ok {
				return nil, false
			}
			m[k] = v // the last of duplicate keys wins, as in encoding/json
			if d.consume('}') {
				return m, true
			}
			if !d.consume(',') {
				return nil, false
			}
		}
	case c == '[':
		if depth >= maxFastDepth {
			return nil, false
		}
		d.i++
		a := make([]any, 0)
		if d.consume(']') {
			return a, true
		}
		for {
			v, ok := d.value(depth + 1)
			if !ok {
				return nil, false
			}
			a = append(a, v)
			if d.consume(']') {
				return a, true
			}
			if !d.consume(',') {
				return nil, false
			}
		}
	case c == '-' || '0' <= c && c <= '9':
		n, ok := d.number()
		return json.Number(n), ok
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	}
	return nil, false
}

// decodeAction decodes an action as json.Unmarshal into an abi.Message
// does, or reports false. Beyond invalid JSON it leaves to encoding/json
// what would make their results hard to compare: keys other than the
// message's and tool call's own (encoding/json also matches them
// case-insensitively), a key given twice, null and other non-string values.
func decodeAction(body []byte) (abi.Message, bool) {
	// The action's strings are copied out (string(...), unescape) before
	// body, the guest's request buffer, is reused.
	d := jsonScanner{s: string(body)}
	var m abi.Message
	var seen [5]bool
	once := func(i int) bool {
		first := !seen[i]
		seen[i] = true
		return first
	}
	ok := d.object(func(key string) bool {
		switch key {
		case "role":
			return once(0) && d.strInto(&m.Role)
		case "content":
			return once(1) && d.strInto(&m.Content)
		case "name":
			return once(2) && d.strInto(&m.Name)
		case "tool_call_id":
			return once(3) && d.strInto(&m.ToolCallID)
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
	if !ok || !d.end() {
		return abi.Message{}, false
	}
	return m, true
}

// strInto reads a string into f.
func (d *jsonScanner) strInto(f *string) bool {
	s, ok := d.str()
	*f = s
	return ok
}

// object reads an object, calling field with each key; field reads the
// value.
func (d *jsonScanner) object(field func(key string) bool) bool {
	if !d.consume('{') {
		return false
	}
	if d.consume('}') {
		return true
	}
	for {
		k, ok := d.str()
		if !ok || !d.consume(':') || !field(k) {
			return false
		}
		if d.consume('}') {
			return true
		}
		if !d.consume(',') {
			return false
		}
	}
}

func (d *jsonScanner) toolCalls() ([]abi.ToolCall, bool) {
	if !d.consume('[') {
		return nil, false
	}
	calls := make([]abi.ToolCall, 0, 1)
	if d.consume(']') {
		return calls, true
	}
	for {
		var c abi.ToolCall
		var seen [3]bool
		ok := d.object(func(key string) bool {
			switch key {
			case "id":
				if seen[0] {
					return false
				}
				seen[0] = true
				return d.strInto(&c.ID)
			case "type":
				if seen[1] {
					return false
				}
				seen[1] = true
				return d.strInto(&c.Type)
			case "function":
				if seen[2] {
					return false
				}
				seen[2] = true
				var fs [2]bool
				return d.object(func(key string) bool {
					switch key {
					case "name":
						if fs[0] {
							return false
						}
						fs[0] = true
						return d.strInto(&c.Function.Name)
					case "arguments":
						if fs[1] {
							return false
						}
						fs[1] = true
						return d.strInto(&c.Function.Arguments)
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
		if d.consume(']') {
			return calls, true
		}
		if !d.consume(',') {
			return nil, false
		}
	}
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string exactly as encoding/json encodes
// it with HTML escaping off.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= ' ' && b != '"' && b != '\\' {
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

// encodeStepResult encodes res as marshal does. Tool calls in its messages
// (which steps do not return) are left to encoding/json.
func encodeStepResult(res *abi.StepResult) ([]byte, bool) {
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
		b = appendString(b, m.Role)
		b = append(b, `,"content":`...)
		b = appendString(b, m.Content)
		if m.Name != "" {
			b = append(b, `,"name":`...)
			b = appendString(b, m.Name)
		}
		if m.ToolCallID != "" {
			b = append(b, `,"tool_call_id":`...)
			b = appendString(b, m.ToolCallID)
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
