// Package task is the compiled form of ASTRA records (docs/astra.md): the
// task set that `terrarium import astra` writes to data/tasks.json and that
// the astra guest (envs/astra) receives as its configuration blob.
//
// It holds everything both sides must agree on, so that it is defined once:
// the file format, how tool arguments are canonicalized for matching against
// the verified calls, the reward, and the oracle's plan. It is imported by the
// guest, so it depends on the standard library only (and internal/abijson,
// which the guest's SDK uses too).
package task

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/terrarium-rl/terrarium/internal/abijson"
)

// Format is the value of Set.Format for this version of the task set.
const Format = "terrarium.astra.tasks/v1"

// Mode selects how the reward combines its components (see Reward).
type Mode string

// Reward modes.
const (
	// ModeF1 rewards the F1 of sub-question recall and call precision, as
	// in ASTRA's RL stage. The default.
	ModeF1 Mode = "f1"
	// ModeF1Final multiplies the F1 by final_match.
	ModeF1Final Mode = "f1*final"
	// ModeFinal rewards final_match alone.
	ModeFinal Mode = "final"
)

// Valid reports whether m is a known mode. The zero value means ModeF1.
func (m Mode) Valid() bool {
	switch m {
	case "", ModeF1, ModeF1Final, ModeFinal:
		return true
	}
	return false
}

// Header is the part of the task set before its tasks. Reading it is cheap,
// which matters because the guest reads it in every fresh instance.
//
// Its zero value is not a valid header: Format and Count must be set.
type Header struct {
	Format      string `json:"format"`
	Name        string `json:"name"`
	Version     string `json:"version"`
	Description string `json:"description,omitempty"`
	// Mode is the reward mode; "" means ModeF1.
	Mode Mode `json:"mode,omitempty"`
	// Distractors is how many distractor tools each episode adds (0: none).
	Distractors int `json:"distractors,omitempty"`
	// MaxTurns is the suggested turn limit, passed on in the env's spec.
	MaxTurns int `json:"max_turns,omitempty"`
	// Count is the number of tasks.
	Count int `json:"count"`
	// Offsets[i] is the byte offset of task i's JSON object, counted from
	// the byte after the '[' that opens "tasks". It lets a reader decode
	// one task without scanning the others. When absent, readers decode
	// the whole array.
	Offsets []int64 `json:"offsets,omitempty"`
}

// Task is one compiled ASTRA record.
type Task struct {
	UUID     string `json:"uuid"`
	Language string `json:"language,omitempty"`
	Scenario string `json:"scenario,omitempty"`
	// Question is the record's main_question: the episode's user message.
	Question string `json:"question"`
	// FinalAnswer is the gold final answer.
	FinalAnswer string `json:"final_answer"`
	// Tools are the record's distinct tools, each once, in order of first
	// use by a sub-question.
	Tools []Tool `json:"tools"`
	// Calls is the verified call table: distinct (tool, canonical
	// arguments) pairs and what the recorded tool printed for them.
	Calls []Call `json:"calls"`
	// Subs are the sub-questions in record order.
	Subs []Sub `json:"subs"`
	// Distractors lists candidate distractor tools by similarity band
	// (Bands names them), each a reference to another task's tool.
	Distractors [][]ToolRef `json:"distractors,omitempty"`
}

// Tool is a tool in OpenAI function format.
type Tool struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
}

// Call is a verified call: a tool call whose recorded output is known.
type Call struct {
	Tool string `json:"tool"`
	// Arguments is the JSON object parsed from the record's Python call
	// statement, keys in the statement's order. The oracle sends it as is.
	Arguments json.RawMessage `json:"arguments"`
	// Answer is the recorded tool_call_ans less the one trailing newline
	// that Python's print added.
	Answer string `json:"answer"`
}

// Sub is a sub-question of the record's decomposition.
type Sub struct {
	ID       int    `json:"id"`
	Question string `json:"question"`
	Answer   string `json:"answer"`
	// Level is the depth in the dependency graph: 1 for sub-questions
	// without dependencies, else one more than the deepest dependency.
	Level int   `json:"level"`
	Deps  []int `json:"deps,omitempty"`
	// Call indexes Task.Calls for tool-backed sub-questions and is -1 for
	// the others (tool_necessity false, or no tool in the record).
	Call int `json:"call"`
}

// ToolRef names tool Tool of task Task of the same set.
type ToolRef struct {
	Task int `json:"task"`
	Tool int `json:"tool"`
}

// Bands names the similarity bands of Task.Distractors, in order.
var Bands = []string{"near", "mid", "far"}

var (
	// ErrFormat is wrapped by errors about a task set that is not in this
	// package's format.
	ErrFormat = errors.New("not an ASTRA task set")
)

// Set is an opened task set. It keeps the encoded bytes and decodes a task
// when asked, so that opening a set of many thousand tasks costs only its
// header.
type Set struct {
	Header
	data  []byte
	base  int64             // offset of the byte after "tasks": [
	tasks []json.RawMessage // set when the header has no offsets
}

// Open reads a task set's header and locates its tasks. data is kept, not
// copied.
func Open(data []byte) (*Set, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	fail := func(format string, args ...any) (*Set, error) {
		return nil, fmt.Errorf("open task set: %w: %s", ErrFormat, fmt.Sprintf(format, args...))
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fail("not a JSON object")
	}
	s := &Set{data: data, base: -1}
	hdr := map[string]json.RawMessage{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return fail("%s", err)
		}
		key, _ := t.(string)
		if key == "tasks" {
			if t, err := dec.Token(); err != nil || t != json.Delim('[') {
				return fail(`"tasks" is not an array`)
			}
			s.base = dec.InputOffset()
			if _, ok := hdr["offsets"]; ok {
				break // the rest is located by offsets
			}
			for dec.More() {
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					return fail("task %d: %s", len(s.tasks), err)
				}
				s.tasks = append(s.tasks, raw)
			}
			break
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fail("%q: %s", key, err)
		}
		hdr[key] = raw
	}
	b, _ := json.Marshal(hdr)
	if err := json.Unmarshal(b, &s.Header); err != nil {
		return fail("header: %s", err)
	}
	switch {
	case s.Format != Format:
		return fail("format %q, want %q", s.Format, Format)
	case s.base < 0:
		return fail(`no "tasks" array`)
	case !s.Mode.Valid():
		return fail("unknown reward mode %q", s.Mode)
	case s.Distractors < 0:
		return fail("negative distractor count")
	case s.Offsets == nil && len(s.tasks) != s.Count:
		return fail("count is %d but there are %d tasks", s.Count, len(s.tasks))
	case s.Offsets != nil && len(s.Offsets) != s.Count:
		return fail("count is %d but there are %d offsets", s.Count, len(s.Offsets))
	}
	if s.Mode == "" {
		s.Mode = ModeF1
	}
	return s, nil
}

// Task decodes task i.
func (s *Set) Task(i int) (*Task, error) {
	if i < 0 || i >= s.Count {
		return nil, fmt.Errorf("task %d out of range [0,%d)", i, s.Count)
	}
	var raw []byte
	if s.tasks != nil {
		raw = s.tasks[i]
	} else {
		start := s.base + s.Offsets[i]
		if start < s.base || start >= int64(len(s.data)) {
			return nil, fmt.Errorf("task %d: %w: offset %d outside the file", i, ErrFormat, s.Offsets[i])
		}
		// One Decode reads exactly one value, so the next offset is not
		// needed and a stray offset cannot make us read two tasks.
		dec := json.NewDecoder(bytes.NewReader(s.data[start:]))
		var r json.RawMessage
		if err := dec.Decode(&r); err != nil && err != io.EOF {
			return nil, fmt.Errorf("task %d: %w: %s", i, ErrFormat, err)
		}
		raw = r
	}
	t := new(Task)
	if err := json.Unmarshal(raw, t); err != nil {
		return nil, fmt.Errorf("task %d: %w: %s", i, ErrFormat, err)
	}
	if err := t.check(); err != nil {
		return nil, fmt.Errorf("task %d (%s): %w: %s", i, t.UUID, ErrFormat, err)
	}
	return t, nil
}

// check verifies the references inside a task, so that the guest can index
// without further checks.
func (t *Task) check() error {
	if t.UUID == "" || len(t.Calls) == 0 {
		return fmt.Errorf("no uuid or no verified calls")
	}
	names := map[string]bool{}
	for _, tl := range t.Tools {
		if tl.Name == "" || names[tl.Name] {
			return fmt.Errorf("tool name %q empty or repeated", tl.Name)
		}
		names[tl.Name] = true
	}
	for j, c := range t.Calls {
		if !names[c.Tool] {
			return fmt.Errorf("call %d names unknown tool %q", j, c.Tool)
		}
	}
	for _, sq := range t.Subs {
		if sq.Call < -1 || sq.Call >= len(t.Calls) {
			return fmt.Errorf("sub-question %d: call %d out of range", sq.ID, sq.Call)
		}
	}
	return nil
}

// Encode writes a task set: h (whose Count and Offsets it sets) and tasks,
// with each task's offset recorded so that Open's reader can find it alone.
func Encode(w io.Writer, h Header, tasks [][]byte) error {
	h.Format = Format
	h.Count = len(tasks)
	h.Offsets = make([]int64, len(tasks))
	var off int64
	for i, t := range tasks {
		off++ // the newline before each task
		h.Offsets[i] = off
		off += int64(len(t)) + 1 // the task and its comma (or the closing bracket)
	}
	hb, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("encode task set: %w", err)
	}
	var buf bytes.Buffer
	buf.Write(hb[:len(hb)-1]) // drop '}'
	buf.WriteString(`,"tasks":[`)
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("encode task set: %w", err)
	}
	for i, t := range tasks {
		sep := ","
		if i == len(tasks)-1 {
			sep = ""
		}
		if _, err := fmt.Fprintf(w, "\n%s%s", t, sep); err != nil {
			return fmt.Errorf("encode task set: %w", err)
		}
	}
	if _, err := io.WriteString(w, "\n]}\n"); err != nil {
		return fmt.Errorf("encode task set: %w", err)
	}
	return nil
}

// Marshal encodes v as Encode expects a task: JSON without HTML escaping,
// so that tool output stays readable in the file.
func Marshal(v any) ([]byte, error) { return abijson.Marshal(v) }
