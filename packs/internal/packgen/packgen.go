// Package packgen builds the packs committed in packs/ from the sources of
// the environments they hold. The generator (packs/gen.go, run by
// `go generate ./packs`) writes them; packs' TestReproducible rebuilds them
// into a temporary directory and compares bytes.
//
// Building a pack from a Go environment directory takes four steps, all
// here so that nobody edits a digest by hand: compile the environment to
// WebAssembly with the flags of internal/gobuild (reproducible: the same
// source and Go version give the same bytes), load it once to read its spec
// (the pack is named and versioned as the environment), write the module
// and pack.json with pack.Finalize into a scratch pack directory, and write
// the pack file with pack.Build (fixed member order and metadata).
package packgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/internal/gobuild"
	"github.com/terrarium-rl/terrarium/pack"
	trt "github.com/terrarium-rl/terrarium/runtime"
)

// Pack names one shipped pack.
type Pack struct {
	// File is the pack file's name in packs/, for example "bank.tpack".
	File string
	// Env is the environment's source directory, slash-separated and
	// relative to the repository root, for example "envs/bank". It is
	// recorded in the pack's provenance.
	Env string
}

// Shipped lists the packs committed in packs/.
var Shipped = []Pack{
	{File: "bank.tpack", Env: "envs/bank"},
}

// Build builds p from the repository at root and writes the pack file to
// out, through a temporary file renamed into place. It returns the pack
// digest.
func Build(ctx context.Context, root string, p Pack, out string) (string, error) {
	digest, err := build(ctx, root, p, out)
	if err != nil {
		return "", fmt.Errorf("packgen %s: %w", p.File, err)
	}
	return digest, nil
}

func build(ctx context.Context, root string, p Pack, out string) (string, error) {
	built, err := gobuild.Build(ctx, filepath.Join(root, filepath.FromSlash(p.Env)))
	if err != nil {
		return "", err
	}
	wasm, err := os.ReadFile(built)
	if err != nil {
		return "", err
	}
	spec, err := readSpec(ctx, p.Env, wasm)
	if err != nil {
		return "", err
	}
	toolchain, err := goVersion(wasm)
	if err != nil {
		return "", fmt.Errorf("%s: %w", p.Env, err)
	}
	dir, err := os.MkdirTemp("", "packgen-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	module := path.Join("modules", spec.Name+".wasm")
	if err := os.Mkdir(filepath.Join(dir, "modules"), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(module)), wasm, 0o644); err != nil {
		return "", err
	}
	// No limits: the pack runs under the host's defaults, exactly as
	// `terrarium run --env` runs the source directory.
	m := &pack.Manifest{
		Name:         spec.Name,
		Version:      spec.Version,
		Description:  spec.Description,
		License:      "Apache-2.0",
		Environments: []pack.Environment{{Name: spec.Name, Module: module, ABI: abi.Version}},
		Provenance: pack.Provenance{
			Compiler:  "go generate ./packs (packs/internal/packgen, from " + p.Env + ")",
			Toolchain: toolchain + " wasip1/wasm",
		},
	}
	if _, err := pack.Finalize(dir, m); err != nil {
		return "", err
	}
	return pack.Build(dir, out)
}

// readSpec loads the module to read the spec it declares.
func readSpec(ctx context.Context, name string, wasm []byte) (abi.Spec, error) {
	host, err := trt.New(ctx, trt.NewConfig())
	if err != nil {
		return abi.Spec{}, err
	}
	defer host.Close(ctx)
	env, err := host.Load(ctx, trt.Source{Name: name, Wasm: wasm})
	if err != nil {
		return abi.Spec{}, err
	}
	defer env.Close(ctx)
	return env.Spec(), nil
}

// errNoGoVersion is returned by goVersion for a module without the Go
// compiler's entry in its "producers" custom section.
var errNoGoVersion = errors.New("no Go compiler version in the module's producers section")

// goVersion returns the version of the Go compiler that built a wasm module
// ("go1.26.8"), from the module's "producers" custom section
// (debug/buildinfo does not read wasm), for the manifest's provenance.
func goVersion(wasm []byte) (string, error) {
	const key = "\x0eGo cmd/compile"
	i := bytes.Index(wasm, []byte(key))
	if i < 0 || i+len(key) >= len(wasm) {
		return "", errNoGoVersion
	}
	i += len(key)
	n := int(wasm[i])
	if i+1+n > len(wasm) {
		return "", errNoGoVersion
	}
	return string(wasm[i+1 : i+1+n]), nil
}
