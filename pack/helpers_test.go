package pack

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// fakeModule stands in for a module: packs do not look inside modules, so
// most tests need no compiled environment.
var fakeModule = []byte("\x00asm\x01\x00\x00\x00 fake module for pack tests")

// testManifest returns a manifest for the files that writePackFiles writes.
func testManifest() *Manifest {
	return &Manifest{
		Name: "shop", Version: "1.2.3", Description: "a test pack", License: "Apache-2.0",
		Environments: []Environment{{Name: "checkout", Module: "modules/shop.wasm", ABI: 1, Config: "data/tasks.json"}},
		Datasets:     []Dataset{{Path: "data/extra/notes.txt"}},
		Limits:       Limits{MemoryPages: 1024, StepTimeoutMS: 5000},
		Provenance:   Provenance{Compiler: "pack tests", Toolchain: "none"},
	}
}

func writePackFiles(t testing.TB, dir string) {
	t.Helper()
	files := map[string][]byte{
		"modules/shop.wasm":    fakeModule,
		"data/tasks.json":      []byte(`{"tasks":[1,2,3]}`),
		"data/extra/notes.txt": []byte("notes\n"),
	}
	for name, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// makePack writes a finalized pack directory and returns it and its digest.
func makePack(t testing.TB) (string, string) {
	t.Helper()
	dir := t.TempDir()
	writePackFiles(t, dir)
	d, err := Finalize(dir, testManifest())
	if err != nil {
		t.Fatal(err)
	}
	return dir, d
}

// member is one entry of a hand-made archive.
type member struct {
	hdr  tar.Header
	body []byte
}

func reg(name string, body []byte) member {
	return member{tar.Header{Typeflag: tar.TypeReg, Name: name, Size: int64(len(body)), Mode: 0o644}, body}
}

// craft builds a tar+zstd archive from members as given, however wrong.
func craft(t testing.TB, ms []member) []byte {
	t.Helper()
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for _, m := range ms {
		h := m.hdr
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if len(m.body) > 0 {
			if _, err := tw.Write(m.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return compress(t, tb.Bytes())
}

func compress(t testing.TB, b []byte) []byte {
	t.Helper()
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	return zw.EncodeAll(b, nil)
}

// validMembers returns the members of a valid archive of makePack's pack.
func validMembers(t testing.TB, dir string) []member {
	t.Helper()
	p, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := p.Manifest.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	ms := []member{reg(ManifestFile, mb)}
	for _, f := range p.Manifest.Files() {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, reg(f.Path, b))
	}
	return ms
}

// listAll returns every path under dir, relative, for checking that a
// failed operation left nothing behind.
func listAll(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if rel, _ := filepath.Rel(dir, p); rel != "." {
			out = append(out, rel)
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return out
}
