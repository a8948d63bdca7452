// Command backend-sqlite is an example tool backend plugin: a SQLite
// database (modernc.org/sqlite, a pure-Go driver, so no C toolchain) holding
// a small warehouse inventory, served read-only to environments such as
// envs/warehouse. It shows what a backend plugin has to do: implement
// plugins.ToolBackend and call plugins.ServeBackend.
//
// Build it and run the environment with it:
//
//	go build -o /tmp/backend-sqlite ./plugins/examples/backend-sqlite
//	terrarium run --env envs/warehouse --backend sqlite=/tmp/backend-sqlite -o w.jsonl
//	terrarium replay w.jsonl   # no backend needed: answers come from the record
//
// # Operations
//
// "query" takes {"sql": "...", "args": [...]} and answers
// {"columns": [...], "rows": [[...], ...]}, at most MaxRows rows. The
// connection is read-only (PRAGMA query_only), so episodes, which share the
// database, cannot see each other. A statement SQLite rejects is refused
// with its message, which the env shows to the agent.
//
// The database is built in memory at start from fixed data (seed.go), so
// every run of the plugin answers the same; -db PATH serves an existing
// SQLite file instead.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	_ "modernc.org/sqlite"

	"github.com/terrarium-rl/terrarium/plugins"
	trt "github.com/terrarium-rl/terrarium/runtime"
)

// MaxRows caps a query's answer.
const MaxRows = 200

func main() {
	path := flag.String("db", "", "SQLite database file to serve (default: the built-in inventory, in memory)")
	flag.Parse()
	db, err := open(*path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "backend-sqlite:", err)
		os.Exit(1)
	}
	plugins.ServeBackend(&backend{db: db})
}

// open opens the database and makes its connections read-only.
func open(path string) (*sql.DB, error) {
	dsn := "file:inventory?mode=memory&cache=shared"
	if path != "" {
		dsn = "file:" + path + "?mode=ro"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	if path == "" {
		// A shared in-memory database lives while a connection is open:
		// keep one, fill the database through it, then let queries use
		// others.
		db.SetMaxIdleConns(4)
		conn, err := db.Conn(context.Background())
		if err != nil {
			return nil, err
		}
		if _, err := conn.ExecContext(context.Background(), seedSQL); err != nil {
			return nil, fmt.Errorf("seed: %w", err)
		}
		// conn stays open for the life of the process.
	}
	return db, nil
}

type backend struct{ db *sql.DB }

func (b *backend) Describe(context.Context) (plugins.BackendInfo, error) {
	return plugins.BackendInfo{Name: "sqlite", Operations: []plugins.Operation{{
		Name:        "query",
		Description: `Run a read-only SQL statement. Request {"sql": "...", "args": [...]}; response {"columns": [...], "rows": [[...]]}, at most 200 rows.`,
	}}}, nil
}

type queryRequest struct {
	SQL  string `json:"sql"`
	Args []any  `json:"args"`
}

type queryResponse struct {
	Columns   []string `json:"columns"`
	Rows      [][]any  `json:"rows"`
	Truncated bool     `json:"truncated,omitempty"`
}

func refuse(format string, args ...any) error {
	return &trt.BackendError{Message: fmt.Sprintf(format, args...)}
}

func (b *backend) Call(ctx context.Context, op string, request []byte) ([]byte, error) {
	if op != "query" {
		return nil, refuse("unknown operation %q (this backend serves \"query\")", op)
	}
	var req queryRequest
	if err := json.Unmarshal(request, &req); err != nil {
		return nil, refuse("request is not {\"sql\": ..., \"args\": [...]}: %s", err)
	}
	conn, err := b.db.Conn(ctx)
	if err != nil {
		return nil, err // the database itself failed: a fault, not a refusal
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA query_only = ON"); err != nil {
		return nil, err
	}
	rows, err := conn.QueryContext(ctx, req.SQL, req.Args...)
	if err != nil {
		return nil, refuse("%s", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, refuse("%s", err)
	}
	resp := queryResponse{Columns: cols, Rows: [][]any{}}
	for rows.Next() {
		if len(resp.Rows) == MaxRows {
			resp.Truncated = true
			break
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, refuse("%s", err)
		}
		for i, v := range vals {
			if bs, ok := v.([]byte); ok {
				vals[i] = string(bs)
			}
		}
		resp.Rows = append(resp.Rows, vals)
	}
	if err := rows.Err(); err != nil {
		return nil, refuse("%s", err)
	}
	return json.Marshal(resp)
}
