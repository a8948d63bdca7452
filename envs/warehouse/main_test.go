package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/sdk"
)

// fakeDB answers the env's queries natively: the product list, and 42 for
// anything else.
func fakeDB(t *testing.T) {
	t.Helper()
	sdk.SetNativeBackend(func(name string, req []byte) ([]byte, error) {
		if name != "sqlite/query" {
			t.Errorf("called %q", name)
		}
		var q struct{ SQL string }
		json.Unmarshal(req, &q)
		if strings.Contains(q.SQL, "FROM products ORDER BY") {
			return []byte(`{"columns":["name"],"rows":[["Blue Widget"],["Gear Set"]]}`), nil
		}
		if strings.HasPrefix(q.SQL, "DELETE") {
			return nil, &sdk.BackendError{Status: abi.StatusBadRequest, Message: "attempt to write a readonly database"}
		}
		return []byte(`{"columns":["n"],"rows":[[42]]}`), nil
	})
	t.Cleanup(func() { sdk.SetNativeBackend(nil) })
}

func step(t *testing.T, n *sdk.Native, tool string, args map[string]string) abi.StepResult {
	t.Helper()
	b, _ := json.Marshal(args)
	res, err := n.Step(abi.Message{Role: abi.RoleAssistant, ToolCalls: []abi.ToolCall{{ID: "c", Type: "function",
		Function: abi.FunctionCall{Name: tool, Arguments: string(b)}}}})
	if err != nil {
		t.Fatalf("step: %v", err)
	}
	return res
}

func TestScoring(t *testing.T) {
	fakeDB(t)
	tests := []struct {
		answer string
		want   float64
	}{{"42", 1}, {" 42 ", 1}, {"41", 0}, {"", 0}}
	for _, tc := range tests {
		t.Run(tc.answer, func(t *testing.T) {
			n := sdk.NewNative(func() sdk.Env { return new(warehouse) })
			obs, err := n.Reset(3, 0)
			if err != nil {
				t.Fatal(err)
			}
			if q := obs.Messages[1].Content; !strings.Contains(q, "Blue Widget") && !strings.Contains(q, "Gear Set") {
				t.Fatalf("question %q names no product from the database", q)
			}
			if res := step(t, n, "answer", map[string]string{"answer": tc.answer}); !res.Done {
				t.Fatal("answer did not end the episode")
			}
			s, err := n.Score()
			if err != nil || s.Reward != tc.want {
				t.Fatalf("score = %v, %v; want %v", s.Reward, err, tc.want)
			}
		})
	}
}

func TestOracleAndRefusal(t *testing.T) {
	fakeDB(t)
	n := sdk.NewNative(func() sdk.Env { return new(warehouse) })
	if _, err := n.Reset(1, 2); err != nil {
		t.Fatal(err)
	}
	if res := step(t, n, "query", map[string]string{"sql": "DELETE FROM stock"}); !strings.Contains(res.Messages[0].Content, "readonly") {
		t.Fatalf("a refused query showed %q", res.Messages[0].Content)
	}
	for range 4 {
		act, err := n.Oracle()
		if err != nil {
			t.Fatal(err)
		}
		if res, err := n.Step(act); err != nil || res.Done {
			break
		}
	}
	if s, _ := n.Score(); s.Reward != 1 {
		t.Fatalf("oracle scored %v", s.Reward)
	}
}

func TestWithoutBackend(t *testing.T) {
	n := sdk.NewNative(func() sdk.Env { return new(warehouse) })
	obs, err := n.Reset(1, 0)
	if err != nil {
		t.Fatalf("reset without the backend: %v", err)
	}
	if !strings.Contains(obs.Messages[0].Content, "unavailable") {
		t.Fatalf("reset said %q", obs.Messages[0].Content)
	}
	step(t, n, "answer", map[string]string{"answer": ""})
	if s, _ := n.Score(); s.Reward != 0 {
		t.Fatalf("scored %v without a database", s.Reward)
	}
}
