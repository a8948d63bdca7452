package main

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
)

var (
	firstNames = []string{"Ava", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Iris", "Jonah", "Kira", "Luis", "Maya", "Nils", "Omar", "Priya"}
	lastNames  = []string{"Abbott", "Brennan", "Castillo", "Dalton", "Eriksen", "Fischer", "Gupta", "Hale", "Ito", "Jensen", "Kowalski", "Lindqvist"}
	// Five merchants for at least seven purchases: some merchant repeats,
	// which the "cover my most recent charge" task relies on.
	merchants = []string{"Corner Cafe", "Fuel Stop", "Green Grocer", "Streamly", "City Transit"}
	payees    = []string{"electricity", "water", "internet", "phone", "gas", "insurance"}
)

// call is a tool call of the reference solution.
type call struct {
	tool string
	args map[string]any
}

// plan is a generated task: what the customer asks, and the reference
// solution (reads, then writes, then a summary).
type plan struct {
	kind    string
	prompt  string
	reads   []call
	ops     []op
	summary string
}

// kinds are the task templates, chosen by task index so that every range
// of tasks covers all of them.
var kinds = []func(r *rand.Rand, l *ledger) plan{
	transferThenBill, topUp, billsAboveFloor, lostCard, cashWithdrawal, coverCharge, depositThenBill,
}

func rint(r *rand.Rand, lo, hi int64) int64 { return lo + r.Int64N(hi-lo+1) } // in [lo, hi]

// newLedger generates a customer: two or three accounts with a month of
// history, and three or four bills.
func newLedger(r *rand.Rand) *ledger {
	l := &ledger{
		customer: firstNames[r.IntN(len(firstNames))] + " " + lastNames[r.IntN(len(lastNames))],
		history:  map[string][]txn{},
		nextTxn:  int(rint(r, 10000, 89999)),
	}
	chk := &account{ID: fmt.Sprintf("CHK-%04d", r.IntN(10000)), Type: "checking", Name: "Everyday Checking"}
	sav := &account{ID: fmt.Sprintf("SAV-%04d", r.IntN(10000)), Type: "savings", Name: "High-Yield Savings"}
	l.accounts = []*account{chk, sav}
	var bus *account
	if r.IntN(3) == 0 {
		bus = &account{ID: fmt.Sprintf("BUS-%04d", r.IntN(10000)), Type: "business", Name: "Business Checking"}
		l.accounts = append(l.accounts, bus)
	}

	// Checking: an opening balance, a payroll and 7-11 card purchases of at
	// most $120, so it never drops below $1,180.
	l.post(chk, "2025-06-01", "deposit", rint(r, 2500_00, 6000_00), "Opening balance")
	days := r.Perm(28)[:8+r.IntN(5)]
	sort.Ints(days)
	for i, d := range days {
		date := fmt.Sprintf("2025-06-%02d", d+2)
		if i == len(days)/2 {
			l.post(chk, date, "payroll", rint(r, 1800_00, 3500_00), "Payroll: Northwind Ltd")
			continue
		}
		l.post(chk, date, "card_purchase", -rint(r, 4_00, 120_00), merchants[r.IntN(len(merchants))])
	}
	l.post(sav, "2025-06-01", "deposit", rint(r, 3000_00, 20000_00), "Opening balance")
	l.post(sav, "2025-06-28", "interest", rint(r, 1_00, 40_00), "Monthly interest")
	if bus != nil {
		l.post(bus, "2025-06-01", "deposit", rint(r, 2000_00, 15000_00), "Opening balance")
		l.post(bus, fmt.Sprintf("2025-06-%02d", rint(r, 5, 25)), "card_purchase", -rint(r, 50_00, 900_00), "Office Supply Co")
		if r.IntN(2) == 0 {
			bus.Frozen = "suspected_fraud"
		}
	}

	// Bills with distinct amounts, so "smallest first" is unambiguous. The
	// last one is sometimes paid already.
	nb := 3 + r.IntN(2)
	seen := map[int64]bool{}
	base := 100 + r.IntN(800)
	for i, p := range r.Perm(len(payees))[:nb] {
		amt := rint(r, 25_00, 400_00)
		for seen[amt] {
			amt++
		}
		seen[amt] = true
		b := &bill{ID: fmt.Sprintf("BILL-%03d", base+i), Payee: payees[p], Amount: amt,
			Due: fmt.Sprintf("2025-07-%02d", rint(r, 3, 28))}
		l.bills = append(l.bills, b)
	}
	if r.IntN(2) == 0 {
		last := l.bills[nb-1]
		last.PaidFrom, last.PaidOn = chk.ID, fmt.Sprintf("2025-06-%02d", rint(r, 2, 20))
	}
	return l
}

func (l *ledger) due() []*bill {
	var out []*bill
	for _, b := range l.bills {
		if b.PaidFrom == "" {
			out = append(out, b)
		}
	}
	return out
}

// threshold returns a whole-dollar floor Y such that (after >= Y) == keep.
func threshold(r *rand.Rand, after int64, keep bool) int64 {
	if keep {
		return rint(r, 1, after/100) * 100
	}
	return (max(after, 0)/100 + rint(r, 1, 300)) * 100
}

var (
	readAccounts = call{"list_accounts", map[string]any{}}
	readBills    = call{"list_bills", map[string]any{"status": "due"}}
)

func balanceOf(a *account) call { return call{"get_balance", map[string]any{"account_id": a.ID}} }

func transferOp(from, to *account, amt int64) op {
	return op{Tool: "transfer", From: from.ID, To: to.ID, Amount: amt}
}

func transferThenBill(r *rand.Rand, l *ledger) plan {
	chk, sav := l.accounts[0], l.accounts[1]
	due := l.due()
	x := rint(r, 50, chk.Balance/100/3) * 100
	b := due[r.IntN(len(due))]
	after := chk.Balance - x - b.Amount
	pay := r.IntN(2) == 0 && after >= 10_00
	y := threshold(r, after, pay)
	p := plan{
		kind: "transfer_then_bill",
		prompt: fmt.Sprintf("Please move %s from my checking account to my savings account. Then pay my %s bill "+
			"from checking, but only if checking will still hold at least %s after paying it; if it wouldn't, "+
			"leave that bill unpaid.", dollars(x), b.Payee, dollars(y)),
		reads: []call{readAccounts, balanceOf(chk), readBills},
		ops:   []op{transferOp(chk, sav, x)},
	}
	p.summary = fmt.Sprintf("Moved %s from %s to %s. ", dollars(x), chk.ID, sav.ID)
	if pay {
		p.ops = append(p.ops, op{Tool: "pay_bill", Bill: b.ID, From: chk.ID})
		p.summary += fmt.Sprintf("Paid the %s bill (%s); checking now holds %s.", b.Payee, dollars(b.Amount), dollars(after))
	} else {
		p.summary += fmt.Sprintf("Left the %s bill (%s) unpaid: paying it would leave checking with %s, below %s.",
			b.Payee, dollars(b.Amount), dollars(after), dollars(y))
	}
	return p
}

func topUp(r *rand.Rand, l *ledger) plan {
	chk, sav := l.accounts[0], l.accounts[1]
	target := (chk.Balance/10000 + rint(r, 1, 19)) * 10000 // whole hundreds, at most $2,000 above
	k := target - chk.Balance
	return plan{
		kind:    "top_up",
		prompt:  fmt.Sprintf("Top up my checking account from my savings so that checking holds exactly %s.", dollars(target)),
		reads:   []call{readAccounts, balanceOf(chk), balanceOf(sav)},
		ops:     []op{transferOp(sav, chk, k)},
		summary: fmt.Sprintf("Moved %s from %s to %s; checking now holds %s.", dollars(k), sav.ID, chk.ID, dollars(target)),
	}
}

func billsAboveFloor(r *rand.Rand, l *ledger) plan {
	chk := l.accounts[0]
	due := l.due()
	sort.Slice(due, func(i, j int) bool { return due[i].Amount < due[j].Amount })
	cum := make([]int64, len(due)+1) // cum[k]: the k smallest bills together
	kmax := 0
	for i, b := range due {
		cum[i+1] = cum[i] + b.Amount
		if chk.Balance-cum[i+1] >= 1_00 {
			kmax = i + 1
		}
	}
	k := 1 + r.IntN(kmax)
	hi, lo := chk.Balance-cum[k], int64(-1) // pay k bills: hi >= Y > lo
	if k < len(due) {
		lo = chk.Balance - cum[k+1]
	}
	var y int64
	if minD, maxD := lo/100+1, hi/100; lo < 0 || minD <= maxD {
		y = rint(r, max(minD, 1), maxD) * 100
	} else {
		y = rint(r, lo+1, hi)
	}
	p := plan{
		kind: "bills_above_floor",
		prompt: fmt.Sprintf("Pay my due bills from checking, smallest amount first. Stop at the first bill that "+
			"would leave checking with less than %s, and leave that bill and any larger ones unpaid.", dollars(y)),
		reads: []call{readAccounts, balanceOf(chk), readBills},
	}
	var paid []string
	for _, b := range due[:k] {
		p.ops = append(p.ops, op{Tool: "pay_bill", Bill: b.ID, From: chk.ID})
		paid = append(paid, fmt.Sprintf("%s (%s)", b.Payee, dollars(b.Amount)))
	}
	p.summary = fmt.Sprintf("Paid %s from %s; checking now holds %s.", strings.Join(paid, ", "), chk.ID, dollars(hi))
	if k < len(due) {
		p.summary += fmt.Sprintf(" Left the %s bill (%s) and any larger ones unpaid.", due[k].Payee, dollars(due[k].Amount))
	}
	return p
}

func lostCard(r *rand.Rand, l *ledger) plan {
	sav := l.accounts[1]
	var cands []*account
	for _, a := range l.accounts {
		if a.Type != "savings" && a.Frozen == "" {
			cands = append(cands, a)
		}
	}
	a := cands[r.IntN(len(cands))]
	return plan{
		kind: "lost_card",
		prompt: fmt.Sprintf("I've lost the debit card for my %s account. First move its entire balance to my "+
			"savings account, then freeze the account with reason \"lost_card\".", a.Type),
		reads: []call{readAccounts, balanceOf(a)},
		ops:   []op{transferOp(a, sav, a.Balance), {Tool: "freeze_account", Account: a.ID, Reason: "lost_card"}},
		summary: fmt.Sprintf("Moved the full balance of %s (%s) to %s and froze %s (lost_card).",
			a.ID, dollars(a.Balance), sav.ID, a.ID),
	}
}

func cashWithdrawal(r *rand.Rand, l *ledger) plan {
	chk, sav := l.accounts[0], l.accounts[1]
	x := rint(r, 100, 900) * 100
	after := chk.Balance - x
	fromChk := r.IntN(2) == 0 && after >= 10_00
	y := threshold(r, after, fromChk)
	from, why := sav, "checking would have dropped below "+dollars(y)
	if fromChk {
		from, why = chk, "checking keeps at least "+dollars(y)
	}
	return plan{
		kind: "cash_withdrawal",
		prompt: fmt.Sprintf("I need %s in cash today. Withdraw it from checking if checking would keep at least %s "+
			"afterwards; otherwise withdraw it from savings.", dollars(x), dollars(y)),
		reads:   []call{readAccounts, balanceOf(chk)},
		ops:     []op{{Tool: "withdraw", Account: from.ID, Amount: x}},
		summary: fmt.Sprintf("Withdrew %s in cash from %s (%s).", dollars(x), from.ID, why),
	}
}

func coverCharge(r *rand.Rand, l *ledger) plan {
	chk, sav := l.accounts[0], l.accounts[1]
	count := map[string]int{}
	last := map[string]int64{}
	for _, t := range l.history[chk.ID] {
		if t.Type == "card_purchase" {
			count[t.Description]++
			last[t.Description] = -t.AmountCents
		}
	}
	var repeated []string
	for _, m := range merchants { // merchants' order, not the map's
		if count[m] >= 2 {
			repeated = append(repeated, m)
		}
	}
	m := repeated[r.IntN(len(repeated))]
	return plan{
		kind: "cover_charge",
		prompt: fmt.Sprintf("My most recent %s charge on my checking account should come out of savings instead: "+
			"transfer exactly that amount from savings to checking.", m),
		reads:   []call{readAccounts, {"get_transactions", map[string]any{"account_id": chk.ID, "limit": 50}}},
		ops:     []op{transferOp(sav, chk, last[m])},
		summary: fmt.Sprintf("Your most recent %s charge was %s; moved %s from %s to %s.", m, dollars(last[m]), dollars(last[m]), sav.ID, chk.ID),
	}
}

func depositThenBill(r *rand.Rand, l *ledger) plan {
	chk, sav := l.accounts[0], l.accounts[1]
	due := l.due()
	b := due[r.IntN(len(due))]
	x := rint(r, 200, 3000) * 100
	if sav.Balance+x == chk.Balance {
		x += 100
	}
	from := chk
	if sav.Balance+x > chk.Balance {
		from = sav
	}
	return plan{
		kind: "deposit_then_bill",
		prompt: fmt.Sprintf("Deposit %s in cash into my savings account. Then pay my %s bill from whichever of my "+
			"checking and savings accounts has the higher balance after that deposit.", dollars(x), b.Payee),
		reads: []call{readAccounts, balanceOf(chk), balanceOf(sav), readBills},
		ops:   []op{{Tool: "deposit", Account: sav.ID, Amount: x}, {Tool: "pay_bill", Bill: b.ID, From: from.ID}},
		summary: fmt.Sprintf("Deposited %s into %s, then paid the %s bill (%s) from %s, the account with the higher balance.",
			dollars(x), sav.ID, b.Payee, dollars(b.Amount), from.ID),
	}
}
