// Package astrajs is the JavaScript output kind of the ASTRA import
// (`terrarium import astra --kind js`, docs/astra.md): it writes an
// imported task set as one JavaScript environment, env.js, that the
// JavaScript runner (internal/jsenv) runs.
//
// The script holds the task data and a port of the Go runner (envs/astra
// and internal/astra/task) to JavaScript, runner.js, with the Unicode tables
// of Go's unicode package it needs (unicode.js, written by gen.go). Both
// runners give the same episodes for the same seed and actions: the same
// tools in the same order, the same answers and tool errors, the same
// reward components and the same oracle actions. The package's tests check
// the tables against Go's unicode package code point by code point, the
// matching and the reward against package task on generated inputs, and
// internal/astra's tests play both kinds of pack side by side.
package astrajs

//go:generate go run gen.go

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"

	"github.com/terrarium-rl/terrarium/internal/astra/task"
)

//go:embed runner.js
var runnerJS string

//go:embed unicode.js
var unicodeJS string

// Library returns the runner's JavaScript without the task data: the
// Unicode tables and runner.js. A script that defines SET and TASKS (as
// Write does) before it is an environment.
func Library() string { return unicodeJS + "\n" + runnerJS }

// set is the header the script's SET holds.
type set struct {
	Name        string    `json:"name"`
	Version     string    `json:"version"`
	Description string    `json:"description"`
	Mode        task.Mode `json:"mode"`
	Distractors int       `json:"distractors"`
	MaxTurns    int       `json:"max_turns"`
}

// jsTask is a task.Task as the script holds it: the same fields, with each
// verified call's arguments kept as JSON text, so that the oracle sends
// exactly the bytes the Go runner sends (JSON.stringify would write 2.0 as
// 2).
type jsTask struct {
	UUID        string           `json:"uuid"`
	Language    string           `json:"language,omitempty"`
	Scenario    string           `json:"scenario,omitempty"`
	Question    string           `json:"question"`
	FinalAnswer string           `json:"final_answer"`
	Tools       []task.Tool      `json:"tools"`
	Calls       []jsCall         `json:"calls"`
	Subs        []task.Sub       `json:"subs"`
	Distractors [][]task.ToolRef `json:"distractors,omitempty"`
}

type jsCall struct {
	Tool      string `json:"tool"`
	Arguments string `json:"arguments"`
	Answer    string `json:"answer"`
}

// Write writes the environment script of a compiled import: h is the task
// set's header (its Count and Offsets are not used) and tasks the tasks.
// source, when not empty, names the records the import came from in the
// script's opening comment.
func Write(w io.Writer, h task.Header, tasks []*task.Task, source string) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	mode := h.Mode
	if mode == "" {
		mode = task.ModeF1
	}
	hdr, err := task.Marshal(set{Name: h.Name, Version: h.Version, Description: h.Description,
		Mode: mode, Distractors: h.Distractors, MaxTurns: h.MaxTurns})
	if err != nil {
		return fmt.Errorf("astrajs: header: %w", err)
	}
	fmt.Fprintf(bw, "// %s %s: %d ASTRA tasks as a Terrarium JavaScript environment, written by\n", h.Name, h.Version, len(tasks))
	fmt.Fprintf(bw, "// `terrarium import astra --kind js` (docs/astra.md)")
	if source != "" {
		fmt.Fprintf(bw, " from records with SHA-256\n// %s", source)
	}
	fmt.Fprintf(bw, ".\n//\n// SET is the import's header, TASKS one JSON text per task (parsed when an\n")
	fmt.Fprintf(bw, "// episode needs it); the runner, a port of the Go runner, follows them.\n\n")
	fmt.Fprintf(bw, "const SET = %s;\n\nconst TASKS = [\n", hdr)
	for i, t := range tasks {
		jt := jsTask{UUID: t.UUID, Language: t.Language, Scenario: t.Scenario, Question: t.Question,
			FinalAnswer: t.FinalAnswer, Tools: t.Tools, Subs: t.Subs, Distractors: t.Distractors}
		for _, c := range t.Calls {
			jt.Calls = append(jt.Calls, jsCall{Tool: c.Tool, Arguments: string(c.Arguments), Answer: c.Answer})
		}
		b, err := task.Marshal(jt)
		if err != nil {
			return fmt.Errorf("astrajs: task %d (%s): %w", i, t.UUID, err)
		}
		// A JSON string is a JavaScript string literal: encoding/json
		// escapes U+2028 and U+2029, which older JavaScript forbids in
		// literals.
		lit, err := json.Marshal(string(b))
		if err != nil {
			return fmt.Errorf("astrajs: task %d (%s): %w", i, t.UUID, err)
		}
		bw.Write(lit)
		bw.WriteString(",\n")
	}
	bw.WriteString("];\n\n")
	bw.WriteString(Library())
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("astrajs: %w", err)
	}
	return nil
}
