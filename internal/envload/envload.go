// Package envload resolves what a user names as an environment (a Go env
// directory, a .wasm file, and later JavaScript envs and packs) into a
// runtime.Source the host can load.
package envload

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/terrarium-rl/terrarium/internal/gobuild"
	trt "github.com/terrarium-rl/terrarium/runtime"
)

// Resolver turns a path into a Source. Resolvers are tried in order; the
// first that claims the path (returns ok) decides.
type Resolver func(ctx context.Context, path string) (src trt.Source, ok bool, err error)

// Resolvers are consulted before the built-in .wasm and Go directory rules.
// Other parts (JavaScript envs, packs) add theirs from init.
var Resolvers []Resolver

// Resolve turns path into a Source.
func Resolve(ctx context.Context, path string) (trt.Source, error) {
	for _, r := range Resolvers {
		src, ok, err := r(ctx, path)
		if err != nil {
			return trt.Source{}, err
		}
		if ok {
			return src, nil
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return trt.Source{}, fmt.Errorf("env %s: %w", path, err)
	}
	if !fi.IsDir() {
		b, err := os.ReadFile(path)
		if err != nil {
			return trt.Source{}, fmt.Errorf("env %s: %w", path, err)
		}
		return trt.Source{Name: path, Wasm: b}, nil
	}
	if gobuild.IsGoEnv(path) {
		out, err := gobuild.Build(ctx, path)
		if err != nil {
			return trt.Source{}, err
		}
		b, err := os.ReadFile(out)
		if err != nil {
			return trt.Source{}, fmt.Errorf("env %s: %w", path, err)
		}
		return trt.Source{Name: filepath.Clean(path), Wasm: b}, nil
	}
	return trt.Source{}, fmt.Errorf("env %s: not a .wasm file or an environment directory", path)
}

// Load resolves path and loads it into host.
func Load(ctx context.Context, host *trt.Host, path string) (*trt.Env, error) {
	src, err := Resolve(ctx, path)
	if err != nil {
		return nil, err
	}
	return host.Load(ctx, src)
}
