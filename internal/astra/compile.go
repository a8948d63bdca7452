// Package astra compiles ASTRA environment records (../shared/astra/FORMAT.md)
// into Terrarium tasks: `terrarium import astra RECORDS.jsonl -o DIR`.
// docs/astra.md documents the mapping, the matching rule, the reward and
// the distractors.
//
// The output is a pack (package pack) holding the data-driven runner
// envs/astra (embedded, see envs/astra/module) and the compiled task set
// (package task) as its configuration.
//
//	res, err := astra.Compile(ctx, f, astra.Options{Distractors: 3})
//	for _, s := range res.Skipped { fmt.Println(s) }
//	err = astra.WritePack(dir, res)
package astra

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/terrarium-rl/terrarium/internal/astra/task"
)

// Options configure an import. The zero value is usable.
type Options struct {
	// Name is the environment's and pack's name; default "astra".
	Name string
	// Version is the pack's semantic version; default "1.0.0".
	Version string
	// Description defaults to one naming the number of tasks.
	Description string
	// Mode is the reward mode; default task.ModeF1.
	Mode task.Mode
	// Distractors is the number of distractor tools added to each
	// episode (0: none).
	Distractors int
	// MaxTurns is the suggested turn limit; 0 means twice the deepest
	// task's number of levels plus two.
	MaxTurns int
	// Progress, when set, is called after every record.
	Progress func(Progress)
}

// Progress reports how far an import has read.
type Progress struct {
	Records int   // records read
	Tasks   int   // records compiled
	Skipped int   // records skipped
	Bytes   int64 // input bytes consumed
}

// Skip is a record that could not be compiled.
type Skip struct {
	Line   int    // line in the records file
	UUID   string // the record's uuid, when it could be read
	Reason string
}

func (s Skip) String() string {
	id := s.UUID
	if id == "" {
		id = "(no uuid)"
	}
	return fmt.Sprintf("line %d: %s: %s", s.Line, id, s.Reason)
}

// Result is a compiled import.
type Result struct {
	// Header is the task set's header (Count and Offsets are set when it
	// is written).
	Header task.Header
	Tasks  []*task.Task
	// Skipped lists the records that did not compile, in input order.
	Skipped []Skip
	// Records counts the records read.
	Records int
	// SourceSHA256 is the hex SHA-256 of the input.
	SourceSHA256 string
}

var (
	// ErrNoTasks is returned by Compile when no record compiled.
	ErrNoTasks = errors.New("no record compiled")
	// ErrRecordTooLarge is returned by Reader.Next for a line longer than
	// MaxRecordBytes; the reader skips it and can go on.
	ErrRecordTooLarge = errors.New("record longer than the limit")
	// ErrNotUTF8 is returned by Reader.Next for a line that is not valid
	// UTF-8; the reader can go on.
	ErrNotUTF8 = errors.New("not valid UTF-8")
)

// Compile reads records (JSON Lines) from r and compiles each into a task.
// A record that cannot be compiled is recorded in Result.Skipped with its
// reason and the import goes on; only reading errors, a canceled ctx and
// an input without a single good record (ErrNoTasks, returned with the
// Result) stop it.
func Compile(ctx context.Context, r io.Reader, opts Options) (*Result, error) {
	if !opts.Mode.Valid() {
		return nil, fmt.Errorf("compile: unknown reward mode %q (want f1, f1*final or final)", opts.Mode)
	}
	if opts.Distractors < 0 {
		return nil, fmt.Errorf("compile: negative distractor count %d", opts.Distractors)
	}
	h := sha256.New()
	rd := NewReader(io.TeeReader(r, h))
	res := &Result{}
	seen := map[string]int{}
	c := newCompiler()
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("compile: %w", err)
		}
		line, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, ErrRecordTooLarge) || errors.Is(err, ErrNotUTF8) {
				res.Records++
				res.Skipped = append(res.Skipped, Skip{Line: rd.Line(), Reason: strings.TrimPrefix(err.Error(), fmt.Sprintf("line %d: ", rd.Line()))})
				continue
			}
			return nil, fmt.Errorf("compile: %w", err)
		}
		res.Records++
		t, uuid, err := c.record(line)
		switch {
		case err != nil:
			res.Skipped = append(res.Skipped, Skip{Line: rd.Line(), UUID: uuid, Reason: err.Error()})
		case seen[uuid] > 0:
			res.Skipped = append(res.Skipped, Skip{Line: rd.Line(), UUID: uuid,
				Reason: fmt.Sprintf("duplicate uuid (first on line %d)", seen[uuid])})
		default:
			seen[uuid] = rd.Line()
			res.Tasks = append(res.Tasks, t)
		}
		if opts.Progress != nil {
			opts.Progress(Progress{Records: res.Records, Tasks: len(res.Tasks), Skipped: len(res.Skipped), Bytes: rd.Offset()})
		}
	}
	// Drain what the reader did not need, so the digest covers the input.
	if _, err := io.Copy(io.Discard, io.TeeReader(r, h)); err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	res.SourceSHA256 = hex.EncodeToString(h.Sum(nil))
	if opts.Distractors > 0 {
		addDistractors(res.Tasks, opts.Distractors)
	}
	res.Header = header(opts, res.Tasks)
	if len(res.Tasks) == 0 {
		return res, fmt.Errorf("compile: %w (%d records read, all skipped)", ErrNoTasks, res.Records)
	}
	return res, nil
}

func header(opts Options, tasks []*task.Task) task.Header {
	h := task.Header{Format: task.Format, Name: opts.Name, Version: opts.Version, Description: opts.Description,
		Mode: opts.Mode, Distractors: opts.Distractors, MaxTurns: opts.MaxTurns, Count: len(tasks)}
	if h.Name == "" {
		h.Name = "astra"
	}
	if h.Version == "" {
		h.Version = "1.0.0"
	}
	if h.Mode == "" {
		h.Mode = task.ModeF1
	}
	if h.Description == "" {
		h.Description = fmt.Sprintf("%d ASTRA tasks (imported records; reward %s)", len(tasks), h.Mode)
	}
	if h.MaxTurns == 0 {
		depth := 1
		for _, t := range tasks {
			depth = max(depth, len(task.Plan(t)))
		}
		h.MaxTurns = 2*depth + 2
	}
	return h
}

// WriteTaskSet writes the compiled tasks in the task set format.
func (res *Result) WriteTaskSet(w io.Writer) error {
	enc := make([][]byte, len(res.Tasks))
	for i, t := range res.Tasks {
		b, err := task.Marshal(t)
		if err != nil {
			return fmt.Errorf("write task set: task %s: %w", t.UUID, err)
		}
		enc[i] = b
	}
	return task.Encode(w, res.Header, enc)
}

// compiler holds what records of one import share: compiled schemas, since
// merged and repeated tools bring the same schema many times.
type compiler struct {
	schemas map[string]*jsonschema.Schema
}

func newCompiler() *compiler { return &compiler{schemas: map[string]*jsonschema.Schema{}} }

// record compiles one line. It returns the uuid whenever it could be read,
// for the skip report.
func (c *compiler) record(line []byte) (*task.Task, string, error) {
	var rec record
	if err := json.Unmarshal(line, &rec); err != nil {
		var uuid struct {
			UUID string `json:"uuid"`
		}
		if json.Unmarshal(line, &uuid) != nil {
			// Not even JSON: a uuid near the start still names the line.
			if m := uuidRE.FindSubmatch(line); m != nil {
				uuid.UUID = string(m[1])
			}
		}
		return nil, uuid.UUID, fmt.Errorf("not a record: %s", jsonErrorText(err))
	}
	t, err := c.compile(&rec)
	return t, rec.UUID, err
}

var uuidRE = regexp.MustCompile(`"uuid"\s*:\s*"([^"\\]{1,200})"`)

func jsonErrorText(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at byte %d: %s", se.Offset, se)
	}
	return err.Error()
}

// compile compiles one record into a task (docs/astra.md):
//
//   - tools are the distinct tool_documents of env_result, each once, in
//     the order sub-questions first use them; a name used with two
//     different parameter schemas is an error;
//   - each tool-backed sub-question (non-null env_result) contributes its
//     verified call: the parsed tool_call_statement and the recorded
//     tool_call_ans less the trailing newline print added. Its sub_answer
//     must occur in that output, as ASTRA's own check requires;
//   - sub-questions with a null env_result (tool_necessity false, or no
//     tool was synthesized) are kept for the record but need no call.
func (c *compiler) compile(rec *record) (*task.Task, error) {
	switch {
	case rec.UUID == "":
		return nil, errors.New("no uuid")
	case strings.TrimSpace(rec.MainQuestion) == "":
		return nil, errors.New("no main_question")
	case strings.TrimSpace(string(rec.FinalAnswer)) == "":
		return nil, errors.New("no final_answer")
	case len(rec.DecompositionTrace) == 0:
		return nil, errors.New("no decomposition_trace")
	}
	t := &task.Task{UUID: rec.UUID, Language: rec.Metadata.Language, Scenario: rec.ScenarioType,
		Question: rec.MainQuestion, FinalAnswer: string(rec.FinalAnswer), Tools: []task.Tool{}, Calls: []task.Call{}}
	levels, err := levels(rec.DecompositionTrace)
	if err != nil {
		return nil, err
	}
	toolIndex := map[string]int{}
	schemas := map[string]*jsonschema.Schema{}
	defaults := map[string]map[string]any{}
	callIndex := map[string]int{}
	for _, st := range rec.DecompositionTrace {
		id := int(st.UUID)
		sq := task.Sub{ID: id, Question: st.SubQuestion, Answer: string(st.SubAnswer), Level: levels[id], Call: -1}
		for _, d := range st.Dependency {
			sq.Deps = append(sq.Deps, int(d))
		}
		env := rec.EnvResult[strconv.Itoa(id)]
		if env == nil {
			t.Subs = append(t.Subs, sq)
			continue
		}
		fail := func(format string, args ...any) (*task.Task, error) {
			return nil, fmt.Errorf("sub-question %d: %s", id, fmt.Sprintf(format, args...))
		}
		if sq.Answer == "" {
			sq.Answer = string(env.Answer)
		}
		if strings.TrimSpace(sq.Answer) == "" {
			return fail("no sub_answer")
		}
		data := &env.EnvSynthesisResult.Data
		tool, err := toolFromDocument(data.ToolDocument)
		if err != nil {
			return fail("%s", err)
		}
		if i, ok := toolIndex[tool.Name]; ok {
			if !sameJSON(t.Tools[i].Parameters, tool.Parameters) {
				return fail("tool %q has a different parameter schema than in an earlier sub-question", tool.Name)
			}
		} else {
			s, err := c.schema(tool.Parameters)
			if err != nil {
				return fail("tool %q: %s", tool.Name, err)
			}
			d, err := task.Defaults(tool.Parameters)
			if err != nil {
				return fail("tool %q: %s", tool.Name, err)
			}
			toolIndex[tool.Name] = len(t.Tools)
			schemas[tool.Name], defaults[tool.Name] = s, d
			t.Tools = append(t.Tools, tool)
		}
		if strings.TrimSpace(data.ToolCallStatement) == "" {
			return fail("no tool_call_statement")
		}
		call, err := ParseCall(data.ToolCallStatement)
		if err != nil {
			return fail("unparsable tool_call_statement: %s", strings.TrimPrefix(err.Error(), "parse call: "))
		}
		if call.Func != tool.Name {
			return fail("tool_call_statement calls %q but the tool is %q", call.Func, tool.Name)
		}
		args, err := argumentsJSON(call, data.Code)
		if err != nil {
			return fail("%s", err)
		}
		if err := validateArgs(schemas[tool.Name], args); err != nil {
			return fail("verified call does not fit the tool's schema: %s", err)
		}
		if data.ToolCallAns == nil {
			return fail("no tool_call_ans")
		}
		answer := strings.TrimSuffix(*data.ToolCallAns, "\n")
		if !strings.Contains(answer, sq.Answer) {
			return fail("sub_answer %q does not occur in the tool's output %q", sq.Answer, clip(answer, 200))
		}
		key, err := task.Key(args, defaults[tool.Name])
		if err != nil {
			return fail("%s", err)
		}
		key = tool.Name + "\x00" + key
		if j, ok := callIndex[key]; ok {
			if t.Calls[j].Answer != answer {
				return fail("same call as an earlier sub-question but a different recorded output")
			}
			sq.Call = j
		} else {
			sq.Call = len(t.Calls)
			callIndex[key] = sq.Call
			t.Calls = append(t.Calls, task.Call{Tool: tool.Name, Arguments: args, Answer: answer})
		}
		t.Subs = append(t.Subs, sq)
	}
	if len(t.Calls) == 0 {
		return nil, errors.New("no tool-backed sub-question (every env_result is null)")
	}
	return t, nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// levels computes each sub-question's depth in the dependency graph.
func levels(steps []traceStep) (map[int]int, error) {
	deps := map[int][]int{}
	for _, st := range steps {
		id := int(st.UUID)
		if _, dup := deps[id]; dup {
			return nil, fmt.Errorf("decomposition_trace: _uuid %d repeated", id)
		}
		ds := []int{}
		for _, d := range st.Dependency {
			ds = append(ds, int(d))
		}
		deps[id] = ds
	}
	level := map[int]int{}
	const visiting = -1
	var visit func(id int) error
	visit = func(id int) error {
		switch level[id] {
		case visiting:
			return fmt.Errorf("decomposition_trace: dependency cycle through sub-question %d", id)
		case 0:
		default:
			return nil
		}
		level[id] = visiting
		l := 1
		for _, d := range deps[id] {
			if _, ok := deps[d]; !ok {
				return fmt.Errorf("decomposition_trace: sub-question %d depends on unknown sub-question %d", id, d)
			}
			if err := visit(d); err != nil {
				return err
			}
			l = max(l, level[d]+1)
		}
		level[id] = l
		return nil
	}
	ids := make([]int, 0, len(deps))
	for id := range deps {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	for _, id := range ids {
		if err := visit(id); err != nil {
			return nil, err
		}
	}
	return level, nil
}

// toolFromDocument reads a tool_document: an OpenAI function schema, bare
// or wrapped as {"type":"function","function":{...}}.
func toolFromDocument(doc json.RawMessage) (task.Tool, error) {
	if len(bytes.TrimSpace(doc)) == 0 || string(bytes.TrimSpace(doc)) == "null" {
		return task.Tool{}, errors.New("no tool_document (no schema)")
	}
	var d struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
		Function    *struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			Parameters  json.RawMessage `json:"parameters"`
		} `json:"function"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return task.Tool{}, fmt.Errorf("tool_document: %s", jsonErrorText(err))
	}
	if d.Function != nil && d.Name == "" {
		d.Name, d.Description, d.Parameters = d.Function.Name, d.Function.Description, d.Function.Parameters
	}
	if d.Name == "" {
		return task.Tool{}, errors.New("tool_document has no name")
	}
	if len(bytes.TrimSpace(d.Parameters)) == 0 || string(bytes.TrimSpace(d.Parameters)) == "null" {
		return task.Tool{}, fmt.Errorf("tool_document of %q has no parameters (no schema)", d.Name)
	}
	params, err := repairSchema(d.Parameters)
	if err != nil {
		return task.Tool{}, fmt.Errorf("tool %q: parameters: %s", d.Name, err)
	}
	return task.Tool{Name: d.Name, Description: d.Description, Parameters: params}, nil
}

// pyTypes maps Python type names, which synthesized schemas sometimes use,
// to JSON Schema types.
var pyTypes = map[string]string{
	"str": "string", "int": "integer", "float": "number", "bool": "boolean",
	"list": "array", "tuple": "array", "dict": "object",
}

// repairSchema compacts a parameter schema and fixes two slips common in
// synthesized schemas, which JSON Schema would reject or misread: Python
// type names ("str", "int", ...) and a missing top-level "type": "object".
// Schemas that need no repair keep their key order.
func repairSchema(raw json.RawMessage) (json.RawMessage, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, errors.New(jsonErrorText(err))
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("not a JSON object")
	}
	changed := false
	if _, ok := m["type"]; !ok {
		m["type"] = "object"
		changed = true
	}
	var walk func(x any)
	walk = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			if s, ok := x["type"].(string); ok {
				if js, ok := pyTypes[s]; ok {
					x["type"] = js
					changed = true
				}
			}
			for _, k := range []string{"properties", "items", "additionalProperties"} {
				switch sub := x[k].(type) {
				case map[string]any:
					if k == "properties" {
						for _, p := range sub {
							walk(p)
						}
					} else {
						walk(sub)
					}
				}
			}
		}
	}
	walk(m)
	if !changed {
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return nil, errors.New(jsonErrorText(err))
		}
		return buf.Bytes(), nil
	}
	return task.Marshal(m)
}

func sameJSON(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}

// schema compiles a parameter schema with the SDK's rules (draft 2020-12,
// "type": "object"; see sdk.CompileSchema), so that a task never offers a
// tool the guest would refuse. It keeps its own cache: the SDK's is global
// and meant for a guest's handful of schemas.
func (c *compiler) schema(params json.RawMessage) (*jsonschema.Schema, error) {
	if s, ok := c.schemas[string(params)]; ok {
		return s, nil
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(params))
	if err != nil {
		return nil, fmt.Errorf("schema is not JSON: %w", err)
	}
	if m, ok := doc.(map[string]any); !ok || m["type"] != "object" {
		return nil, errors.New(`schema must be an object schema with "type": "object"`)
	}
	jc := jsonschema.NewCompiler()
	jc.DefaultDraft(jsonschema.Draft2020)
	if err := jc.AddResource("args.json", doc); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	s, err := jc.Compile("args.json")
	if err != nil {
		return nil, fmt.Errorf("schema does not compile: %s", firstLine(err.Error()))
	}
	c.schemas[string(params)] = s
	return s, nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func validateArgs(s *jsonschema.Schema, args json.RawMessage) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(args))
	if err != nil {
		return err
	}
	if err := s.Validate(inst); err != nil {
		lines := strings.Split(err.Error(), "\n")
		var parts []string
		for _, l := range lines[1:] {
			if l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "- ")); l != "" {
				parts = append(parts, l)
			}
		}
		if len(parts) == 0 {
			return errors.New(lines[0])
		}
		return errors.New(strings.Join(parts, "; "))
	}
	return nil
}

// argumentsJSON renders a parsed call's arguments as one JSON object in the
// statement's order. Positional arguments are named from the tool's Python
// signature (def NAME(a, b, ...) in code).
func argumentsJSON(call *Call, code string) (json.RawMessage, error) {
	var names []string
	if len(call.Positional) > 0 {
		params, err := signature(code, call.Func)
		if err != nil {
			return nil, fmt.Errorf("positional arguments need the tool's signature: %s", err)
		}
		if len(call.Positional) > len(params) {
			return nil, fmt.Errorf("%d positional arguments but %s takes %d", len(call.Positional), call.Func, len(params))
		}
		names = params[:len(call.Positional)]
	}
	var b bytes.Buffer
	b.WriteByte('{')
	seen := map[string]bool{}
	put := func(name string, v json.RawMessage) error {
		if seen[name] {
			return fmt.Errorf("argument %q given twice", name)
		}
		seen[name] = true
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(name)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
		return nil
	}
	for i, v := range call.Positional {
		if err := put(names[i], v); err != nil {
			return nil, err
		}
	}
	for _, kw := range call.Keywords {
		if err := put(kw.Name, kw.Value); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// signature returns the parameter names of `def name(...)` in Python code,
// without self, *args, **kwargs and the / and * markers.
func signature(code, name string) ([]string, error) {
	i := strings.Index(code, "def "+name+"(")
	if i < 0 {
		return nil, fmt.Errorf("no def %s( in the tool's code", name)
	}
	s := code[i+len("def "+name+"("):]
	var params []string
	kwOnly := false // after * or *args, parameters cannot be given by position
	depth, start := 0, 0
	inStr := byte(0)
	for j := 0; j < len(s); j++ {
		ch := s[j]
		switch {
		case inStr != 0:
			if ch == '\\' {
				j++
			} else if ch == inStr {
				inStr = 0
			}
		case ch == '"' || ch == '\'':
			inStr = ch
		case ch == '(' || ch == '[' || ch == '{':
			depth++
		case (ch == ')' || ch == ']' || ch == '}') && depth > 0:
			depth--
		case ch == ',' && depth == 0, ch == ')' && depth == 0:
			p := strings.TrimSpace(s[start:j])
			if k := strings.IndexAny(p, ":="); k >= 0 {
				p = strings.TrimSpace(p[:k])
			}
			switch {
			case strings.HasPrefix(p, "*"):
				kwOnly = true
			case p != "" && p != "self" && p != "/" && !kwOnly:
				params = append(params, p)
			}
			if ch == ')' {
				return params, nil
			}
			start = j + 1
		}
	}
	return nil, fmt.Errorf("unterminated def %s(", name)
}
