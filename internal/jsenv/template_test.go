package jsenv_test

import (
	"bytes"
	"context"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"
	"text/template"

	"github.com/terrarium-rl/terrarium/internal/jsenv"
	trt "github.com/terrarium-rl/terrarium/runtime"
	"github.com/terrarium-rl/terrarium/sdk/envtest"
)

func render(t *testing.T, name, text string) []byte {
	t.Helper()
	var b bytes.Buffer
	data := map[string]string{"Name": "counter", "Package": "counter"}
	if err := template.Must(template.New(name).Parse(text)).Execute(&b, data); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestTemplates checks that the scaffold of terrarium env new --lang js
// conforms and that its test is valid Go.
func TestTemplates(t *testing.T) {
	script := render(t, jsenv.ScriptName, jsenv.Templates[jsenv.ScriptName])
	env, err := newHost(t, trt.NewConfig()).Load(context.Background(), jsenv.Source("counter", script))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	rep := &envtest.Report{Env: "counter", Spec: env.Spec(), Results: envtest.CheckEnv(context.Background(), env, envtest.Options{Tasks: 10})}
	rep.Write(&buf)
	if !rep.OK() || env.Spec().Name != "counter" {
		t.Fatalf("the template does not conform:\n%s", buf.String())
	}
	test := render(t, "env_test.go", jsenv.Templates["env_test.go"])
	if _, err := parser.ParseFile(token.NewFileSet(), "env_test.go", test, 0); err != nil {
		t.Fatalf("env_test.go: %v\n%s", err, test)
	}
}

// TestDocExample checks that docs/js-env.md shows the template as it is.
func TestDocExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/js-env.md")
	if err != nil {
		t.Fatal(err)
	}
	script := render(t, jsenv.ScriptName, jsenv.Templates[jsenv.ScriptName])
	if !strings.Contains(string(doc), "```js\n"+string(script)+"```\n") {
		t.Fatalf("docs/js-env.md does not show the env.js that env new writes:\n%s", script)
	}
}
