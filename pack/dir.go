package pack

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	trt "github.com/terrarium-rl/terrarium/runtime"
)

// Size bounds for what a pack may hold. They keep a hostile pack from
// exhausting memory or disk; docs/pack.md lists them.
const (
	// MaxFileBytes bounds one file of a pack.
	MaxFileBytes = 512 << 20
	// MaxPackBytes bounds the sum of a pack's files.
	MaxPackBytes = 2 << 30
)

// Pack is a verified pack directory: every file the manifest names was
// found with the digest the manifest gives.
//
// # Notes
//
// Verification happens once, in Load; Source checks the bytes it returns
// again, so a file changed on disk after Load is refused, not run.
type Pack struct {
	// Dir is the pack's directory.
	Dir string
	// Manifest is the parsed manifest.
	Manifest *Manifest
	// Digest is the pack digest, "sha256:" and 64 hex digits.
	Digest string
	// Signature is the content of pack.sig, or nil when the pack is not
	// signed. Load does not check it; see Verify and Trust.
	Signature []byte
}

// Finalize makes dir a pack: it computes the digest of every file m names
// (environments' modules and configs, datasets), fills them in, sets Format
// when empty, validates m, and writes the canonical manifest to
// dir/pack.json, replacing any earlier one atomically. It returns the pack
// digest. Compilers that emit packs (such as the ASTRA importer) call it
// after writing the files.
func Finalize(dir string, m *Manifest) (string, error) {
	if m.Format == "" {
		m.Format = Format
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return "", fmt.Errorf("pack %s: %w", dir, err)
	}
	defer root.Close()
	sum := func(p string) (string, error) {
		if err := CheckPath(p); err != nil {
			return "", fmt.Errorf("pack %s: %w", dir, err)
		}
		h, _, err := hashFile(root, p)
		if err != nil {
			return "", fmt.Errorf("pack %s: %w", dir, err)
		}
		return h, nil
	}
	for i := range m.Environments {
		e := &m.Environments[i]
		if e.ModuleSHA256, err = sum(e.Module); err != nil {
			return "", err
		}
		if e.Config != "" {
			if e.ConfigSHA256, err = sum(e.Config); err != nil {
				return "", err
			}
		}
	}
	for i := range m.Datasets {
		if m.Datasets[i].SHA256, err = sum(m.Datasets[i].Path); err != nil {
			return "", err
		}
	}
	if err := m.Validate(); err != nil {
		return "", fmt.Errorf("pack %s: %w", dir, err)
	}
	b, err := m.Canonical()
	if err != nil {
		return "", fmt.Errorf("pack %s: %w", dir, err)
	}
	if err := writeFileAtomic(filepath.Join(dir, ManifestFile), b); err != nil {
		return "", fmt.Errorf("pack %s: %w", dir, err)
	}
	return digestOf(b), nil
}

// IsDir reports whether dir holds a pack manifest.
func IsDir(dir string) bool {
	fi, err := os.Stat(filepath.Join(dir, ManifestFile))
	return err == nil && fi.Mode().IsRegular()
}

// Load reads the pack in dir and checks every file against the manifest.
// Files the manifest does not name are ignored (a source directory may hold
// more), and symbolic links may not lead out of dir.
func Load(dir string) (*Pack, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", dir, err)
	}
	defer root.Close()
	mb, err := readRegular(root, ManifestFile, maxManifestBytes)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("pack %s: %w: no %s", dir, ErrInvalidManifest, ManifestFile)
		}
		return nil, fmt.Errorf("pack %s: %w", dir, err)
	}
	m, err := ParseManifest(mb)
	if err != nil {
		return nil, fmt.Errorf("pack %s: %s: %w", dir, ManifestFile, err)
	}
	var total int64
	for _, f := range m.Files() {
		h, n, err := hashFile(root, f.Path)
		if err != nil {
			return nil, fmt.Errorf("pack %s: %w", dir, err)
		}
		if h != f.SHA256 {
			return nil, fmt.Errorf("pack %s: %s: %w: sha256 is %s, the manifest says %s", dir, f.Path, ErrDigestMismatch, h, f.SHA256)
		}
		if total += n; total > MaxPackBytes {
			return nil, fmt.Errorf("pack %s: files total more than %d bytes", dir, int64(MaxPackBytes))
		}
	}
	d, err := m.Digest()
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", dir, err)
	}
	p := &Pack{Dir: dir, Manifest: m, Digest: d}
	sig, err := readRegular(root, SignatureFile, maxSignatureBytes)
	switch {
	case err == nil:
		p.Signature = sig
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("pack %s: %w", dir, err)
	}
	return p, nil
}

// Source returns the environment called name (or the only one, when name
// is empty) as a runtime.Source: its module and its configuration blob.
// Both are checked against their digests again as they are read.
func (p *Pack) Source(name string) (trt.Source, error) {
	e, err := p.Manifest.Environment(name)
	if err != nil {
		return trt.Source{}, fmt.Errorf("pack %s: %w", p.Dir, err)
	}
	root, err := os.OpenRoot(p.Dir)
	if err != nil {
		return trt.Source{}, fmt.Errorf("pack %s: %w", p.Dir, err)
	}
	defer root.Close()
	read := func(rel, want string) ([]byte, error) {
		b, err := readRegular(root, rel, MaxFileBytes)
		if err != nil {
			return nil, fmt.Errorf("pack %s: %w", p.Dir, err)
		}
		if h := hexSHA256(b); h != want {
			return nil, fmt.Errorf("pack %s: %s: %w: sha256 is %s, the manifest says %s", p.Dir, rel, ErrDigestMismatch, h, want)
		}
		return b, nil
	}
	src := trt.Source{Name: filepath.Join(p.Dir, filepath.FromSlash(e.Module))}
	if src.Wasm, err = read(e.Module, e.ModuleSHA256); err != nil {
		return trt.Source{}, err
	}
	if e.Config != "" {
		if src.Config, err = read(e.Config, e.ConfigSHA256); err != nil {
			return trt.Source{}, err
		}
	}
	return src, nil
}

// hashFile returns the hex SHA-256 and size of a regular file in root.
func hashFile(root *os.Root, rel string) (string, int64, error) {
	f, err := openRegular(root, rel)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return "", 0, fmt.Errorf("%s: %w", rel, err)
	}
	if n > MaxFileBytes {
		return "", 0, fmt.Errorf("%s: larger than %d bytes", rel, MaxFileBytes)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func openRegular(root *os.Root, rel string) (*os.File, error) {
	f, err := root.Open(filepath.FromSlash(rel))
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: %w: not a regular file", rel, ErrUnsafePath)
	}
	return f, nil
}

func readRegular(root *os.Root, rel string, limit int64) ([]byte, error) {
	f, err := openRegular(root, rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", rel, limit)
	}
	return b, nil
}

// writeFileAtomic writes b to a temporary file next to name and renames it
// over name, so readers see the old content or the new, never a part.
func writeFileAtomic(name string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

func sortFiles(fs []Dataset) {
	sort.Slice(fs, func(i, j int) bool { return fs[i].Path < fs[j].Path })
}
