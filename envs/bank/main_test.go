package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/sdk"
)

// Task indexes by template (task % 7).
const (
	kindTransferThenBill = iota
	kindTopUp
	kindBillsAboveFloor
	kindLostCard
	kindCash
	kindCoverCharge
	kindDepositThenBill
)

func newNative() *sdk.Native { return sdk.NewNative(func() sdk.Env { return new(bank) }) }

func reset(tb testing.TB, n *sdk.Native, seed uint64, task int) abi.Observation {
	tb.Helper()
	obs, err := n.Reset(seed, task)
	if err != nil {
		tb.Fatalf("reset(%d, %d): %v", seed, task, err)
	}
	return obs
}

// runOracle plays the oracle to the end and returns the score and the
// actions it took.
func runOracle(tb testing.TB, n *sdk.Native) (abi.Score, []abi.Message) {
	tb.Helper()
	var acts []abi.Message
	for turn := 0; turn < 10; turn++ {
		act, err := n.Oracle()
		if err != nil {
			tb.Fatalf("oracle: %v", err)
		}
		acts = append(acts, act)
		res, err := n.Step(act)
		if err != nil {
			tb.Fatalf("step: %v", err)
		}
		for _, m := range res.Messages {
			if strings.HasPrefix(m.Content, `{"error"`) {
				tb.Fatalf("oracle call %s failed: %s", m.Name, m.Content)
			}
		}
		if res.Done {
			s, err := n.Score()
			if err != nil {
				tb.Fatalf("score: %v", err)
			}
			return s, acts
		}
	}
	tb.Fatalf("oracle did not finish in 10 turns")
	return abi.Score{}, nil
}

// callTool makes one tool call and returns the tool message content.
func callTool(t *testing.T, n *sdk.Native, name string, args any) string {
	t.Helper()
	b, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	res, err := n.Step(abi.Message{Role: abi.RoleAssistant, ToolCalls: []abi.ToolCall{{ID: "c", Type: "function",
		Function: abi.FunctionCall{Name: name, Arguments: string(b)}}}})
	if err != nil {
		t.Fatalf("step %s: %v", name, err)
	}
	if len(res.Messages) != 1 || res.Done {
		t.Fatalf("step %s: got %d messages, done=%v", name, len(res.Messages), res.Done)
	}
	return res.Messages[0].Content
}

func score(t *testing.T, n *sdk.Native) abi.Score {
	t.Helper()
	if _, err := n.Step(abi.Message{Role: abi.RoleAssistant, Content: "done"}); err != nil {
		t.Fatal(err)
	}
	s, err := n.Score()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ids returns the account ids by type and the bills from the env's own tools.
func ids(t *testing.T, n *sdk.Native) (map[string]string, []map[string]any) {
	t.Helper()
	var accts struct {
		Accounts []struct{ ID, Type, Status string }
	}
	if err := json.Unmarshal([]byte(callTool(t, n, "list_accounts", map[string]any{})), &accts); err != nil {
		t.Fatal(err)
	}
	byType := map[string]string{}
	for _, a := range accts.Accounts {
		byType[a.Type] = a.ID
	}
	var bills struct{ Bills []map[string]any }
	if err := json.Unmarshal([]byte(callTool(t, n, "list_bills", map[string]any{"status": "all"})), &bills); err != nil {
		t.Fatal(err)
	}
	return byType, bills.Bills
}

func balance(t *testing.T, n *sdk.Native, id string) int64 {
	t.Helper()
	var b struct {
		Balance int64 `json:"balance_cents"`
	}
	if err := json.Unmarshal([]byte(callTool(t, n, "get_balance", map[string]any{"account_id": id})), &b); err != nil {
		t.Fatal(err)
	}
	return b.Balance
}

func TestOracleScoresOne(t *testing.T) {
	n := newNative()
	for i := range 300 {
		seed, task := uint64(i)*7919+3, (i*37)%1000
		t.Run(fmt.Sprintf("seed=%d/task=%d", seed, task), func(t *testing.T) {
			reset(t, n, seed, task)
			s, acts := runOracle(t, n)
			if s.Reward != 1 || s.Components["extra_writes"] != 0 {
				t.Fatalf("score = %+v, want reward 1 and no extra writes", s)
			}
			for turn, a := range acts {
				for j, c := range a.ToolCalls {
					if want := fmt.Sprintf("oracle_%d_%d", turn, j); c.ID != want {
						t.Errorf("turn %d call %d id = %q, want %q", turn, j, c.ID, want)
					}
				}
			}
		})
	}
}

func TestNullPolicyScoresZero(t *testing.T) {
	n := newNative()
	for task := range 70 {
		reset(t, n, 11, task)
		res, err := n.Step(abi.Message{Role: abi.RoleAssistant})
		if err != nil || !res.Done {
			t.Fatalf("task %d: empty answer: done=%v err=%v", task, res.Done, err)
		}
		if s, err := n.Score(); err != nil || s.Reward != 0 {
			t.Errorf("task %d: score = %+v, %v; want reward 0", task, s, err)
		}
	}
}

// Both outcomes of each conditional template occur, so an agent cannot
// succeed by always (or never) taking the conditional action.
func TestConditionalBranchesBothOccur(t *testing.T) {
	for _, tc := range []struct {
		name   string
		kind   int
		branch func(p plan) string
	}{
		{"pay the bill or not", kindTransferThenBill, func(p plan) string { return fmt.Sprint(len(p.ops)) }},
		{"cash from checking or savings", kindCash, func(p plan) string { return p.ops[0].Account[:3] }},
		{"bill from checking or savings", kindDepositThenBill, func(p plan) string { return p.ops[1].From[:3] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen := map[string]int{}
			for task := tc.kind; task < 1000; task += len(kinds) {
				r := rand.New(rand.NewPCG(5, uint64(task)))
				seen[tc.branch(kinds[tc.kind](r, newLedger(r)))]++
			}
			if len(seen) != 2 {
				t.Errorf("branches taken over all tasks: %v, want two", seen)
			}
		})
	}
}

func TestDeterminism(t *testing.T) {
	for _, tc := range []struct {
		seed uint64
		task int
	}{{0, 0}, {1, 1}, {42, 5}, {1 << 60, 999}} {
		t.Run(fmt.Sprintf("%d/%d", tc.seed, tc.task), func(t *testing.T) {
			episode := func() ([]byte, [][]byte) {
				n := newNative()
				obs, err := json.Marshal(reset(t, n, tc.seed, tc.task))
				if err != nil {
					t.Fatal(err)
				}
				var steps [][]byte
				for {
					act, err := n.Oracle()
					if err != nil {
						t.Fatal(err)
					}
					b, _ := json.Marshal(act)
					st, out := n.StepRaw(b)
					if st != abi.StatusOK {
						t.Fatalf("step: %s %s", st, out)
					}
					steps = append(steps, out)
					if strings.Contains(string(out), `"done":true`) {
						return obs, steps
					}
				}
			}
			obs1, steps1 := episode()
			obs2, steps2 := episode()
			if string(obs1) != string(obs2) {
				t.Fatalf("reset differs:\n%s\n%s", obs1, obs2)
			}
			if fmt.Sprint(steps1) != fmt.Sprint(steps2) {
				t.Fatalf("steps differ:\n%s\n%s", steps1, steps2)
			}
			other, err := json.Marshal(reset(t, newNative(), tc.seed+1, tc.task))
			if err != nil {
				t.Fatal(err)
			}
			if string(other) == string(obs1) {
				t.Fatalf("seeds %d and %d give the same episode", tc.seed, tc.seed+1)
			}
		})
	}
}

func TestSchemasAreClosed(t *testing.T) {
	obs := reset(t, newNative(), 1, 0)
	if len(obs.Tools) < 6 {
		t.Fatalf("got %d tools, want at least 6", len(obs.Tools))
	}
	for _, tool := range obs.Tools {
		var s struct {
			AdditionalProperties *bool `json:"additionalProperties"`
		}
		if err := json.Unmarshal(tool.Function.Parameters, &s); err != nil {
			t.Fatalf("%s: %v", tool.Function.Name, err)
		}
		if s.AdditionalProperties == nil || *s.AdditionalProperties {
			t.Errorf("%s: additionalProperties is not false", tool.Function.Name)
		}
	}
}

func TestBadCallsAreToolErrors(t *testing.T) {
	for _, tc := range []struct{ name, tool, args, want string }{
		{"unknown tool", "rob_bank", `{}`, "unknown tool"},
		{"malformed json", "get_balance", `{"account_id":`, "not valid JSON"},
		{"missing required", "transfer", `{"from_account":"A","to_account":"B"}`, "amount_cents"},
		{"amount as string", "deposit", `{"account_id":"A","amount_cents":"100"}`, "amount_cents"},
		{"negative amount", "withdraw", `{"account_id":"A","amount_cents":-5}`, "minimum"},
		{"fractional cents", "deposit", `{"account_id":"A","amount_cents":1.5}`, "amount_cents"},
		{"extra property", "get_balance", `{"account_id":"A","pin":"1234"}`, "pin"},
		{"bad enum", "freeze_account", `{"account_id":"A","reason":"bored"}`, "reason"},
		{"limit too large", "get_transactions", `{"account_id":"A","limit":500}`, "maximum"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNative()
			reset(t, n, 3, 0)
			res, err := n.Step(abi.Message{Role: abi.RoleAssistant, ToolCalls: []abi.ToolCall{{ID: "x", Type: "function",
				Function: abi.FunctionCall{Name: tc.tool, Arguments: tc.args}}}})
			if err != nil {
				t.Fatalf("step failed instead of returning a tool error: %v", err)
			}
			got := res.Messages[0].Content
			if !strings.HasPrefix(got, `{"error":`) || !strings.Contains(got, tc.want) {
				t.Errorf("content = %s, want a tool error mentioning %q", got, tc.want)
			}
			if s := score(t, n); s.Components["writes"] != 0 {
				t.Errorf("a bad call changed state: %+v", s)
			}
		})
	}
}

func TestBusinessRules(t *testing.T) {
	for _, tc := range []struct {
		name string
		// do makes calls and returns the content of the call under test.
		do   func(t *testing.T, n *sdk.Native, acct map[string]string, bills []map[string]any) string
		want string // substring of the content; "" means success
	}{
		{"overdraft", func(t *testing.T, n *sdk.Native, a map[string]string, _ []map[string]any) string {
			return callTool(t, n, "transfer", map[string]any{"from_account": a["checking"], "to_account": a["savings"],
				"amount_cents": balance(t, n, a["checking"]) + 1})
		}, "insufficient funds"},
		{"whole balance", func(t *testing.T, n *sdk.Native, a map[string]string, _ []map[string]any) string {
			return callTool(t, n, "transfer", map[string]any{"from_account": a["checking"], "to_account": a["savings"],
				"amount_cents": balance(t, n, a["checking"])})
		}, ""},
		{"same account", func(t *testing.T, n *sdk.Native, a map[string]string, _ []map[string]any) string {
			return callTool(t, n, "transfer", map[string]any{"from_account": a["savings"], "to_account": a["savings"], "amount_cents": 100})
		}, "two different accounts"},
		{"unknown account", func(t *testing.T, n *sdk.Native, a map[string]string, _ []map[string]any) string {
			return callTool(t, n, "get_balance", map[string]any{"account_id": "CHK-99999"})
		}, "unknown account"},
		{"ids ignore case", func(t *testing.T, n *sdk.Native, a map[string]string, _ []map[string]any) string {
			return callTool(t, n, "deposit", map[string]any{"account_id": strings.ToLower(a["checking"]), "amount_cents": 100})
		}, ""},
		{"frozen sends nothing", func(t *testing.T, n *sdk.Native, a map[string]string, _ []map[string]any) string {
			callTool(t, n, "freeze_account", map[string]any{"account_id": a["checking"], "reason": "lost_card"})
			return callTool(t, n, "transfer", map[string]any{"from_account": a["checking"], "to_account": a["savings"], "amount_cents": 100})
		}, "is frozen"},
		{"frozen receives nothing", func(t *testing.T, n *sdk.Native, a map[string]string, _ []map[string]any) string {
			callTool(t, n, "freeze_account", map[string]any{"account_id": a["savings"], "reason": "customer_request"})
			return callTool(t, n, "deposit", map[string]any{"account_id": a["savings"], "amount_cents": 100})
		}, "is frozen"},
		{"freeze twice", func(t *testing.T, n *sdk.Native, a map[string]string, _ []map[string]any) string {
			callTool(t, n, "freeze_account", map[string]any{"account_id": a["checking"], "reason": "lost_card"})
			return callTool(t, n, "freeze_account", map[string]any{"account_id": a["checking"], "reason": "lost_card"})
		}, "already frozen"},
		{"daily cash limit", func(t *testing.T, n *sdk.Native, a map[string]string, _ []map[string]any) string {
			if got := callTool(t, n, "withdraw", map[string]any{"account_id": a["savings"], "amount_cents": 600_00}); strings.Contains(got, "error") {
				t.Fatalf("first withdrawal: %s", got)
			}
			return callTool(t, n, "withdraw", map[string]any{"account_id": a["checking"], "amount_cents": 400_01})
		}, "cash limit"},
		{"bill paid once", func(t *testing.T, n *sdk.Native, a map[string]string, bills []map[string]any) string {
			args := map[string]any{"bill_id": bills[0]["id"], "from_account": a["savings"]}
			callTool(t, n, "pay_bill", args)
			return callTool(t, n, "pay_bill", args)
		}, "already paid"},
		{"unknown bill", func(t *testing.T, n *sdk.Native, a map[string]string, _ []map[string]any) string {
			return callTool(t, n, "pay_bill", map[string]any{"bill_id": "BILL-000", "from_account": a["checking"]})
		}, "unknown bill"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNative()
			reset(t, n, 9, 2)
			acct, bills := ids(t, n)
			got := tc.do(t, n, acct, bills)
			isErr := strings.HasPrefix(got, `{"error":`)
			if tc.want == "" && isErr {
				t.Fatalf("got error %s, want success", got)
			}
			if tc.want != "" && (!isErr || !strings.Contains(got, tc.want)) {
				t.Fatalf("got %s, want an error mentioning %q", got, tc.want)
			}
		})
	}
}

func TestScoringRejectsWrongPaths(t *testing.T) {
	for _, tc := range []struct {
		name  string
		task  int
		do    func(t *testing.T, n *sdk.Native, acct map[string]string)
		extra float64
	}{
		{"freeze before moving the money", kindLostCard, func(t *testing.T, n *sdk.Native, a map[string]string) {
			callTool(t, n, "freeze_account", map[string]any{"account_id": a["checking"], "reason": "lost_card"})
			callTool(t, n, "transfer", map[string]any{"from_account": a["checking"], "to_account": a["savings"],
				"amount_cents": balance(t, n, a["checking"])})
		}, 0},
		{"top up in two transfers", kindTopUp, func(t *testing.T, n *sdk.Native, a map[string]string) {
			act, err := n.Oracle() // the reference writes, after ids() did the reads
			if err != nil {
				t.Fatal(err)
			}
			var args map[string]any
			if err := json.Unmarshal([]byte(act.ToolCalls[0].Function.Arguments), &args); err != nil {
				t.Fatal(err)
			}
			amt := int64(args["amount_cents"].(float64))
			for _, part := range []int64{amt / 2, amt - amt/2} {
				args["amount_cents"] = part
				callTool(t, n, "transfer", args)
			}
		}, 1},
		{"reference plus a round trip", kindTransferThenBill, func(t *testing.T, n *sdk.Native, a map[string]string) {
			act, err := n.Oracle()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := n.Step(act); err != nil {
				t.Fatal(err)
			}
			callTool(t, n, "transfer", map[string]any{"from_account": a["checking"], "to_account": a["savings"], "amount_cents": 100})
			callTool(t, n, "transfer", map[string]any{"from_account": a["savings"], "to_account": a["checking"], "amount_cents": 100})
		}, 2},
		{"wrong account for cash", kindCash, func(t *testing.T, n *sdk.Native, a map[string]string) {
			act, err := n.Oracle()
			if err != nil {
				t.Fatal(err)
			}
			var args map[string]any
			if err := json.Unmarshal([]byte(act.ToolCalls[0].Function.Arguments), &args); err != nil {
				t.Fatal(err)
			}
			if args["account_id"] == a["checking"] {
				args["account_id"] = a["savings"]
			} else {
				args["account_id"] = a["checking"]
			}
			callTool(t, n, "withdraw", args)
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for seed := range uint64(20) {
				n := newNative()
				reset(t, n, seed, tc.task)
				acct, _ := ids(t, n)
				tc.do(t, n, acct)
				s := score(t, n)
				if s.Reward != 0 || s.Components["extra_writes"] != tc.extra {
					t.Fatalf("seed %d: score = %+v, want reward 0 with %v extra writes", seed, s, tc.extra)
				}
			}
		})
	}
}

func TestOracleDoesNotMutate(t *testing.T) {
	n := newNative()
	reset(t, n, 8, kindDepositThenBill)
	first, err := n.Oracle()
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		again, err := n.Oracle()
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(again) != fmt.Sprint(first) {
			t.Fatalf("oracle changed its mind: %+v then %+v", first, again)
		}
	}
	if s, _ := n.Score(); s.Components["writes"] != 0 || s.Components["calls"] != 0 {
		t.Fatalf("oracle changed state: %+v", s)
	}
}

func TestDollars(t *testing.T) {
	for c, want := range map[int64]string{0: "$0.00", 5: "$0.05", 123456: "$1,234.56", 100000000: "$1,000,000.00", -250: "-$2.50"} {
		if got := dollars(c); got != want {
			t.Errorf("dollars(%d) = %q, want %q", c, got, want)
		}
	}
}

func BenchmarkNativeEpisode(b *testing.B) {
	n := newNative()
	for i := 0; b.Loop(); i++ {
		reset(b, n, uint64(i), i%1000)
		if s, _ := runOracle(b, n); s.Reward != 1 {
			b.Fatalf("reward %v", s.Reward)
		}
	}
}

// BenchmarkNativeStep measures one step with two read calls.
func BenchmarkNativeStep(b *testing.B) {
	n := newNative()
	reset(b, n, 1, 0)
	act, err := n.Oracle()
	if err != nil {
		b.Fatal(err)
	}
	act.ToolCalls = act.ToolCalls[:2] // list_accounts, get_balance
	raw, err := json.Marshal(act)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		if i%1000 == 999 { // keep the episode's result log small
			b.StopTimer()
			reset(b, n, 1, 0)
			b.StartTimer()
		}
		if st, out := n.StepRaw(raw); st != abi.StatusOK {
			b.Fatalf("step: %s", out)
		}
	}
}
