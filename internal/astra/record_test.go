package astra

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/terrarium-rl/terrarium/internal/astra/task"
)

func TestReader(t *testing.T) {
	long := `{"k":"` + strings.Repeat("长", 1<<20) + `"}` // 3 MiB, longer than the buffer
	tests := []struct {
		name  string
		in    string
		limit int
		want  []string // lines, or "error: substring"
	}{
		{"plain", "{}\n{\"a\":1}\n", 0, []string{"1:{}", `2:{"a":1}`}},
		{"no final newline", "{}\n[]", 0, []string{"1:{}", "2:[]"}},
		{"blank lines", "\n{}\n   \n\r\n{}\n\n", 0, []string{"2:{}", "5:{}"}},
		{"crlf", "{}\r\n{}\r\n", 0, []string{"1:{}", "2:{}"}},
		{"bom", "\xef\xbb\xbf{}\n", 0, []string{"1:{}"}},
		{"long line", long + "\n{}\n", 0, []string{"1:" + long, "2:{}"}},
		{"not utf-8", "{}\n\"caf\xe9\"\n{}\n", 0, []string{"1:{}", "error: not valid UTF-8", "3:{}"}},
		{"too long", "{}\n" + strings.Repeat("x", 100) + "\n{}\n", 50, []string{"1:{}", "error: longer than the limit", "3:{}"}},
		{"empty", "", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tt.in))
			if tt.limit > 0 {
				r.limit = tt.limit
			}
			var got []string
			for {
				b, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					if !errors.Is(err, ErrNotUTF8) && !errors.Is(err, ErrRecordTooLarge) {
						t.Fatalf("unexpected error %v", err)
					}
					got = append(got, "error: "+err.Error())
					continue
				}
				got = append(got, fmt.Sprintf("%d:%s", r.Line(), b))
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d lines, want %d: %.200q", len(got), len(tt.want), got)
			}
			for i := range got {
				w := tt.want[i]
				if strings.HasPrefix(w, "error: ") {
					if !strings.Contains(got[i], strings.TrimPrefix(w, "error: ")) {
						t.Errorf("line %d: %.100q, want an error containing %q", i, got[i], w)
					}
				} else if got[i] != w {
					t.Errorf("line %d: %.100q, want %.100q", i, got[i], w)
				}
			}
			if r.Offset() != int64(len(tt.in)) {
				t.Errorf("offset %d, want %d", r.Offset(), len(tt.in))
			}
		})
	}
}

// FuzzCompileRecord feeds arbitrary lines to the compiler: it must skip
// them with a reason or produce a task the runner accepts, never panic.
func FuzzCompileRecord(f *testing.F) {
	for _, name := range []string{samplePath, "testdata/records.jsonl", "testdata/broken.jsonl"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, l := range bytes.Split(b, []byte("\n")) {
			f.Add(l)
		}
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		tk, _, err := newCompiler().record(line)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty reason")
			}
			return
		}
		var buf bytes.Buffer
		res := &Result{Tasks: []*task.Task{tk}, Header: header(Options{}, []*task.Task{tk})}
		if err := res.WriteTaskSet(&buf); err != nil {
			t.Fatal(err)
		}
		s, err := task.Open(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Task(0)
		if err != nil {
			t.Fatalf("compiled task does not read back: %v", err)
		}
		tb, err := task.NewTable(got)
		if err != nil {
			t.Fatal(err)
		}
		for j, c := range got.Calls {
			if k := tb.Lookup(c.Tool, c.Arguments); got.Calls[k].Answer != c.Answer {
				t.Fatalf("call %d does not match its own table entry (%d)", j, k)
			}
		}
	})
}
