package pack

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"

	"github.com/terrarium-rl/terrarium/internal/envload"
	"github.com/terrarium-rl/terrarium/internal/oci"
	trt "github.com/terrarium-rl/terrarium/runtime"
)

// Packs resolve wherever an environment is named (--env): a directory
// with a pack.json, a pack archive, or an oci:// reference, each with an
// optional "#ENV". No capability is granted this way, so a pack that
// declares any is refused with the flags to grant it.
func init() {
	envload.Resolvers = append(envload.Resolvers, resolveEnv)
}

var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

func resolveEnv(ctx context.Context, path string) (trt.Source, bool, error) {
	ref, _ := splitEnv(path, "")
	if !oci.IsRef(ref) && !IsDir(ref) && !isArchiveFile(ref) {
		return trt.Source{}, false, nil
	}
	src, _, _, err := Resolve(ctx, path, ResolveOptions{})
	if err != nil {
		return trt.Source{}, true, err
	}
	// Name the source by the reference the user gave, not the module file
	// inside the pack: trajectories record it, and replay must resolve it
	// to the pack again (module and configuration), not to the bare module.
	src.Name = path
	return src, true, nil
}

func isArchiveFile(path string) bool {
	if filepath.Ext(path) == ".wasm" {
		return false
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [4]byte
	_, err = io.ReadFull(f, b[:])
	return err == nil && bytes.Equal(b[:], zstdMagic)
}
