// Package jsenv makes JavaScript environments loadable. It embeds the
// JavaScript runner (envs/jsrunner built to wasm: a Go guest embedding the
// goja interpreter) and resolves a script, or a directory holding env.js,
// into a runtime.Source that runs the script in that runner:
//
//	src := jsenv.Source("inventory/env.js", script)
//	env, err := host.Load(ctx, src)
//
// Importing the package registers Resolve with envload, so that every
// command taking an environment path (terrarium run, env test) accepts
// JavaScript environments. The script API is in docs/js-env.md.
//
// # Notes
//
//   - The runner is committed as jsrunner.wasm and rebuilt by go generate
//     (below). TestRunnerReproducible rebuilds it from source and fails
//     when the bytes differ, so a change to the runner, the SDK, goja or
//     the Go toolchain is caught until jsrunner.wasm is regenerated. The
//     bytes depend on the Go version: regenerate with the toolchain CI uses.
//   - A JavaScript env's module hash (runtime.Env.SHA256) is the runner's;
//     the script is identified by runtime.Env.ConfigSHA256.
package jsenv

//go:generate env GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -buildvcs=false -ldflags=-buildid= -o jsrunner.wasm ../../envs/jsrunner

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/terrarium-rl/terrarium/internal/envload"
	trt "github.com/terrarium-rl/terrarium/runtime"
)

//go:embed jsrunner.wasm
var runner []byte

// ScriptName is the script a JavaScript environment directory holds.
const ScriptName = "env.js"

func init() { envload.Resolvers = append(envload.Resolvers, Resolve) }

// Runner returns the runner module. Callers must not modify it.
func Runner() []byte { return runner }

// Source returns the source that runs script in the runner. name locates
// the environment in error messages.
func Source(name string, script []byte) trt.Source {
	return trt.Source{Name: name, Wasm: runner, Config: script}
}

// Resolve claims path when it is a .js file or a directory holding env.js,
// and returns the source running that script. It is an envload.Resolver.
func Resolve(ctx context.Context, path string) (trt.Source, bool, error) {
	script := path
	fi, err := os.Stat(path)
	switch {
	case err != nil && strings.HasSuffix(path, ".js"):
		return trt.Source{}, true, fmt.Errorf("env %s: %w", path, err)
	case err != nil:
		return trt.Source{}, false, nil // not ours to report
	case fi.IsDir():
		script = filepath.Join(path, ScriptName)
		if _, err := os.Stat(script); err != nil {
			return trt.Source{}, false, nil
		}
		if hasGoSource(path) {
			return trt.Source{}, true, fmt.Errorf("env %s: holds both %s and Go source files; keep one environment per directory", path, ScriptName)
		}
	case !strings.HasSuffix(path, ".js"):
		return trt.Source{}, false, nil
	}
	b, err := os.ReadFile(script)
	if err != nil {
		return trt.Source{}, true, fmt.Errorf("env %s: %w", path, err)
	}
	return Source(filepath.Clean(path), b), true, nil
}

// hasGoSource reports whether dir holds Go files other than tests, which a
// JavaScript env may have (the env_test.go of Templates).
func hasGoSource(dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, f := range m {
		if !strings.HasSuffix(f, "_test.go") {
			return true
		}
	}
	return false
}
