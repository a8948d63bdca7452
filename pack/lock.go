package pack

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
)

// LockFormat is the value of Lock.Format.
const LockFormat = "terrarium.lock/v1"

// LockFile is the lockfile's conventional name.
const LockFile = "terrarium.lock"

// Lock is a lockfile: it pins each name@version of a pack to a digest, so
// that a pack that changed under the same version is refused. See
// docs/pack.md.
//
// The zero value is an empty lock.
type Lock struct {
	Format string      `json:"format"`
	Packs  []LockEntry `json:"packs"`
}

// LockEntry pins one pack version.
type LockEntry struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Digest  string `json:"digest"`
}

const maxLockBytes = 16 << 20

// ReadLock reads a lockfile. A missing file is an empty lock.
func ReadLock(path string) (*Lock, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Lock{Format: LockFormat}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lockfile %s: %w", path, err)
	}
	l, err := ParseLock(b)
	if err != nil {
		return nil, fmt.Errorf("lockfile %s: %w", path, err)
	}
	return l, nil
}

// ParseLock decodes and checks a lockfile.
func ParseLock(b []byte) (*Lock, error) {
	if len(b) > maxLockBytes {
		return nil, fmt.Errorf("larger than %d bytes", maxLockBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var l Lock
	if err := dec.Decode(&l); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the lock object")
	}
	if l.Format != LockFormat {
		return nil, fmt.Errorf("format %q is not supported (want %s)", l.Format, LockFormat)
	}
	seen := map[[2]string]bool{}
	for i, e := range l.Packs {
		if err := checkName(e.Name); err != nil {
			return nil, fmt.Errorf("packs[%d].name: %w", i, err)
		}
		if !semverRE.MatchString(e.Version) {
			return nil, fmt.Errorf("packs[%d].version: %q is not a semantic version", i, e.Version)
		}
		if !isDigest(e.Digest) {
			return nil, fmt.Errorf("packs[%d].digest: %q is not sha256:<64 hex digits>", i, e.Digest)
		}
		k := [2]string{e.Name, e.Version}
		if seen[k] {
			return nil, fmt.Errorf("packs[%d]: %s@%s is pinned twice", i, e.Name, e.Version)
		}
		seen[k] = true
	}
	return &l, nil
}

// Check compares a pack with its entry. It reports whether there is an
// entry, and returns an error wrapping ErrLockMismatch when the entry pins
// another digest.
func (l *Lock) Check(name, version, digest string) (bool, error) {
	for _, e := range l.Packs {
		if e.Name == name && e.Version == version {
			if e.Digest != digest {
				return true, fmt.Errorf("%w: %s@%s is %s, the lockfile pins %s", ErrLockMismatch, name, version, digest, e.Digest)
			}
			return true, nil
		}
	}
	return false, nil
}

// Pin adds or replaces the entry of name@version.
func (l *Lock) Pin(name, version, digest string) {
	for i, e := range l.Packs {
		if e.Name == name && e.Version == version {
			l.Packs[i].Digest = digest
			return
		}
	}
	l.Packs = append(l.Packs, LockEntry{Name: name, Version: version, Digest: digest})
}

// Write writes the lock to path atomically, entries sorted by name and
// version, so that the file diffs cleanly.
func (l *Lock) Write(path string) error {
	l.Format = LockFormat
	if l.Packs == nil {
		l.Packs = []LockEntry{}
	}
	sort.Slice(l.Packs, func(i, j int) bool {
		a, b := l.Packs[i], l.Packs[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Version < b.Version
	})
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return fmt.Errorf("lockfile %s: %w", path, err)
	}
	if err := writeFileAtomic(path, append(b, '\n')); err != nil {
		return fmt.Errorf("lockfile %s: %w", path, err)
	}
	return nil
}

// CheckLock checks a pack against the lockfile at path: it returns an
// error wrapping ErrLockMismatch when the lockfile pins the pack's
// name@version to another digest. When the lockfile has no entry for it,
// the pack is pinned and the lockfile written (created if missing), as
// go.sum does: the first digest seen is the one trusted from then on.
func CheckLock(path string, m *Manifest, digest string) error {
	l, err := ReadLock(path)
	if err != nil {
		return err
	}
	found, err := l.Check(m.Name, m.Version, digest)
	if err != nil {
		return fmt.Errorf("lockfile %s: %w", path, err)
	}
	if found {
		return nil
	}
	l.Pin(m.Name, m.Version, digest)
	return l.Write(path)
}

func isDigest(s string) bool {
	return len(s) == len("sha256:")+64 && s[:7] == "sha256:" && hexRE.MatchString(s[7:])
}
