package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"

	"github.com/spf13/pflag"

	"github.com/terrarium-rl/terrarium/internal/jsenv"
)

var envNewFlags struct {
	lang string
	dir  string
	sdk  string
}

var cmdEnvNew = &Command{
	Name:  "new",
	Usage: "env new NAME [--lang go|js] [-o DIR] [--sdk PATH]",
	Short: "scaffold a working environment with a test",
	Long: `Env new writes a small, working environment named NAME into DIR (default
./NAME): a counter with two tools, a scorer and an oracle, plus a test that
runs the conformance checker on it. "terrarium env test DIR" passes on it as
written; change it from there.

--lang go (the default) writes main.go and main_test.go using the Go SDK.
Inside a Terrarium checkout the env joins the checkout's module; elsewhere
it gets its own go.mod, which points at a Terrarium checkout given by --sdk
(the module is not published to a proxy yet).

--lang js writes env.js (see docs/js-env.md) and env_test.go; the test needs
the same module setup as a Go env.`,
	Flags: func(fs *pflag.FlagSet) {
		fs.StringVar(&envNewFlags.lang, "lang", "go", "go or js")
		fs.StringVarP(&envNewFlags.dir, "output", "o", "", "directory to create (default ./NAME)")
		fs.StringVar(&envNewFlags.sdk, "sdk", "", "path of a Terrarium checkout, for envs outside one")
	},
	Run: runEnvNew,
}

var envName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,40}$`)

const modulePath = "github.com/terrarium-rl/terrarium"

func runEnvNew(ctx context.Context, inv *Invocation) error {
	f := &envNewFlags
	if len(inv.Args) != 1 {
		return usagef("want one environment name")
	}
	name := inv.Args[0]
	if !envName.MatchString(name) {
		return usagef("name %q: want lower case letters, digits, '-' or '_', starting with a letter", name)
	}
	files, ok := envTemplates[f.lang]
	if !ok {
		return usagef("--lang %q: want go or js", f.lang)
	}
	dir := f.dir
	if dir == "" {
		dir = name
	}
	if _, err := os.Stat(dir); err == nil {
		return fmt.Errorf("%s already exists", dir)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	data := map[string]string{"Name": name, "Package": strings.NewReplacer("-", "", "_", "").Replace(name)}
	out := map[string]string{}
	for file, text := range files {
		var b bytes.Buffer
		if err := template.Must(template.New(file).Delims("[[", "]]").Parse(text)).Execute(&b, data); err != nil {
			return err
		}
		out[file] = b.String()
	}
	if root := moduleRoot(filepath.Dir(abs)); root == "" {
		// Outside a checkout: the env needs its own module pointing at one.
		sdk := f.sdk
		if sdk == "" {
			return errors.New("not inside a Terrarium checkout: pass --sdk PATH to one (the module is not published yet)")
		}
		sdkAbs, err := filepath.Abs(sdk)
		if err != nil {
			return err
		}
		if moduleRoot(sdkAbs) != sdkAbs {
			return fmt.Errorf("--sdk %s: not the root of a Terrarium checkout (no go.mod for %s)", sdk, modulePath)
		}
		out["go.mod"] = fmt.Sprintf("module example.com/%s\n\ngo 1.24.0\n\nrequire %s v0.0.0\n\nreplace %s => %s\n",
			name, modulePath, modulePath, sdkAbs)
		// The checkout's go.sum covers every module the SDK needs, so the
		// env builds without a separate 'go mod tidy'.
		sum, err := os.ReadFile(filepath.Join(sdkAbs, "go.sum"))
		if err != nil {
			return fmt.Errorf("--sdk %s: %w", sdk, err)
		}
		out["go.sum"] = string(sum)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return err
	}
	for file, body := range out {
		if err := os.WriteFile(filepath.Join(abs, file), []byte(body), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(inv.Stdout, "created %s (%s)\n", dir, f.lang)
	fmt.Fprintf(inv.Stdout, "  terrarium env test %s\n  terrarium run --env %s --policy oracle --episodes 10\n", dir, dir)
	return nil
}

// moduleRoot returns the directory of the Terrarium module containing dir,
// or "".
func moduleRoot(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil {
			if bytes.HasPrefix(bytes.TrimSpace(b), []byte("module "+modulePath+"\n")) {
				return d
			}
			return ""
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// envTemplates holds each language's files (text/template with [[ ]] delimiters,
// since Go composite literals open with {{; fields .Name and .Package).
var envTemplates = map[string]map[string]string{
	"js": bracketDelims(jsenv.Templates),
	"go": {
		"main.go": `// Command [[.Name]] is a Terrarium environment: the agent must bring a
// counter to a target value with the tools "increment" and "read", then say
// "done". Build and check it with: terrarium env test .
package main

import (
	"fmt"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/sdk"
)

type env struct {
	target, value int
}

func (*env) Spec() abi.Spec {
	return abi.Spec{Name: "[[.Name]]", Version: "0.1.0", Description: "Bring a counter to a target value.", Tasks: 10, MaxTurns: 20}
}

func (e *env) Reset(ep *sdk.Episode) (*sdk.Start, error) {
	e.target = 1 + ep.Task + ep.Rand.IntN(3) // tasks differ; seeds vary them
	return &sdk.Start{
		Messages: []abi.Message{{Role: abi.RoleUser,
			Content: fmt.Sprintf("Bring the counter to exactly %d, then answer \"done\".", e.target)}},
		Tools: []*sdk.Tool{
			sdk.NewTool("increment", "Add a positive amount to the counter.",
				` + "`" + `{"type":"object","properties":{"by":{"type":"integer","minimum":1,"maximum":10}},"required":["by"],"additionalProperties":false}` + "`" + `,
				func(ep *sdk.Episode, a struct{ By int }) (any, error) {
					e.value += a.By
					return map[string]int{"value": e.value}, nil
				}),
			sdk.NewTool("read", "Read the counter.", ` + "`" + `{"type":"object","properties":{},"additionalProperties":false}` + "`" + `,
				func(ep *sdk.Episode, _ struct{}) (any, error) { return map[string]int{"value": e.value}, nil }),
		},
	}, nil
}

func (e *env) Score(ep *sdk.Episode) (abi.Score, error) {
	answer, _ := ep.FinalAnswer()
	ok := e.value == e.target && answer == "done"
	r := 0.0
	if ok {
		r = 1
	}
	return abi.Score{Reward: r, Components: map[string]float64{"value": float64(e.value), "target": float64(e.target)}}, nil
}

// Oracle is the reference solution: one increment, then "done".
func (e *env) Oracle(ep *sdk.Episode) (abi.Message, error) {
	if e.value < e.target {
		return abi.Message{ToolCalls: []abi.ToolCall{{ID: fmt.Sprintf("call_%d", ep.Turn), Type: "function",
			Function: abi.FunctionCall{Name: "increment", Arguments: fmt.Sprintf(` + "`" + `{"by":%d}` + "`" + `, min(e.target-e.value, 10))}}}}, nil
	}
	return abi.Message{Content: "done"}, nil
}

func init() { sdk.Register(func() sdk.Env { return new(env) }) }

func main() {}
`,
		"main_test.go": `package main

import (
	"testing"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/sdk"
	"github.com/terrarium-rl/terrarium/sdk/envtest"
)

// The conformance checker: ABI, schemas, determinism, malformed actions,
// oracle reward 1, null reward 0.
func TestConformance(t *testing.T) { envtest.Run(t, ".") }

// Env logic can also be tested natively, without WebAssembly.
func TestOvershootScoresZero(t *testing.T) {
	n := sdk.NewNative(func() sdk.Env { return new(env) })
	if _, err := n.Reset(1, 0); err != nil {
		t.Fatal(err)
	}
	call := abi.ToolCall{ID: "c", Type: "function", Function: abi.FunctionCall{Name: "increment", Arguments: ` + "`" + `{"by":10}` + "`" + `}}
	if _, err := n.Step(abi.Message{Role: abi.RoleAssistant, ToolCalls: []abi.ToolCall{call}}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Step(abi.Message{Role: abi.RoleAssistant, Content: "done"}); err != nil {
		t.Fatal(err)
	}
	if s, err := n.Score(); err != nil || s.Reward != 0 {
		t.Errorf("overshoot scored %v (%v), want 0", s.Reward, err)
	}
}
`,
	},
}

// bracketDelims rewrites templates written with {{.Name}} and {{.Package}}
// to the [[ ]] delimiters used here.
func bracketDelims(in map[string]string) map[string]string {
	r := strings.NewReplacer("{{.Name}}", "[[.Name]]", "{{.Package}}", "[[.Package]]")
	out := make(map[string]string, len(in))
	for k, v := range in {
		out[k] = r.Replace(v)
	}
	return out
}
