package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/terrarium-rl/terrarium/sdk"
)

// today is the date of every episode: history is dated before it, and
// everything the agent does is dated on it. A fixed date keeps episodes
// reproducible.
const today = "2025-06-30"

// dailyCashLimit bounds cash withdrawals per day, in cents.
const dailyCashLimit = 1000_00

type account struct {
	ID      string
	Type    string // checking, savings, business
	Name    string
	Balance int64  // cents
	Frozen  string // freeze reason; empty while active
}

type bill struct {
	ID       string
	Payee    string
	Amount   int64 // cents
	Due      string
	PaidFrom string // account id; empty while due
	PaidOn   string
}

type txn struct {
	ID           string `json:"id"`
	Date         string `json:"date"`
	Type         string `json:"type"`
	AmountCents  int64  `json:"amount_cents"` // signed: negative leaves the account
	Description  string `json:"description"`
	BalanceAfter int64  `json:"balance_after_cents"`
}

// ledger is a customer's state at the bank. All money is integer cents.
type ledger struct {
	customer  string
	accounts  []*account // in display order
	bills     []*bill    // in display order
	history   map[string][]txn
	cashToday int64
	nextTxn   int
	made      []string // canonical lines of the transactions made in the episode
}

// op is one write the agent can make, with canonical ids. It is comparable,
// so the oracle can match the writes made against the reference plan.
type op struct {
	Tool    string
	Account string // deposit, withdraw, freeze_account
	From    string // transfer, pay_bill
	To      string // transfer
	Bill    string // pay_bill
	Reason  string // freeze_account
	Amount  int64
}

// args renders the op as the arguments of its tool call.
func (o op) args() map[string]any {
	switch o.Tool {
	case "transfer":
		return map[string]any{"from_account": o.From, "to_account": o.To, "amount_cents": o.Amount}
	case "pay_bill":
		return map[string]any{"bill_id": o.Bill, "from_account": o.From}
	case "freeze_account":
		return map[string]any{"account_id": o.Account, "reason": o.Reason}
	}
	return map[string]any{"account_id": o.Account, "amount_cents": o.Amount}
}

func (l *ledger) clone() *ledger {
	c := *l
	c.accounts = make([]*account, len(l.accounts))
	for i, a := range l.accounts {
		cp := *a
		c.accounts[i] = &cp
	}
	c.bills = make([]*bill, len(l.bills))
	for i, b := range l.bills {
		cp := *b
		c.bills[i] = &cp
	}
	c.history = make(map[string][]txn, len(l.history))
	for k, v := range l.history {
		c.history[k] = append([]txn(nil), v...)
	}
	c.made = append([]string(nil), l.made...)
	return &c
}

func (l *ledger) ids() string {
	ids := make([]string, len(l.accounts))
	for i, a := range l.accounts {
		ids[i] = a.ID
	}
	return strings.Join(ids, ", ")
}

// account finds an account by id, ignoring case, so that "chk-1234" works.
func (l *ledger) account(id string) (*account, error) {
	for _, a := range l.accounts {
		if strings.EqualFold(a.ID, strings.TrimSpace(id)) {
			return a, nil
		}
	}
	return nil, sdk.Errorf("unknown account %q; this customer's accounts are %s", id, l.ids())
}

// active is account for money movements: frozen accounts neither send nor
// receive.
func (l *ledger) active(id string) (*account, error) {
	a, err := l.account(id)
	if err != nil {
		return nil, err
	}
	if a.Frozen != "" {
		return nil, sdk.Errorf("account %s is frozen (%s); it cannot send or receive money", a.ID, a.Frozen)
	}
	return a, nil
}

func (l *ledger) bill(id string) (*bill, error) {
	for _, b := range l.bills {
		if strings.EqualFold(b.ID, strings.TrimSpace(id)) {
			return b, nil
		}
	}
	ids := make([]string, len(l.bills))
	for i, b := range l.bills {
		ids[i] = b.ID
	}
	return nil, sdk.Errorf("unknown bill %q; this customer's bills are %s", id, strings.Join(ids, ", "))
}

// post books a transaction. History is posted at reset; record posts the
// episode's own transactions, which the scorer compares.
func (l *ledger) post(a *account, date, typ string, amount int64, desc string) txn {
	a.Balance += amount
	t := txn{ID: fmt.Sprintf("T%d", l.nextTxn), Date: date, Type: typ, AmountCents: amount,
		Description: desc, BalanceAfter: a.Balance}
	l.nextTxn++
	l.history[a.ID] = append(l.history[a.ID], t)
	return t
}

func (l *ledger) record(a *account, typ string, amount int64, desc string) txn {
	l.made = append(l.made, fmt.Sprintf("%s|%s|%d|%s", a.ID, typ, amount, desc))
	return l.post(a, today, typ, amount, desc)
}

func (l *ledger) funds(a *account, amount int64) error {
	if a.Balance < amount {
		return sdk.Errorf("insufficient funds: %s has %s available, %s requested (overdrafts are not allowed)",
			a.ID, dollars(a.Balance), dollars(amount))
	}
	return nil
}

// apply performs a write under the bank's rules. It returns the op with
// canonical ids and the tool's result; its errors are meant for the agent.
func (l *ledger) apply(o op) (op, any, error) {
	switch o.Tool {
	case "transfer":
		from, err := l.active(o.From)
		if err != nil {
			return o, nil, err
		}
		to, err := l.active(o.To)
		if err != nil {
			return o, nil, err
		}
		if from == to {
			return o, nil, sdk.Errorf("from_account and to_account are both %s; a transfer needs two different accounts", from.ID)
		}
		if err := l.funds(from, o.Amount); err != nil {
			return o, nil, err
		}
		out := l.record(from, "transfer_out", -o.Amount, "Transfer to "+to.ID)
		in := l.record(to, "transfer_in", o.Amount, "Transfer from "+from.ID)
		o.From, o.To = from.ID, to.ID
		return o, map[string]any{"status": "completed", "transactions": []txn{out, in},
			"from_balance_cents": from.Balance, "to_balance_cents": to.Balance}, nil
	case "deposit":
		a, err := l.active(o.Account)
		if err != nil {
			return o, nil, err
		}
		t := l.record(a, "deposit", o.Amount, "Cash deposit")
		o.Account = a.ID
		return o, map[string]any{"status": "completed", "transaction": t}, nil
	case "withdraw":
		a, err := l.active(o.Account)
		if err != nil {
			return o, nil, err
		}
		if left := dailyCashLimit - l.cashToday; o.Amount > left {
			return o, nil, sdk.Errorf("withdrawal of %s exceeds today's remaining cash limit of %s (daily limit %s)",
				dollars(o.Amount), dollars(left), dollars(dailyCashLimit))
		}
		if err := l.funds(a, o.Amount); err != nil {
			return o, nil, err
		}
		l.cashToday += o.Amount
		t := l.record(a, "withdrawal", -o.Amount, "Cash withdrawal")
		o.Account = a.ID
		return o, map[string]any{"status": "completed", "transaction": t}, nil
	case "pay_bill":
		b, err := l.bill(o.Bill)
		if err != nil {
			return o, nil, err
		}
		if b.PaidFrom != "" {
			return o, nil, sdk.Errorf("bill %s (%s) was already paid on %s from %s", b.ID, b.Payee, b.PaidOn, b.PaidFrom)
		}
		a, err := l.active(o.From)
		if err != nil {
			return o, nil, err
		}
		if err := l.funds(a, b.Amount); err != nil {
			return o, nil, err
		}
		t := l.record(a, "bill_payment", -b.Amount, "Bill "+b.ID+": "+b.Payee)
		b.PaidFrom, b.PaidOn = a.ID, today
		o.Bill, o.From = b.ID, a.ID
		return o, map[string]any{"status": "paid", "bill_id": b.ID, "transaction": t}, nil
	case "freeze_account":
		a, err := l.account(o.Account)
		if err != nil {
			return o, nil, err
		}
		if a.Frozen != "" {
			return o, nil, sdk.Errorf("account %s is already frozen (%s)", a.ID, a.Frozen)
		}
		a.Frozen = o.Reason
		o.Account = a.ID
		return o, map[string]any{"status": "frozen", "account_id": a.ID, "reason": o.Reason}, nil
	}
	return o, nil, fmt.Errorf("bank: no write named %q", o.Tool)
}

// snapshot renders everything the scorer compares: balances, freezes, bill
// payments and the transactions made (sorted, so that independent writes
// may come in any order).
func (l *ledger) snapshot() string {
	var sb strings.Builder
	for _, a := range l.accounts {
		fmt.Fprintf(&sb, "account %s balance=%d frozen=%s\n", a.ID, a.Balance, a.Frozen)
	}
	for _, b := range l.bills {
		fmt.Fprintf(&sb, "bill %s paid_from=%s\n", b.ID, b.PaidFrom)
	}
	made := append([]string(nil), l.made...)
	sort.Strings(made)
	for _, m := range made {
		fmt.Fprintf(&sb, "made %s\n", m)
	}
	return sb.String()
}

// dollars formats cents as "$1,234.56" (or "-$5.00").
func dollars(c int64) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	whole := fmt.Sprint(c / 100)
	for i := len(whole) - 3; i > 0; i -= 3 {
		whole = whole[:i] + "," + whole[i:]
	}
	return fmt.Sprintf("%s$%s.%02d", sign, whole, c%100)
}
