// Command bank is a stateful, multi-step tool environment: a small retail
// bank serving one customer per episode.
//
// # Tasks
//
// Each task generates, from ep.Rand, a customer with a checking and a
// savings account (sometimes a business account, sometimes frozen), a month
// of transaction history, and three or four bills. The customer then asks
// for something that needs reading state before acting, such as "move $X
// to savings, then pay the electricity bill, but only if checking keeps at
// least $Y", "top up checking to exactly $T", "pay bills smallest first
// above a floor", "move everything off the account I lost the card for,
// then freeze it", or "cover my most recent Streamly charge from savings".
// The template is task % 7; all amounts and names come from ep.Rand.
//
// # Tools
//
// Reads: list_accounts, get_balance, get_transactions, list_bills.
// Writes: transfer, deposit, withdraw, pay_bill, freeze_account. Money is
// integer cents. Business rules (no overdrafts, frozen accounts neither send
// nor receive, a $1,000 daily cash limit, bills are paid once, unknown ids)
// answer with tool errors the agent can read; the episode goes on.
//
// # Scoring
//
// The scorer compares the final state with the goal state, computed at reset
// by applying the reference solution to the opening state: every balance,
// freeze, bill payment, and the multiset of transactions made. Reward is 1
// when they match exactly, else 0; the final answer's text is not graded.
// Components: goal_met, writes, extra_writes (successful writes beyond the
// reference's), calls.
//
// The oracle reads (first turn), then makes the reference writes that are
// still missing, then answers with a summary. It plans from the opening
// state, so after an agent's own writes its advice may no longer reach the
// goal.
package main

import (
	"encoding/json"
	"fmt"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/sdk"
)

func init() { sdk.Register(func() sdk.Env { return new(bank) }) }

func main() {}

type bank struct {
	led    *ledger
	plan   plan
	want   string // snapshot of the goal state
	writes []op   // successful writes, canonical, in order
	reads  int    // successful reads
}

func (*bank) Spec() abi.Spec {
	return abi.Spec{
		Name:        "bank",
		Version:     "1.0.0",
		Description: "A small bank: read accounts, balances, transactions and bills, then move money under business rules to reach the customer's goal.",
		Tasks:       1000,
		MaxTurns:    12,
	}
}

func (b *bank) Reset(ep *sdk.Episode) (*sdk.Start, error) {
	b.led = newLedger(ep.Rand)
	b.plan = kinds[ep.Task%len(kinds)](ep.Rand, b.led)
	goal := b.led.clone()
	for _, o := range b.plan.ops {
		if _, _, err := goal.apply(o); err != nil {
			return nil, fmt.Errorf("bank: task %d (%s): reference write %s fails: %w", ep.Task, b.plan.kind, o.Tool, err)
		}
	}
	b.want = goal.snapshot()
	system := fmt.Sprintf("You are a banking assistant acting for %s, today %s. Use the tools to look up "+
		"accounts, balances, transactions and bills before acting; all amounts are integer cents. Make exactly "+
		"the changes the customer asks for and nothing else. When you are done, reply with a short summary.",
		b.led.customer, today)
	return &sdk.Start{
		Messages: []abi.Message{{Role: abi.RoleSystem, Content: system}, {Role: abi.RoleUser, Content: b.plan.prompt}},
		Tools:    b.tools(),
	}, nil
}

const (
	accountProp = `"account_id":{"type":"string","minLength":1,"description":"Account id from list_accounts, e.g. CHK-0420."}`
	amountProp  = `"amount_cents":{"type":"integer","minimum":1,"maximum":100000000,"description":"Amount in cents, e.g. 12550 for $125.50."}`
)

type accountArgs struct {
	Account string `json:"account_id"`
	Limit   int    `json:"limit"`
}

type moneyArgs struct {
	Account string `json:"account_id"`
	From    string `json:"from_account"`
	To      string `json:"to_account"`
	Bill    string `json:"bill_id"`
	Reason  string `json:"reason"`
	Amount  int64  `json:"amount_cents"`
}

func (b *bank) tools() []*sdk.Tool {
	write := func(name string) func(*sdk.Episode, moneyArgs) (any, error) {
		return func(_ *sdk.Episode, a moneyArgs) (any, error) {
			o, res, err := b.led.apply(op{Tool: name, Account: a.Account, From: a.From, To: a.To,
				Bill: a.Bill, Reason: a.Reason, Amount: a.Amount})
			if err != nil {
				return nil, err
			}
			b.writes = append(b.writes, o)
			return res, nil
		}
	}
	return []*sdk.Tool{
		sdk.NewTool("list_accounts", "List the customer's accounts: id, type, name and status (active or frozen). Balances are not included; use get_balance.",
			`{"type":"object","properties":{},"additionalProperties":false}`,
			func(*sdk.Episode, struct{}) (any, error) {
				out := make([]map[string]any, len(b.led.accounts))
				for i, a := range b.led.accounts {
					out[i] = map[string]any{"id": a.ID, "type": a.Type, "name": a.Name, "status": status(a)}
					if a.Frozen != "" {
						out[i]["freeze_reason"] = a.Frozen
					}
				}
				b.reads++
				return map[string]any{"customer": b.led.customer, "accounts": out}, nil
			}),
		sdk.NewTool("get_balance", "Get an account's current balance in cents.",
			`{"type":"object","properties":{`+accountProp+`},"required":["account_id"],"additionalProperties":false}`,
			func(_ *sdk.Episode, a accountArgs) (any, error) {
				acc, err := b.led.account(a.Account)
				if err != nil {
					return nil, err
				}
				b.reads++
				return map[string]any{"account_id": acc.ID, "balance_cents": acc.Balance, "status": status(acc)}, nil
			}),
		sdk.NewTool("get_transactions", "List an account's most recent transactions, newest first. Amounts are signed cents (negative leaves the account).",
			`{"type":"object","properties":{`+accountProp+`,"limit":{"type":"integer","minimum":1,"maximum":50,"default":10,"description":"How many transactions to return."}},"required":["account_id"],"additionalProperties":false}`,
			func(_ *sdk.Episode, a accountArgs) (any, error) {
				acc, err := b.led.account(a.Account)
				if err != nil {
					return nil, err
				}
				if a.Limit == 0 {
					a.Limit = 10
				}
				h := b.led.history[acc.ID]
				out := make([]txn, 0, a.Limit)
				for i := len(h) - 1; i >= 0 && len(out) < a.Limit; i-- {
					out = append(out, h[i])
				}
				b.reads++
				return map[string]any{"account_id": acc.ID, "transactions": out, "total": len(h)}, nil
			}),
		sdk.NewTool("list_bills", "List the customer's bills with id, payee, amount in cents, due date and status.",
			`{"type":"object","properties":{"status":{"type":"string","enum":["due","paid","all"],"default":"due","description":"Which bills to list."}},"additionalProperties":false}`,
			func(_ *sdk.Episode, a struct {
				Status string `json:"status"`
			}) (any, error) {
				if a.Status == "" {
					a.Status = "due"
				}
				out := []map[string]any{}
				for _, bl := range b.led.bills {
					st := "due"
					if bl.PaidFrom != "" {
						st = "paid"
					}
					if a.Status != "all" && a.Status != st {
						continue
					}
					m := map[string]any{"id": bl.ID, "payee": bl.Payee, "amount_cents": bl.Amount, "due_date": bl.Due, "status": st}
					if bl.PaidFrom != "" {
						m["paid_from"], m["paid_on"] = bl.PaidFrom, bl.PaidOn
					}
					out = append(out, m)
				}
				b.reads++
				return map[string]any{"bills": out}, nil
			}),
		sdk.NewTool("transfer", "Move money between two of the customer's accounts. Fails on insufficient funds or a frozen account.",
			`{"type":"object","properties":{"from_account":{"type":"string","minLength":1},"to_account":{"type":"string","minLength":1},`+amountProp+`},"required":["from_account","to_account","amount_cents"],"additionalProperties":false}`,
			write("transfer")),
		sdk.NewTool("deposit", "Deposit cash into an account.",
			`{"type":"object","properties":{`+accountProp+`,`+amountProp+`},"required":["account_id","amount_cents"],"additionalProperties":false}`,
			write("deposit")),
		sdk.NewTool("withdraw", "Withdraw cash from an account. Cash withdrawals are limited to $1,000.00 per day in total.",
			`{"type":"object","properties":{`+accountProp+`,`+amountProp+`},"required":["account_id","amount_cents"],"additionalProperties":false}`,
			write("withdraw")),
		sdk.NewTool("pay_bill", "Pay a due bill in full from an account.",
			`{"type":"object","properties":{"bill_id":{"type":"string","minLength":1,"description":"Bill id from list_bills."},"from_account":{"type":"string","minLength":1}},"required":["bill_id","from_account"],"additionalProperties":false}`,
			write("pay_bill")),
		sdk.NewTool("freeze_account", "Freeze an account. A frozen account can neither send nor receive money, and only the bank can unfreeze it.",
			`{"type":"object","properties":{`+accountProp+`,"reason":{"type":"string","enum":["lost_card","stolen_card","suspected_fraud","customer_request"]}},"required":["account_id","reason"],"additionalProperties":false}`,
			write("freeze_account")),
	}
}

func status(a *account) string {
	if a.Frozen != "" {
		return "frozen"
	}
	return "active"
}

func (b *bank) Score(ep *sdk.Episode) (abi.Score, error) {
	goal := 0.0
	if b.led.snapshot() == b.want {
		goal = 1
	}
	extra := max(len(b.writes)-len(b.plan.ops), 0)
	return abi.Score{Reward: goal, Components: map[string]float64{
		"goal_met":     goal,
		"writes":       float64(len(b.writes)),
		"extra_writes": float64(extra),
		"calls":        float64(ep.Calls),
	}}, nil
}

// pending returns the reference writes not made yet, in plan order.
func (b *bank) pending() []op {
	used := make([]bool, len(b.writes))
	var out []op
next:
	for _, o := range b.plan.ops {
		for i, w := range b.writes {
			if !used[i] && w == o {
				used[i] = true
				continue next
			}
		}
		out = append(out, o)
	}
	return out
}

func (b *bank) Oracle(ep *sdk.Episode) (abi.Message, error) {
	var calls []call
	if b.reads == 0 {
		calls = b.plan.reads
	} else {
		for _, o := range b.pending() {
			calls = append(calls, call{o.Tool, o.args()})
		}
	}
	if len(calls) == 0 {
		return abi.Message{Role: abi.RoleAssistant, Content: b.plan.summary}, nil
	}
	msg := abi.Message{Role: abi.RoleAssistant}
	for i, c := range calls {
		args, err := json.Marshal(c.args)
		if err != nil {
			return abi.Message{}, fmt.Errorf("bank: oracle: encode %s arguments: %w", c.tool, err)
		}
		msg.ToolCalls = append(msg.ToolCalls, abi.ToolCall{ID: fmt.Sprintf("oracle_%d_%d", ep.Turn, i), Type: "function",
			Function: abi.FunctionCall{Name: c.tool, Arguments: string(args)}})
	}
	return msg, nil
}
