package astra

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/envs/astra/module"
	"github.com/terrarium-rl/terrarium/envs/astrajs"
	"github.com/terrarium-rl/terrarium/internal/astra/task"
	"github.com/terrarium-rl/terrarium/internal/jsenv"
	"github.com/terrarium-rl/terrarium/pack"
)

// Kind is an import's output kind: which runner serves the tasks.
type Kind string

// Output kinds.
const (
	// KindGo is the data-driven Go runner (envs/astra) with the task set
	// as its configuration. The default.
	KindGo Kind = "go"
	// KindJS is one JavaScript environment (envs/astrajs), run by the
	// JavaScript runner: the task data and a port of the Go runner in a
	// script that can be read and edited.
	KindJS Kind = "js"
)

// Paths inside an imported pack.
const (
	ModulePath   = "modules/astra.wasm"    // KindGo's runner
	TasksPath    = "data/tasks.json"       // KindGo's task set
	JSModulePath = "modules/jsrunner.wasm" // KindJS's runner
	ScriptPath   = "data/env.js"           // KindJS's script
)

// WritePack writes res into dir as a pack of the default kind, KindGo.
func WritePack(dir string, res *Result) (string, error) { return WritePackKind(dir, res, KindGo) }

// WritePackKind writes res into dir as a pack of the given kind: the
// runner module, its configuration (the task set or the script) and the
// manifest (written last, by pack.Finalize, so that a directory with a
// pack.json is complete). It returns the pack digest.
func WritePackKind(dir string, res *Result, kind Kind) (string, error) {
	var modPath, cfgPath, toolchain string
	var mod []byte
	var writeConfig func(io.Writer) error
	switch kind {
	case KindGo, "":
		modPath, cfgPath, mod, toolchain = ModulePath, TasksPath, module.Wasm, module.Toolchain
		writeConfig = res.WriteTaskSet
	case KindJS:
		modPath, cfgPath, mod, toolchain = JSModulePath, ScriptPath, jsenv.Runner(), module.Toolchain
		writeConfig = func(w io.Writer) error { return astrajs.Write(w, res.Header, res.Tasks, res.SourceSHA256) }
	default:
		return "", fmt.Errorf("write pack %s: unknown kind %q (want go or js)", dir, kind)
	}
	for _, d := range []string{"modules", "data"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return "", fmt.Errorf("write pack %s: %w", dir, err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(modPath)), mod, 0o644); err != nil {
		return "", fmt.Errorf("write pack %s: %w", dir, err)
	}
	f, err := os.Create(filepath.Join(dir, filepath.FromSlash(cfgPath)))
	if err != nil {
		return "", fmt.Errorf("write pack %s: %w", dir, err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	err = writeConfig(w)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("write pack %s: %w", dir, err)
	}
	h := res.Header
	if kind == "" {
		kind = KindGo
	}
	m := &pack.Manifest{
		Name: h.Name, Version: h.Version, Description: h.Description,
		Environments: []pack.Environment{{Name: h.Name, Module: modPath, ABI: abi.Version, Config: cfgPath}},
		Provenance: pack.Provenance{
			SourceRecordsSHA256: res.SourceSHA256,
			Compiler: fmt.Sprintf("terrarium import astra (%s, kind %s, reward %s, distractors %d)",
				task.Format, kind, h.Mode, h.Distractors),
			Toolchain: toolchain + " wasip1/wasm",
		},
	}
	digest, err := pack.Finalize(dir, m)
	if err != nil {
		return "", fmt.Errorf("write pack: %w", err)
	}
	return digest, nil
}
