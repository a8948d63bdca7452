package astra

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/envs/astra/module"
	"github.com/terrarium-rl/terrarium/internal/astra/task"
	"github.com/terrarium-rl/terrarium/pack"
)

// Paths inside an imported pack.
const (
	ModulePath = "modules/astra.wasm"
	TasksPath  = "data/tasks.json"
)

// WritePack writes res into dir as a pack: the runner module, the task set
// and the manifest (written last, by pack.Finalize, so that a directory
// with a pack.json is complete). It returns the pack digest.
func WritePack(dir string, res *Result) (string, error) {
	for _, d := range []string{"modules", "data"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return "", fmt.Errorf("write pack %s: %w", dir, err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(ModulePath)), module.Wasm, 0o644); err != nil {
		return "", fmt.Errorf("write pack %s: %w", dir, err)
	}
	f, err := os.Create(filepath.Join(dir, filepath.FromSlash(TasksPath)))
	if err != nil {
		return "", fmt.Errorf("write pack %s: %w", dir, err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	err = res.WriteTaskSet(w)
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
	m := &pack.Manifest{
		Name: h.Name, Version: h.Version, Description: h.Description,
		Environments: []pack.Environment{{Name: h.Name, Module: ModulePath, ABI: abi.Version, Config: TasksPath}},
		Provenance: pack.Provenance{
			SourceRecordsSHA256: res.SourceSHA256,
			Compiler: fmt.Sprintf("terrarium import astra (%s, reward %s, distractors %d)",
				task.Format, h.Mode, h.Distractors),
			Toolchain: module.Toolchain + " wasip1/wasm",
		},
	}
	digest, err := pack.Finalize(dir, m)
	if err != nil {
		return "", fmt.Errorf("write pack: %w", err)
	}
	return digest, nil
}
