package astra

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/terrarium-rl/terrarium/internal/astra/task"
)

// Call is a parsed Python call statement, such as
// `chemical_property_lookup(compound="ethanol", year=2020)`. Argument values
// are rendered as JSON (see ParseCall).
type Call struct {
	// Func is the called name; for a dotted name (tools.f) its last part.
	Func string
	// Positional holds positional arguments in order.
	Positional []json.RawMessage
	// Keywords holds keyword arguments in the statement's order.
	Keywords []Keyword
}

// Keyword is one keyword argument.
type Keyword struct {
	Name  string
	Value json.RawMessage
}

// maxDepth bounds the nesting of literals, so that hostile input cannot
// exhaust the stack.
const maxDepth = 100

// ParseCall parses one Python call expression, as found in an ASTRA record's
// tool_call_statement. It accepts
//
//   - a plain or dotted function name, optionally assigned (`r = f(...)`) or
//     wrapped in print (`print(f(...))`), and a trailing ';' or comment;
//   - keyword and positional arguments whose values are literals: str
//     (single, double or triple quotes; r and u prefixes; adjacent literals
//     concatenated; the escapes \n \t \r \a \b \f \v \\ \' \" \ooo \xhh
//     \uXXXX \UXXXXXXXX and backslash-newline), int (decimal, 0x, 0o, 0b,
//     underscores, any size), float, True, False, None, unary minus and
//     plus on numbers, lists, tuples (as lists) and dicts with str or int
//     keys (int keys become strings, a repeated key keeps its last value).
//
// Values become JSON: str -> string, int and float -> number (a float keeps
// a fraction or exponent: 2.0 stays 2.0), True/False -> true/false,
// None -> null, list and tuple -> array, dict -> object. Anything else
// (names, calls, comprehensions, bytes, f-strings, sets, inf/nan) is an
// error naming the offset where it was found.
func ParseCall(src string) (*Call, error) {
	p := &parser{src: src}
	c, err := p.statement()
	if err != nil {
		return nil, fmt.Errorf("parse call: %w", err)
	}
	return c, nil
}

type parser struct {
	src   string
	pos   int
	depth int
}

type syntaxError struct {
	pos int
	msg string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("offset %d: %s", e.pos, e.msg) }

func (p *parser) errf(format string, args ...any) error {
	return &syntaxError{pos: p.pos, msg: fmt.Sprintf(format, args...)}
}

func (p *parser) eof() bool { return p.pos >= len(p.src) }

func (p *parser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.src[p.pos]
}

// space skips white space, comments and line continuations. Newlines are
// skipped too: statements are single expressions, so a newline can only
// appear inside brackets or at the end.
func (p *parser) space() {
	for !p.eof() {
		switch c := p.src[p.pos]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			p.pos++
		case c == '\\' && strings.HasPrefix(p.src[p.pos+1:], "\n"):
			p.pos += 2
		case c == '\\' && strings.HasPrefix(p.src[p.pos+1:], "\r\n"):
			p.pos += 3
		case c == '#':
			for !p.eof() && p.src[p.pos] != '\n' {
				p.pos++
			}
		default:
			return
		}
	}
}

func (p *parser) expect(c byte) error {
	p.space()
	if p.peek() != c {
		return p.errf("expected %q, found %s", c, p.found())
	}
	p.pos++
	return nil
}

func (p *parser) found() string {
	if p.eof() {
		return "end of input"
	}
	r, _ := utf8.DecodeRuneInString(p.src[p.pos:])
	return strconv.QuoteRune(r)
}

// ident reads a Python identifier (Unicode letters, digits, underscore).
func (p *parser) ident() string {
	start := p.pos
	for !p.eof() {
		r, n := utf8.DecodeRuneInString(p.src[p.pos:])
		if r == '_' || unicode.IsLetter(r) || (p.pos > start && unicode.IsDigit(r)) {
			p.pos += n
			continue
		}
		break
	}
	return p.src[start:p.pos]
}

func (p *parser) statement() (*Call, error) {
	p.space()
	save := p.pos
	// An assignment target: `name =` (not `==`).
	if id := p.ident(); id != "" {
		p.space()
		if p.peek() == '=' && !strings.HasPrefix(p.src[p.pos:], "==") {
			p.pos++
		} else {
			p.pos = save
		}
	}
	p.space()
	c, err := p.call()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.peek() == ';' {
		p.pos++
		p.space()
	}
	if !p.eof() {
		return nil, p.errf("unexpected %s after the call", p.found())
	}
	return c, nil
}

func (p *parser) dottedName() (string, error) {
	name := p.ident()
	if name == "" {
		return "", p.errf("expected a function name, found %s", p.found())
	}
	for {
		save := p.pos
		p.space()
		if p.peek() != '.' {
			p.pos = save
			return name, nil
		}
		p.pos++
		p.space()
		if name = p.ident(); name == "" {
			return "", p.errf("expected a name after '.', found %s", p.found())
		}
	}
}

func (p *parser) call() (*Call, error) {
	name, err := p.dottedName()
	if err != nil {
		return nil, err
	}
	if err := p.expect('('); err != nil {
		return nil, err
	}
	if name == "print" {
		// print(f(...)): the call ASTRA's sandbox ran, printed.
		p.space()
		save := p.pos
		if p.ident() != "" {
			p.space()
			for p.peek() == '.' {
				p.pos++
				p.space()
				p.ident()
				p.space()
			}
			if p.peek() == '(' {
				p.pos = save
				inner, err := p.call()
				if err != nil {
					return nil, err
				}
				p.space()
				if p.peek() == ',' {
					p.pos++
				}
				if err := p.expect(')'); err != nil {
					return nil, err
				}
				return inner, nil
			}
		}
		p.pos = save
	}
	c := &Call{Func: name}
	seen := map[string]bool{}
	for {
		p.space()
		if p.peek() == ')' {
			p.pos++
			return c, nil
		}
		if p.peek() == '*' {
			return nil, p.errf("argument unpacking (* or **) is not supported")
		}
		save := p.pos
		kw := p.ident()
		if kw != "" {
			p.space()
			if p.peek() == '=' && !strings.HasPrefix(p.src[p.pos:], "==") {
				p.pos++
			} else {
				kw, p.pos = "", save
			}
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		switch {
		case kw == "" && len(c.Keywords) > 0:
			return nil, p.errf("positional argument after keyword argument")
		case kw == "":
			c.Positional = append(c.Positional, v)
		case seen[kw]:
			return nil, p.errf("keyword argument %q repeated", kw)
		default:
			seen[kw] = true
			c.Keywords = append(c.Keywords, Keyword{Name: kw, Value: v})
		}
		p.space()
		switch p.peek() {
		case ',':
			p.pos++
		case ')':
		default:
			return nil, p.errf("expected ',' or ')' after an argument, found %s", p.found())
		}
	}
}

// value parses a literal and returns it as JSON.
func (p *parser) value() (json.RawMessage, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, p.errf("literal nested deeper than %d", maxDepth)
	}
	p.space()
	if p.eof() {
		return nil, p.errf("expected a value, found end of input")
	}
	c := p.src[p.pos]
	switch {
	case c == '-' || c == '+':
		p.pos++
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		if !isNumber(v) {
			return nil, p.errf("unary %q applies to numbers only", c)
		}
		if c == '+' {
			return v, nil
		}
		if v[0] == '-' {
			return v[1:], nil
		}
		return append(json.RawMessage("-"), v...), nil
	case c >= '0' && c <= '9' || c == '.' && p.pos+1 < len(p.src) && isDigit(p.src[p.pos+1]):
		return p.number()
	case c == '[':
		p.pos++
		return p.sequence(']')
	case c == '(':
		p.pos++
		return p.sequence(')')
	case c == '{':
		p.pos++
		return p.dict()
	case c == '"' || c == '\'':
		return p.strings()
	}
	save := p.pos
	id := p.ident()
	if p.peek() == '"' || p.peek() == '\'' {
		if len(id) <= 2 && strings.Trim(strings.ToLower(id), "rubf") == "" {
			p.pos = save
			return p.strings()
		}
	}
	switch id {
	case "True":
		return json.RawMessage("true"), nil
	case "False":
		return json.RawMessage("false"), nil
	case "None":
		return json.RawMessage("null"), nil
	case "":
		return nil, p.errf("expected a value, found %s", p.found())
	}
	p.pos = save
	return nil, p.errf("%q is not a literal (names, calls and expressions are not supported)", id)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isNumber(v json.RawMessage) bool {
	return len(v) > 0 && (v[0] == '-' || isDigit(v[0]))
}

// sequence parses the rest of a list or tuple. A parenthesized single value
// without a comma is that value, as in Python.
func (p *parser) sequence(end byte) (json.RawMessage, error) {
	var items []json.RawMessage
	comma := false
	for {
		p.space()
		if p.peek() == end {
			p.pos++
			break
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		items = append(items, v)
		p.space()
		switch p.peek() {
		case ',':
			p.pos++
			comma = true
			continue
		case end:
			continue
		}
		return nil, p.errf("expected ',' or %q in a sequence, found %s", end, p.found())
	}
	if end == ')' && len(items) == 1 && !comma {
		return items[0], nil
	}
	var b bytes.Buffer
	b.WriteByte('[')
	for i, v := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(v)
	}
	b.WriteByte(']')
	return b.Bytes(), nil
}

func (p *parser) dict() (json.RawMessage, error) {
	type entry struct{ k, v json.RawMessage }
	var entries []entry
	index := map[string]int{}
	for {
		p.space()
		if p.peek() == '}' {
			p.pos++
			break
		}
		k, err := p.value()
		if err != nil {
			return nil, err
		}
		switch {
		case isNumber(k):
			if bytes.ContainsAny(k, ".eE") {
				return nil, p.errf("float dict keys are not supported")
			}
			k, _ = task.Marshal(string(k))
		case len(k) > 0 && k[0] == '"':
		default:
			return nil, p.errf("dict keys must be str or int")
		}
		if err := p.expect(':'); err != nil {
			if len(entries) == 0 {
				return nil, p.errf("set literals are not supported (expected ':' in a dict)")
			}
			return nil, err
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		if i, dup := index[string(k)]; dup {
			entries[i].v = v // Python keeps the first position and the last value
		} else {
			index[string(k)] = len(entries)
			entries = append(entries, entry{k, v})
		}
		p.space()
		switch p.peek() {
		case ',':
			p.pos++
			continue
		case '}':
			continue
		}
		return nil, p.errf("expected ',' or '}' in a dict, found %s", p.found())
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range entries {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(e.k)
		b.WriteByte(':')
		b.Write(e.v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// number parses an int or float literal.
func (p *parser) number() (json.RawMessage, error) {
	start := p.pos
	s := p.src
	i := p.pos
	if s[i] == '0' && i+1 < len(s) && strings.ContainsRune("xXoObB", rune(s[i+1])) {
		i += 2
		for i < len(s) && (isHexDigit(s[i]) || s[i] == '_') {
			i++
		}
		lit := s[start:i]
		p.pos = i
		if i < len(s) && (s[i] == '.' || isIdentByte(s[i])) {
			return nil, p.errf("malformed number %q", s[start:i+1])
		}
		var n big.Int
		if _, ok := n.SetString(lit, 0); !ok {
			return nil, &syntaxError{start, fmt.Sprintf("malformed number %q", lit)}
		}
		return json.RawMessage(n.String()), nil
	}
	digits := func() {
		for i < len(s) && (isDigit(s[i]) || s[i] == '_' && i+1 < len(s) && isDigit(s[i+1]) && i > start && isDigit(s[i-1])) {
			i++
		}
	}
	digits()
	isFloat := false
	if i < len(s) && s[i] == '.' {
		isFloat = true
		i++
		if i < len(s) && isDigit(s[i]) {
			digits()
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && isDigit(s[j]) {
			isFloat = true
			i = j
			digits()
		}
	}
	lit := s[start:i]
	p.pos = i
	if i < len(s) && (isIdentByte(s[i]) || s[i] == '.') {
		return nil, p.errf("malformed number %q (complex numbers and suffixes are not supported)", s[start:i+1])
	}
	clean := strings.ReplaceAll(lit, "_", "")
	if !isFloat {
		if len(clean) > 1 && clean[0] == '0' && strings.Trim(clean, "0") != "" {
			return nil, &syntaxError{start, fmt.Sprintf("leading zeros in decimal integer %q", lit)}
		}
		var n big.Int
		if _, ok := n.SetString(clean, 10); !ok {
			return nil, &syntaxError{start, fmt.Sprintf("malformed number %q", lit)}
		}
		return json.RawMessage(n.String()), nil
	}
	f, err := strconv.ParseFloat(clean, 64)
	if err != nil || math.IsInf(f, 0) {
		return nil, &syntaxError{start, fmt.Sprintf("float %q out of range", lit)}
	}
	out := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(out, ".e") {
		out += ".0"
	}
	return json.RawMessage(out), nil
}

func isHexDigit(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// strings parses one or more adjacent string literals.
func (p *parser) strings() (json.RawMessage, error) {
	var sb strings.Builder
	for n := 0; ; n++ {
		p.space()
		save := p.pos
		prefix := strings.ToLower(p.ident())
		q := p.peek()
		if q != '"' && q != '\'' || len(prefix) > 2 || strings.Trim(prefix, "rubf") != "" {
			if n == 0 {
				return nil, p.errf("expected a string literal")
			}
			p.pos = save
			break
		}
		switch {
		case strings.ContainsRune(prefix, 'b'):
			return nil, &syntaxError{save, "bytes literals are not supported"}
		case strings.ContainsRune(prefix, 'f'):
			return nil, &syntaxError{save, "f-strings are not supported"}
		}
		if err := p.stringLit(&sb, strings.ContainsRune(prefix, 'r')); err != nil {
			return nil, err
		}
	}
	b, err := task.Marshal(sb.String())
	if err != nil {
		return nil, p.errf("%s", err)
	}
	return b, nil
}

func (p *parser) stringLit(sb *strings.Builder, raw bool) error {
	start := p.pos
	q := p.src[p.pos]
	quote := string(q)
	if strings.HasPrefix(p.src[p.pos:], strings.Repeat(quote, 3)) {
		quote = strings.Repeat(quote, 3)
	}
	p.pos += len(quote)
	var pendingHigh rune = -1 // a \uD800-\uDBFF escape waiting for its pair
	flush := func() {
		if pendingHigh >= 0 {
			sb.WriteRune(utf8.RuneError)
			pendingHigh = -1
		}
	}
	put := func(r rune) {
		if pendingHigh >= 0 {
			if r >= 0xDC00 && r <= 0xDFFF {
				sb.WriteRune(0x10000 + (pendingHigh-0xD800)<<10 + (r - 0xDC00))
				pendingHigh = -1
				return
			}
			sb.WriteRune(utf8.RuneError)
			pendingHigh = -1
		}
		switch {
		case r >= 0xD800 && r <= 0xDBFF:
			pendingHigh = r
		case r >= 0xDC00 && r <= 0xDFFF || r > unicode.MaxRune:
			sb.WriteRune(utf8.RuneError)
		default:
			sb.WriteRune(r)
		}
	}
	for {
		if p.eof() {
			return &syntaxError{start, "unterminated string literal"}
		}
		if strings.HasPrefix(p.src[p.pos:], quote) {
			p.pos += len(quote)
			flush()
			return nil
		}
		r, n := utf8.DecodeRuneInString(p.src[p.pos:])
		if r == '\n' && len(quote) == 1 {
			return &syntaxError{start, "unterminated string literal (newline inside quotes)"}
		}
		if r != '\\' {
			put(r)
			p.pos += n
			continue
		}
		p.pos++
		if p.eof() {
			return &syntaxError{start, "unterminated string literal"}
		}
		e, en := utf8.DecodeRuneInString(p.src[p.pos:])
		if raw {
			// In a raw string the backslash stays, and only stops the next
			// character from closing the literal.
			put('\\')
			put(e)
			p.pos += en
			continue
		}
		p.pos += en
		switch e {
		case '\n':
		case '\r':
			if p.peek() == '\n' {
				p.pos++
			}
		case '\\', '\'', '"':
			put(e)
		case 'a':
			put('\a')
		case 'b':
			put('\b')
		case 'f':
			put('\f')
		case 'n':
			put('\n')
		case 'r':
			put('\r')
		case 't':
			put('\t')
		case 'v':
			put('\v')
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := int(e - '0')
			for k := 0; k < 2 && !p.eof() && p.src[p.pos] >= '0' && p.src[p.pos] <= '7'; k++ {
				v = v*8 + int(p.src[p.pos]-'0')
				p.pos++
			}
			put(rune(v))
		case 'x', 'u', 'U':
			width := map[rune]int{'x': 2, 'u': 4, 'U': 8}[e]
			if p.pos+width > len(p.src) {
				return p.errf("truncated \\%c escape", e)
			}
			hex := p.src[p.pos : p.pos+width]
			v, err := strconv.ParseUint(hex, 16, 32)
			if err != nil || strings.ContainsAny(hex, "+-_") {
				return p.errf("malformed \\%c escape %q", e, hex)
			}
			p.pos += width
			put(rune(v))
		case 'N':
			return p.errf(`\N{...} escapes are not supported`)
		default:
			put('\\')
			put(e)
		}
	}
}
