package task

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestKey(t *testing.T) {
	defaults := map[string]any{"unit": "celsius", "year": json.Number("2023")}
	base := `{"compound":"ethanol","property":"boiling_point"}`
	tests := []struct {
		name  string
		args  string
		equal bool
	}{
		{"same", base, true},
		{"keys reordered", `{"property":"boiling_point","compound":"ethanol"}`, true},
		{"default spelled out", `{"compound":"ethanol","property":"boiling_point","unit":"celsius"}`, true},
		{"numeric default spelled out as float", `{"compound":"ethanol","property":"boiling_point","year":2023.0}`, true},
		{"case and space folded", `{"compound":"  Ethanol ","property":"BOILING_POINT"}`, true},
		{"other default value", `{"compound":"ethanol","property":"boiling_point","unit":"fahrenheit"}`, false},
		{"other value", `{"compound":"water","property":"boiling_point"}`, false},
		{"extra argument", `{"compound":"ethanol","property":"boiling_point","x":1}`, false},
		{"missing argument", `{"compound":"ethanol"}`, false},
		{"string vs number", `{"compound":"ethanol","property":"boiling_point","year":"2023"}`, false},
		{"key case matters", `{"Compound":"ethanol","property":"boiling_point"}`, false},
	}
	want, err := Key([]byte(base), defaults)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Key([]byte(tt.args), defaults)
			if err != nil {
				t.Fatal(err)
			}
			if (got == want) != tt.equal {
				t.Errorf("Key(%s) = %s, base %s: equal %v, want %v", tt.args, got, want, got == want, tt.equal)
			}
		})
	}
	t.Run("nested values folded", func(t *testing.T) {
		a, _ := Key([]byte(`{"f":["Temp",{"b":1,"a":" X "}],"o":{"lang":"EN"}}`), nil)
		b, _ := Key([]byte(`{"o":{"lang":"en"},"f":["temp",{"a":"x","b":1.0}]}`), nil)
		if a != b {
			t.Errorf("%s != %s", a, b)
		}
	})
	t.Run("not an object", func(t *testing.T) {
		if _, err := Key([]byte(`[1]`), nil); err == nil {
			t.Error("want an error")
		}
	})
}

func TestReward(t *testing.T) {
	tk := &Task{
		FinalAnswer: "Qantas",
		Calls:       []Call{{Tool: "a"}, {Tool: "b"}, {Tool: "c"}},
		Subs: []Sub{
			{ID: 1, Answer: "Canberra", Call: 0},
			{ID: 2, Answer: "CBR", Call: 1},
			{ID: 3, Answer: "Qantas", Call: 2},
			{ID: 4, Answer: "reasoned", Call: -1},
		},
	}
	all := []string{"The capital is Canberra.", "{'iata': 'CBR'}", "top airline: Qantas"}
	f1 := func(p, r float64) float64 { return 2 * p * r / (p + r) }
	tests := []struct {
		name   string
		mode   Mode
		o      Outcome
		reward float64
		comp   map[string]float64
	}{
		{"oracle", ModeF1, Outcome{Results: all, Calls: 3, Final: "Qantas", HasFinal: true},
			f1(3/(3+Epsilon), 1), map[string]float64{"solved": 3, "n": 3, "calls": 3, "final_match": 1, "recall": 1}},
		{"nothing", ModeF1, Outcome{}, 0, map[string]float64{"solved": 0, "n": 3, "f1": 0, "precision": 0, "recall": 0}},
		{"extra calls lower precision", ModeF1, Outcome{Results: all, Calls: 6},
			f1(3/(6+Epsilon), 1), map[string]float64{"solved": 3, "calls": 6}},
		{"partial recall", ModeF1, Outcome{Results: all[:1], Calls: 1},
			f1(1/(1+Epsilon), 1.0/3), map[string]float64{"solved": 1}},
		{"failed calls count", ModeF1, Outcome{Results: all[:1], Calls: 4},
			f1(1/(4+Epsilon), 1.0/3), map[string]float64{"calls": 4}},
		{"one result solves two", ModeF1, Outcome{Results: []string{"Canberra CBR Qantas"}, Calls: 1},
			1, map[string]float64{"solved": 3, "precision": 1}},
		{"f1*final without final", ModeF1Final, Outcome{Results: all, Calls: 3}, 0, map[string]float64{"final_match": 0}},
		{"f1*final wrong final", ModeF1Final, Outcome{Results: all, Calls: 3, Final: "Virgin", HasFinal: true}, 0, nil},
		{"f1*final", ModeF1Final, Outcome{Results: all, Calls: 3, Final: "It is Qantas.", HasFinal: true},
			f1(3/(3+Epsilon), 1), nil},
		{"final alone", ModeFinal, Outcome{Final: "qantas", HasFinal: true}, 1, map[string]float64{"f1": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, comp := Reward(tk, tt.mode, tt.o)
			if math.Abs(r-tt.reward) > 1e-12 {
				t.Errorf("reward %v, want %v (components %v)", r, tt.reward, comp)
			}
			for k, v := range tt.comp {
				if math.Abs(comp[k]-v) > 1e-12 {
					t.Errorf("component %s = %v, want %v", k, comp[k], v)
				}
			}
			if r < 0 || r > 1 {
				t.Errorf("reward %v outside [0,1]", r)
			}
		})
	}
}

func TestFinalMatch(t *testing.T) {
	tests := []struct {
		answer, gold string
		want         bool
	}{
		{"Qantas", "Qantas", true},
		{"The airline is Qantas.", "Qantas", true},
		{"qantas airways", "Qantas", true},
		{"Virgin", "Qantas", false},
		{"", "Qantas", false},
		{"Qantas", "", false},
		{"78.37", "78.37", true},
		{"about 78.37 °C", "78.37", true},
		{"78.3", "78.37", false},
		{"78.37", "78.3", false},
		{"1000 people", "1,000", true},
		{"Tokyo Tower, by 3 meters", "Tokyo Tower, by 3 meters", true},
		{"the Tokyo tower by 3 meters", "Tokyo Tower, by 3 meters", true},
		{"Tokyo Tower by 33 meters", "Tokyo Tower, by 3 meters", false},
		{"江宁织造", "江宁织造", true},
		{"曹寅曾任江宁织造。", "江宁织造", true},
		{"江宁", "江宁织造", false},
		{"７０１年", "701年", true},
		{"Qantas", "Qanta", false},
	}
	for _, tt := range tests {
		t.Run(tt.answer+"|"+tt.gold, func(t *testing.T) {
			if got := FinalMatch(tt.answer, tt.gold); got != tt.want {
				t.Errorf("FinalMatch(%q, %q) = %v, want %v (tokens %q, %q)", tt.answer, tt.gold, got, tt.want,
					Normalize(tt.answer), Normalize(tt.gold))
			}
		})
	}
}

func TestPlan(t *testing.T) {
	tk := &Task{
		Calls: make([]Call, 4),
		Subs: []Sub{
			{ID: 1, Level: 1, Call: 0},
			{ID: 2, Level: 1, Call: 1},
			{ID: 3, Level: 2, Call: -1},
			{ID: 4, Level: 3, Call: 2},
			{ID: 5, Level: 3, Call: 0}, // shares call 0, already planned
			{ID: 6, Level: 4, Call: 3},
		},
	}
	plan := Plan(tk)
	want := [][]int{{0, 1}, {2}, {3}}
	if !reflect.DeepEqual(plan, want) {
		t.Fatalf("Plan = %v, want %v", plan, want)
	}
	done := map[int]bool{}
	var got [][]int
	for next := Next(plan, func(c int) bool { return done[c] }); next != nil; next = Next(plan, func(c int) bool { return done[c] }) {
		got = append(got, next)
		for _, c := range next {
			done[c] = true
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Next sequence %v, want %v", got, want)
	}
	done = map[int]bool{1: true, 2: true}
	if next := Next(plan, func(c int) bool { return done[c] }); !reflect.DeepEqual(next, []int{0}) {
		t.Errorf("Next with calls 1 and 2 answered = %v, want [0]", next)
	}
}

func TestEncodeOpen(t *testing.T) {
	mk := func(uuid string) []byte {
		b, err := Marshal(&Task{UUID: uuid, Question: "q <" + uuid + ">", FinalAnswer: "a",
			Tools: []Tool{{Name: "f", Parameters: json.RawMessage(`{"type":"object"}`)}},
			Calls: []Call{{Tool: "f", Arguments: json.RawMessage(`{}`), Answer: "x"}},
			Subs:  []Sub{{ID: 1, Answer: "x", Level: 1, Call: 0}}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tasks := [][]byte{mk("a"), mk("b\u00e9"), mk("c")}
	var buf bytes.Buffer
	if err := Encode(&buf, Header{Name: "x", Version: "1.0.0", Mode: ModeF1Final}, tasks); err != nil {
		t.Fatal(err)
	}
	if !json.Valid(buf.Bytes()) {
		t.Fatalf("encoded task set is not JSON:\n%s", buf.Bytes())
	}
	check := func(t *testing.T, s *Set) {
		if s.Count != 3 || s.Mode != ModeF1Final || s.Name != "x" {
			t.Fatalf("header %+v", s.Header)
		}
		for i, uuid := range []string{"a", "b\u00e9", "c"} {
			tk, err := s.Task(i)
			if err != nil {
				t.Fatal(err)
			}
			if tk.UUID != uuid || tk.Question != "q <"+uuid+">" {
				t.Errorf("task %d = %+v", i, tk)
			}
		}
		if _, err := s.Task(3); err == nil {
			t.Error("task 3 of 3: want an error")
		}
	}
	t.Run("with offsets", func(t *testing.T) {
		s, err := Open(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		check(t, s)
	})
	t.Run("without offsets", func(t *testing.T) {
		// A hand-written set without offsets is read in full.
		var m map[string]json.RawMessage
		if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		delete(m, "offsets")
		b, _ := json.MarshalIndent(m, "", "  ")
		s, err := Open(b)
		if err != nil {
			t.Fatal(err)
		}
		check(t, s)
	})
	bad := []struct{ name, doc string }{
		{"not JSON", `nope`},
		{"wrong format", `{"format":"x","count":0,"tasks":[]}`},
		{"no tasks", `{"format":"` + Format + `","count":0}`},
		{"count mismatch", `{"format":"` + Format + `","count":2,"tasks":[{}]}`},
		{"unknown mode", `{"format":"` + Format + `","mode":"max","count":0,"tasks":[]}`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Open([]byte(tt.doc)); !errors.Is(err, ErrFormat) {
				t.Errorf("Open(%s) error %v, want ErrFormat", tt.doc, err)
			}
		})
	}
	t.Run("bad offset", func(t *testing.T) {
		b := bytes.Replace(buf.Bytes(), []byte(`"offsets":[1,`), []byte(`"offsets":[7,`), 1)
		s, err := Open(b)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Task(0); err == nil || !strings.Contains(err.Error(), "task 0") {
			t.Errorf("task at a wrong offset: error %v, want one naming task 0", err)
		}
	})
}

// FuzzOpen feeds arbitrary bytes to the task set reader, as a corrupted
// pack's configuration would reach the runner: it must return errors, never
// panic.
func FuzzOpen(f *testing.F) {
	var buf bytes.Buffer
	tk, _ := Marshal(&Task{UUID: "u", Question: "q", FinalAnswer: "a",
		Tools: []Tool{{Name: "f", Parameters: json.RawMessage(`{"type":"object"}`)}},
		Calls: []Call{{Tool: "f", Arguments: json.RawMessage(`{}`), Answer: "x"}},
		Subs:  []Sub{{ID: 1, Answer: "x", Level: 1, Call: 0}}})
	Encode(&buf, Header{Name: "x", Version: "1.0.0"}, [][]byte{tk, tk})
	f.Add(buf.Bytes())
	f.Add([]byte(`{"format":"` + Format + `","count":1,"tasks":[{"uuid":"u","calls":[{"tool":"f"}],"tools":[{"name":"f"}]}]}`))
	f.Add([]byte(`{"format":"` + Format + `","count":1,"offsets":[99],"tasks":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Open(b)
		if err != nil {
			return
		}
		for i := 0; i < s.Count && i < 100; i++ {
			tk, err := s.Task(i)
			if err != nil {
				continue
			}
			if tb, err := NewTable(tk); err == nil {
				for _, c := range tk.Calls {
					tb.Lookup(c.Tool, c.Arguments)
				}
			}
			Plan(tk)
			Reward(tk, s.Mode, Outcome{Results: []string{"x"}, Calls: 1, Final: "a", HasFinal: true})
		}
	})
}
