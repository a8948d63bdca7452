package pack

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFinalizeAndLoad(t *testing.T) {
	dir, digest := makePack(t)
	p, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if p.Digest != digest {
		t.Fatalf("Load digest %s, Finalize said %s", p.Digest, digest)
	}
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if digestOf(b) != digest {
		t.Fatalf("pack.json hashes to %s, want the pack digest %s", digestOf(b), digest)
	}
	src, err := p.Source("")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(src.Wasm, fakeModule) || string(src.Config) != `{"tasks":[1,2,3]}` {
		t.Fatalf("Source gave module %q and config %q", src.Wasm, src.Config)
	}
	if _, err := p.Source("nope"); !errors.Is(err, ErrNoEnvironment) {
		t.Fatalf("Source(nope): %v, want ErrNoEnvironment", err)
	}
}

func TestLoadRefuses(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(t *testing.T, dir string)
		wantErr error
		errHas  string
	}{
		{"tampered module", func(t *testing.T, dir string) {
			appendByte(t, filepath.Join(dir, "modules/shop.wasm"))
		}, ErrDigestMismatch, "modules/shop.wasm"},
		{"tampered dataset", func(t *testing.T, dir string) {
			appendByte(t, filepath.Join(dir, "data/extra/notes.txt"))
		}, ErrDigestMismatch, "data/extra/notes.txt"},
		{"missing dataset", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "data/tasks.json"))
		}, os.ErrNotExist, "tasks.json"},
		{"no manifest", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, ManifestFile))
		}, ErrInvalidManifest, "no pack.json"},
		{"invalid manifest", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, ManifestFile), []byte(`{"format":"terrarium.pack/v1","name":"x"}`), 0o644)
		}, ErrInvalidManifest, "semantic version"},
		{"symlink out of the pack", func(t *testing.T, dir string) {
			out := filepath.Join(t.TempDir(), "outside")
			os.WriteFile(out, []byte("notes\n"), 0o644)
			os.Remove(filepath.Join(dir, "data/extra/notes.txt"))
			if err := os.Symlink(out, filepath.Join(dir, "data/extra/notes.txt")); err != nil {
				t.Fatal(err)
			}
		}, nil, "escapes"},
		{"directory instead of file", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "data/extra/notes.txt"))
			os.Mkdir(filepath.Join(dir, "data/extra/notes.txt"), 0o755)
		}, ErrUnsafePath, "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, _ := makePack(t)
			tt.edit(t, dir)
			_, err := Load(dir)
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("Load: %v, want %v containing %q", err, tt.wantErr, tt.errHas)
			}
		})
	}
}

// A file changed after Load is refused by Source rather than run.
func TestSourceRechecks(t *testing.T) {
	dir, _ := makePack(t)
	p, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	appendByte(t, filepath.Join(dir, "modules/shop.wasm"))
	if _, err := p.Source(""); !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("Source after tampering: %v, want ErrDigestMismatch", err)
	}
}

func appendByte(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{0})
	f.Close()
}

// Same inputs, same bytes: two copies of a pack made at different times,
// with different modes and extra files, build to identical archives.
func TestBuildReproducible(t *testing.T) {
	dir1, d1 := makePack(t)
	dir2, d2 := makePack(t)
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	filepath.Walk(dir2, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			os.Chtimes(p, old, old)
			os.Chmod(p, 0o600)
		}
		return nil
	})
	os.WriteFile(filepath.Join(dir2, "README.unlisted"), []byte("not in the pack"), 0o644)
	if d1 != d2 {
		t.Fatalf("digests differ: %s, %s", d1, d2)
	}
	out := t.TempDir()
	a1, a2 := filepath.Join(out, "1.tpack"), filepath.Join(out, "2.tpack")
	if _, err := Build(dir1, a1); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(dir2, a2); err != nil {
		t.Fatal(err)
	}
	b1, _ := os.ReadFile(a1)
	b2, _ := os.ReadFile(a2)
	if !bytes.Equal(b1, b2) {
		t.Fatalf("archives differ (%d and %d bytes)", len(b1), len(b2))
	}
	if ents := listAll(t, out); len(ents) != 2 {
		t.Fatalf("build left %v in the output directory", ents)
	}
}

func TestArchiveRoundTrip(t *testing.T) {
	dir, digest := makePack(t)
	out := filepath.Join(t.TempDir(), "shop.tpack")
	if _, err := Build(dir, out); err != nil {
		t.Fatal(err)
	}
	c := &Cache{Dir: t.TempDir()}
	p, err := Open(t.Context(), out, OpenOptions{Cache: c})
	if err != nil {
		t.Fatal(err)
	}
	if p.Digest != digest || p.Dir != filepath.Join(c.Dir, strings.TrimPrefix(digest, "sha256:")) {
		t.Fatalf("opened %s at %s, want %s in the cache", p.Digest, p.Dir, digest)
	}
	src, err := p.Source("checkout")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(src.Wasm, fakeModule) {
		t.Fatal("module differs after the round trip")
	}
	// Opening again finds the entry; the cache holds only it.
	if _, err := Open(t.Context(), out, OpenOptions{Cache: c}); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(c.Dir); len(ents) != 1 {
		t.Fatalf("cache holds %d entries, want 1", len(ents))
	}
	exp := filepath.Join(t.TempDir(), "exported")
	if err := Export(p, exp); err != nil {
		t.Fatal(err)
	}
	p2, err := Load(exp)
	if err != nil || p2.Digest != digest {
		t.Fatalf("exported pack: %v, digest %v", err, p2)
	}
	if err := Export(p, exp); !errors.Is(err, os.ErrExist) {
		t.Fatalf("Export over an existing directory: %v, want ErrExist", err)
	}
}

func TestBadArchives(t *testing.T) {
	dir, _ := makePack(t)
	good := validMembers(t, dir)
	built := filepath.Join(t.TempDir(), "good.tpack")
	if _, err := Build(dir, built); err != nil {
		t.Fatal(err)
	}
	goodBytes, err := os.ReadFile(built)
	if err != nil {
		t.Fatal(err)
	}
	with := func(edit func(ms []member) []member) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			ms := append([]member(nil), good...)
			return craft(t, edit(ms))
		}
	}
	raw := func(b []byte) func(t *testing.T) []byte { return func(*testing.T) []byte { return b } }
	flipped := bytes.Clone(goodBytes)
	flipped[len(flipped)/2] ^= 0x40
	nonCanon := bytes.Replace(good[0].body, []byte("\n"), []byte("\n "), 1)
	tamperedModule := bytes.Clone(good[3].body) // members: pack.json, data/extra/notes.txt, data/tasks.json, modules/shop.wasm
	tamperedModule[0] ^= 1

	tests := []struct {
		name    string
		archive func(t *testing.T) []byte
		wantErr error
		errHas  string
	}{
		{"empty file", raw(nil), ErrInvalidArchive, ""},
		{"not zstd", raw([]byte("PK\x03\x04 a zip file")), ErrInvalidArchive, "not a zstd stream"},
		{"truncated to half", raw(goodBytes[:len(goodBytes)/2]), ErrInvalidArchive, ""},
		{"truncated by one byte", raw(goodBytes[:len(goodBytes)-1]), ErrInvalidArchive, ""},
		{"corrupt byte", raw(flipped), ErrInvalidArchive, ""},
		{"garbage after", raw(append(bytes.Clone(goodBytes), "garbage"...)), ErrInvalidArchive, ""},
		{"empty tar", func(t *testing.T) []byte { return craft(t, nil) }, ErrInvalidArchive, "empty archive"},
		{"manifest not first", with(func(ms []member) []member { return append(ms[1:], ms[0]) }), ErrInvalidArchive, "first member"},
		{"manifest not canonical", with(func(ms []member) []member { ms[0] = reg(ManifestFile, nonCanon); return ms }), ErrInvalidArchive, "canonical"},
		{"manifest invalid", with(func(ms []member) []member { ms[0] = reg(ManifestFile, []byte(`{"format":"x"}`)); return ms }), ErrInvalidManifest, "format"},
		{"tampered module", with(func(ms []member) []member { ms[3] = reg("modules/shop.wasm", tamperedModule); return ms }), ErrDigestMismatch, "modules/shop.wasm"},
		{"missing member", with(func(ms []member) []member { return ms[:3] }), ErrInvalidArchive, "missing from the archive"},
		{"duplicate member", with(func(ms []member) []member { return append(ms, ms[3]) }), ErrInvalidArchive, "comes twice"},
		{"unlisted member", with(func(ms []member) []member { return append(ms, reg("extra.txt", []byte("x"))) }), ErrInvalidArchive, "not named by the manifest"},
		{"dot-dot member", with(func(ms []member) []member { return append(ms, reg("../evil", []byte("x"))) }), ErrUnsafePath, `".."`},
		{"nested dot-dot member", with(func(ms []member) []member { return append(ms, reg("data/../../evil", []byte("x"))) }), ErrUnsafePath, `".."`},
		{"absolute member", with(func(ms []member) []member { return append(ms, reg("/tmp/evil", []byte("x"))) }), ErrUnsafePath, "absolute"},
		{"symlink", with(func(ms []member) []member {
			return append(ms, member{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: "data/link", Linkname: "/etc/passwd"}})
		}), ErrInvalidArchive, "symbolic link"},
		{"symlink first", with(func(ms []member) []member {
			return append([]member{{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: "modules", Linkname: "/tmp"}}}, ms...)
		}), ErrInvalidArchive, "symbolic link"},
		{"hard link", with(func(ms []member) []member {
			return append(ms, member{hdr: tar.Header{Typeflag: tar.TypeLink, Name: "data/hard", Linkname: "modules/shop.wasm"}})
		}), ErrInvalidArchive, "hard link"},
		{"char device", with(func(ms []member) []member {
			return append(ms, member{hdr: tar.Header{Typeflag: tar.TypeChar, Name: "dev/null", Devmajor: 1, Devminor: 3}})
		}), ErrInvalidArchive, "character device"},
		{"block device", with(func(ms []member) []member {
			return append(ms, member{hdr: tar.Header{Typeflag: tar.TypeBlock, Name: "dev/sda", Devmajor: 8}})
		}), ErrInvalidArchive, "block device"},
		{"fifo", with(func(ms []member) []member {
			return append(ms, member{hdr: tar.Header{Typeflag: tar.TypeFifo, Name: "fifo"}})
		}), ErrInvalidArchive, "FIFO"},
		{"directory", with(func(ms []member) []member {
			return append(ms, member{hdr: tar.Header{Typeflag: tar.TypeDir, Name: "modules/", Mode: 0o755}})
		}), ErrInvalidArchive, "directory"},
		{"signature not second", with(func(ms []member) []member { return append(ms, reg(SignatureFile, []byte("sig"))) }), ErrInvalidArchive, "right after"},
		{"oversized signature", with(func(ms []member) []member {
			return append([]member{ms[0], reg(SignatureFile, make([]byte, maxSignatureBytes+1))}, ms[1:]...)
		}), ErrInvalidArchive, "pack.sig: larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.archive(t)
			base := t.TempDir()
			cacheDir := filepath.Join(base, "cache")
			file := filepath.Join(base, "in.tpack")
			if err := os.WriteFile(file, b, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Open(t.Context(), file, OpenOptions{Cache: &Cache{Dir: cacheDir}})
			if err == nil || !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("Open: %v, want %v containing %q", err, tt.wantErr, tt.errHas)
			}
			t.Log(err)
			// Nothing outside the cache, nothing left in it.
			if ents := listAll(t, base); len(ents) != 2 || ents[0] != "cache" || ents[1] != "in.tpack" {
				t.Fatalf("after the error the directory holds %v, want only cache and in.tpack", ents)
			}
		})
	}
}

// An oversized member is refused from its header, before its body is read,
// so a pack cannot make the reader write gigabytes first.
func TestOversizedMemberHeader(t *testing.T) {
	dir, _ := makePack(t)
	ms := validMembers(t, dir)
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for _, m := range ms[:3] {
		h := m.hdr
		tw.WriteHeader(&h)
		tw.Write(m.body)
	}
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "modules/shop.wasm", Size: MaxFileBytes + 1, Mode: 0o644})
	// No body and no end marker: the archive is also truncated, but the
	// size must be what is reported.
	tw.Flush()
	_, err := readArchive(bytes.NewReader(compress(t, tb.Bytes())), nil)
	if !errors.Is(err, ErrInvalidArchive) || !strings.Contains(err.Error(), "more than the") {
		t.Fatalf("readArchive: %v, want an oversized-member error", err)
	}
}

func FuzzReadArchive(f *testing.F) {
	old := readLimits
	readLimits.file, readLimits.total = 1<<20, 4<<20
	f.Cleanup(func() { readLimits = old })
	dir, _ := makePack(f)
	built := filepath.Join(f.TempDir(), "good.tpack")
	if _, err := Build(dir, built); err != nil {
		f.Fatal(err)
	}
	good, err := os.ReadFile(built)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	ms := validMembers(f, dir)
	f.Add(craft(f, append(ms, reg("../evil", []byte("x")))))
	f.Add(craft(f, append(ms, member{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: "l", Linkname: "/"}})))
	f.Fuzz(func(t *testing.T, b []byte) {
		base := t.TempDir()
		c := &Cache{Dir: filepath.Join(base, "cache")}
		p, err := c.AddArchive(bytes.NewReader(b))
		if err != nil {
			// A failed read leaves the cache empty.
			if ents := listAll(t, c.Dir); len(ents) != 0 {
				t.Fatalf("failed read left %v", ents)
			}
			return
		}
		// What is accepted verifies as a pack directory, inside the cache.
		if _, err := Load(p.Dir); err != nil {
			t.Fatalf("accepted archive does not load: %v", err)
		}
		if ents := listAll(t, base); len(ents) == 0 || ents[0] != "cache" {
			t.Fatalf("wrote outside the cache: %v", ents)
		}
	})
}
