// Command warehouse is an environment whose data lives outside the sandbox:
// questions about a warehouse inventory held in a SQL database that the
// agent queries through the backend "sqlite" (docs/abi.md, backend_call),
// served by plugins/examples/backend-sqlite.
//
//	go build -o /tmp/backend-sqlite ./plugins/examples/backend-sqlite
//	terrarium run --env envs/warehouse --backend sqlite=/tmp/backend-sqlite -o w.jsonl
//	terrarium replay w.jsonl
//
// # Tasks
//
// Task t asks question template t mod 3 about a product drawn with ep.Rand
// from the database's products: its total stock across warehouses, the city
// of the warehouse holding most of it, or its number of open orders. Reset
// asks the backend for the product list and for the gold answer; both calls
// are recorded in the trajectory, so a replay needs no database.
//
// # Tools
//
// query runs a read-only SQL statement and returns its columns and rows;
// answer submits the final answer and ends the episode.
//
// # Scoring
//
// Reward 1 when the submitted answer equals the gold answer (trimmed, case
// ignored), else 0. Without the backend (the host did not grant it), reset
// says the database is unavailable and every episode scores 0.
//
// The oracle runs the gold query, then answers with its result.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/sdk"
)

func init() { sdk.Register(func() sdk.Env { return new(warehouse) }) }

func main() {}

// backendName is the backend the env declares and calls.
const backendName = "sqlite"

type template struct {
	question string // with %s for the product name
	sql      string // with ? for the product name; one row, one column
}

var templates = []template{
	{"How many units of %q are in stock in total, across all warehouses? Answer with the number.",
		"SELECT SUM(s.qty) FROM stock s JOIN products p ON p.id = s.product_id WHERE p.name = ?"},
	{"Which warehouse holds the most units of %q? Answer with its city.",
		"SELECT w.city FROM stock s JOIN warehouses w ON w.id = s.warehouse_id JOIN products p ON p.id = s.product_id WHERE p.name = ? ORDER BY s.qty DESC, w.id LIMIT 1"},
	{"How many orders of %q are still open? Answer with the number.",
		"SELECT COUNT(*) FROM orders o JOIN products p ON p.id = o.product_id WHERE p.name = ? AND o.status = 'open'"},
}

type warehouse struct {
	product string
	tmpl    template
	gold    string // "" when the database was unavailable
	answer  string
}

func (*warehouse) Spec() abi.Spec {
	return abi.Spec{
		Name:        "warehouse",
		Version:     "1.0.0",
		Description: "Questions about a warehouse inventory in a SQL database, answered by querying it through the sqlite backend.",
		Tasks:       300,
		MaxTurns:    8,
		Backends:    []string{backendName},
	}
}

type queryResult struct {
	Columns   []string `json:"columns"`
	Rows      [][]any  `json:"rows"`
	Truncated bool     `json:"truncated,omitempty"`
}

// query runs sql on the backend.
func query(sql string, args ...any) (*queryResult, error) {
	if args == nil {
		args = []any{}
	}
	req, err := json.Marshal(map[string]any{"sql": sql, "args": args})
	if err != nil {
		return nil, err
	}
	resp, err := sdk.CallBackend(backendName+"/query", req)
	if err != nil {
		return nil, err
	}
	var r queryResult
	dec := json.NewDecoder(strings.NewReader(string(resp)))
	dec.UseNumber() // keep integers exact
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("backend answer: %w", err)
	}
	return &r, nil
}

// cell formats a value of a query result.
func cell(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func (w *warehouse) Reset(ep *sdk.Episode) (*sdk.Start, error) {
	*w = warehouse{tmpl: templates[ep.Task%len(templates)]}
	tools := []*sdk.Tool{queryTool(), answerTool(w)}
	unavailable := func(err error) (*sdk.Start, error) {
		return &sdk.Start{Messages: []abi.Message{
			{Role: abi.RoleSystem, Content: "The inventory database is unavailable: " + err.Error()},
		}, Tools: tools}, nil
	}
	products, err := query("SELECT name FROM products ORDER BY id")
	if err != nil {
		return unavailable(err)
	}
	if len(products.Rows) == 0 {
		return nil, errors.New("the database has no products")
	}
	w.product = cell(products.Rows[ep.Rand.IntN(len(products.Rows))][0])
	gold, err := query(w.tmpl.sql, w.product)
	if err != nil {
		return unavailable(err)
	}
	if len(gold.Rows) != 1 || len(gold.Rows[0]) != 1 {
		return nil, fmt.Errorf("gold query gave %d rows", len(gold.Rows))
	}
	w.gold = cell(gold.Rows[0][0])
	return &sdk.Start{Messages: []abi.Message{
		{Role: abi.RoleSystem, Content: "You answer questions about a warehouse inventory. Query its SQLite database with the query tool (tables: warehouses(id, city), products(id, name, price_cents), stock(warehouse_id, product_id, qty), orders(id, customer, product_id, qty, status, placed)), then submit with the answer tool."},
		{Role: abi.RoleUser, Content: fmt.Sprintf(w.tmpl.question, w.product)},
	}, Tools: tools}, nil
}

func queryTool() *sdk.Tool {
	return sdk.NewTool("query", "Run a read-only SQL statement on the inventory database; returns columns and rows (at most 200).",
		`{"type":"object","properties":{"sql":{"type":"string"}},"required":["sql"],"additionalProperties":false}`,
		func(ep *sdk.Episode, a struct {
			SQL string `json:"sql"`
		}) (any, error) {
			r, err := query(a.SQL)
			var be *sdk.BackendError
			if errors.As(err, &be) {
				return nil, sdk.Errorf("%s", be.Message)
			}
			if err != nil {
				return nil, err
			}
			return r, nil
		})
}

func answerTool(w *warehouse) *sdk.Tool {
	return sdk.NewTool("answer", "Submit the final answer; ends the episode.",
		`{"type":"object","properties":{"answer":{"type":"string"}},"required":["answer"],"additionalProperties":false}`,
		func(ep *sdk.Episode, a struct {
			Answer string `json:"answer"`
		}) (any, error) {
			w.answer = a.Answer
			ep.End()
			return "submitted", nil
		})
}

func (w *warehouse) Score(ep *sdk.Episode) (abi.Score, error) {
	ans := w.answer
	if final, ok := ep.FinalAnswer(); ok && ans == "" {
		ans = final
	}
	if w.gold != "" && strings.EqualFold(strings.TrimSpace(ans), w.gold) {
		return abi.Score{Reward: 1}, nil
	}
	return abi.Score{Reward: 0}, nil
}

// Oracle runs the gold query with the product inlined, then answers.
func (w *warehouse) Oracle(ep *sdk.Episode) (abi.Message, error) {
	if w.gold == "" {
		return abi.Message{Role: abi.RoleAssistant, Content: "the database is unavailable"}, nil
	}
	var name, args string
	switch ep.Turn {
	case 0:
		lit := "'" + strings.ReplaceAll(w.product, "'", "''") + "'"
		b, _ := json.Marshal(map[string]string{"sql": strings.Replace(w.tmpl.sql, "?", lit, 1)})
		name, args = "query", string(b)
	default:
		b, _ := json.Marshal(map[string]string{"answer": w.gold})
		name, args = "answer", string(b)
	}
	return abi.Message{Role: abi.RoleAssistant, ToolCalls: []abi.ToolCall{{ID: fmt.Sprintf("call_%d", ep.Turn),
		Type: "function", Function: abi.FunctionCall{Name: name, Arguments: args}}}}, nil
}
