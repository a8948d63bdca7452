package runtime_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/terrarium-rl/terrarium/abi"
	trt "github.com/terrarium-rl/terrarium/runtime"
)

// docBlock is a fenced code block of docs/abi.md with the annotation
// (an HTML comment on the line before its fence) that says how to check it.
type docBlock struct {
	line       int
	annotation string // "check: abi.Spec", "guess: step"... or ""
	lang, body string
}

var annotationRE = regexp.MustCompile(`^<!-- (.+) -->$`)

func docBlocks(t *testing.T) []docBlock {
	t.Helper()
	b, err := os.ReadFile("../docs/abi.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	var blocks []docBlock
	for i := 0; i < len(lines); i++ {
		lang, ok := strings.CutPrefix(lines[i], "```")
		if !ok {
			continue
		}
		blk := docBlock{line: i + 1, lang: lang}
		if i > 0 {
			if m := annotationRE.FindStringSubmatch(lines[i-1]); m != nil {
				blk.annotation = m[1]
			}
		}
		var body []string
		for i++; i < len(lines) && lines[i] != "```"; i++ {
			body = append(body, lines[i])
		}
		blk.body = strings.Join(body, "\n") + "\n"
		blocks = append(blocks, blk)
	}
	return blocks
}

// strictDecode decodes JSON into v refusing unknown fields, so that an
// example with a misspelt field fails.
func strictDecode(data string, v any) error {
	dec := json.NewDecoder(strings.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

// sameJSON reports whether got and the documented JSON decode to the same
// value of got's type.
func sameJSON[T any](got *T, doc string) error {
	var want T
	if err := strictDecode(doc, &want); err != nil {
		return fmt.Errorf("the document's JSON: %w", err)
	}
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(&want)
	if !bytes.Equal(g, w) {
		return fmt.Errorf("the host got\n%s\nthe document says\n%s", g, w)
	}
	return nil
}

// TestDocExamples keeps docs/abi.md true: every JSON example decodes into
// its abi type, the source of the worked example is guess.wat byte for
// byte, and the session on the wire is replayed through the runtime.
func TestDocExamples(t *testing.T) {
	ctx := context.Background()
	blocks := docBlocks(t)
	var (
		env     *trt.Env
		ep      *trt.Episode
		action  []byte
		result  *abi.StepResult
		checked = map[string]int{}
	)
	for _, blk := range blocks {
		where := fmt.Sprintf("docs/abi.md:%d", blk.line)
		if blk.lang == "json" && blk.annotation == "" {
			t.Errorf("%s: JSON example without an annotation saying how to check it", where)
			continue
		}
		kind, arg, _ := strings.Cut(blk.annotation, ": ")
		switch kind {
		case "":
			continue
		case "check":
			types := map[string]any{
				"abi.Spec": new(abi.Spec), "abi.Observation": new(abi.Observation), "abi.Message": new(abi.Message),
				"abi.StepResult": new(abi.StepResult), "abi.Score": new(abi.Score), "abi.Error": new(abi.Error),
			}
			v, ok := types[arg]
			if !ok {
				t.Fatalf("%s: unknown type %q", where, arg)
			}
			if err := strictDecode(blk.body, v); err != nil {
				t.Errorf("%s: not an %s: %v", where, arg, err)
			}
		case "guess":
			if env == nil {
				env = loadGuess(t, newHost(t, trt.NewConfig()))
			}
			op, args, _ := strings.Cut(arg, " ")
			var err error
			switch op {
			case "source":
				if blk.body != guessSource(t) {
					err = fmt.Errorf("the source differs from %s", guessWATPath)
				}
			case "spec":
				spec := env.Spec()
				err = sameJSON(&spec, blk.body)
			case "reset":
				var seed uint64
				var task int
				if _, err := fmt.Sscan(args, &seed, &task); err != nil {
					t.Fatalf("%s: reset wants a seed and a task: %v", where, err)
				}
				var obs *abi.Observation
				if ep, obs, err = env.Start(ctx, seed, task); err == nil {
					defer ep.Close(ctx)
					err = sameJSON(obs, blk.body)
				}
			case "oracle":
				var m *abi.Message
				if m, err = ep.Oracle(ctx); err == nil {
					err = sameJSON(m, blk.body)
				}
			case "step":
				action = []byte(strings.TrimSpace(blk.body))
				result, err = ep.StepJSON(ctx, action)
			case "result":
				if result == nil {
					t.Fatalf("%s: a result without a step before it", where)
				}
				err = sameJSON(result, blk.body)
				result = nil
			case "refused":
				status, _ := strconv.Atoi(args)
				var want abi.Error
				if err = strictDecode(blk.body, &want); err == nil {
					var ge *trt.GuestError
					_, serr := ep.StepJSON(ctx, action)
					if !errors.As(serr, &ge) || ge.Status != abi.Status(status) || ge.Message != want.Error {
						err = fmt.Errorf("resending the last action: %v, want status %d and %q", serr, status, want.Error)
					}
				}
			case "score":
				var s *abi.Score
				if s, err = ep.Score(ctx); err == nil {
					err = sameJSON(s, blk.body)
				}
			default:
				t.Fatalf("%s: unknown guess step %q", where, op)
			}
			if err != nil {
				t.Errorf("%s: guess %s: %v", where, arg, err)
			}
		default:
			t.Fatalf("%s: unknown annotation %q", where, blk.annotation)
		}
		checked[kind]++
	}
	// A document reorganised so that nothing matches any more must fail.
	if checked["check"] < 8 || checked["guess"] < 10 {
		t.Errorf("checked %v, want at least 8 shape examples and 10 session steps", checked)
	}
}
