package pack

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// benchPack writes a pack with a 16 MiB module of half-compressible bytes.
func benchPack(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	mod := make([]byte, 16<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < len(mod); i += 2 {
		mod[i] = byte(r.Uint32())
	}
	os.MkdirAll(filepath.Join(dir, "modules"), 0o755)
	os.WriteFile(filepath.Join(dir, "modules/big.wasm"), mod, 0o644)
	if _, err := Finalize(dir, &Manifest{Name: "big", Version: "1.0.0",
		Environments: []Environment{{Name: "big", Module: "modules/big.wasm", ABI: 1}}}); err != nil {
		b.Fatal(err)
	}
	return dir
}

func BenchmarkBuild16MiB(b *testing.B) {
	dir := benchPack(b)
	out := filepath.Join(b.TempDir(), "big.tpack")
	b.SetBytes(16 << 20)
	for b.Loop() {
		if _, err := Build(dir, out); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnpack16MiB(b *testing.B) {
	dir := benchPack(b)
	var buf bytes.Buffer
	p, err := Load(dir)
	if err != nil {
		b.Fatal(err)
	}
	if err := WriteArchive(&buf, p, false); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(16 << 20)
	for b.Loop() {
		c := &Cache{Dir: b.TempDir()}
		if _, err := c.AddArchive(bytes.NewReader(buf.Bytes())); err != nil {
			b.Fatal(err)
		}
	}
}
