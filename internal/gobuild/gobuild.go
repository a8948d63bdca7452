// Package gobuild builds a Go environment directory (a main package using
// package sdk) into a WASI reactor module with the go command, reproducibly:
// the same source and toolchain give the same bytes.
package gobuild

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// IsGoEnv reports whether dir holds Go source files.
func IsGoEnv(dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	return len(m) > 0
}

// Build compiles the main package in dir to a .wasm file in the user's
// cache and returns its path. The go command's own cache makes rebuilds of
// unchanged sources fast.
func Build(ctx context.Context, dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("build %s: %w", dir, err)
	}
	if !IsGoEnv(abs) {
		return "", fmt.Errorf("build %s: no Go files in the directory", dir)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	sum := sha256.Sum256([]byte(abs))
	outDir := filepath.Join(cache, "terrarium", "build")
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", fmt.Errorf("build %s: %w", dir, err)
	}
	out := filepath.Join(outDir, filepath.Base(abs)+"-"+hex.EncodeToString(sum[:6])+".wasm")
	tmp := out + fmt.Sprintf(".tmp%d", os.Getpid())
	args := []string{"build", "-buildmode=c-shared", "-trimpath", "-buildvcs=false", "-ldflags=-buildid=", "-o", tmp}
	if _, err := os.Stat(filepath.Join(abs, "go.mod")); err == nil {
		// An env with its own module (terrarium env new outside a
		// checkout) may complete its go.mod from go.sum on first build.
		args = append(args, "-mod=mod")
	}
	cmd := exec.CommandContext(ctx, goTool(), append(args, ".")...)
	cmd.Dir = abs
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("build %s: go build: %w\n%s", dir, err, strings.TrimSpace(stderr.String()))
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", fmt.Errorf("build %s: %w", dir, err)
	}
	return out, nil
}

func goTool() string {
	if root := os.Getenv("GOROOT"); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "go"
}
