package pack

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), LockFile)
	m := &Manifest{Name: "shop", Version: "1.0.0"}
	d1 := "sha256:" + strings.Repeat("ab", 32)
	d2 := "sha256:" + strings.Repeat("cd", 32)
	// First use pins.
	if err := CheckLock(path, m, d1); err != nil {
		t.Fatal(err)
	}
	l, err := ReadLock(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Packs) != 1 || l.Packs[0] != (LockEntry{"shop", "1.0.0", d1}) {
		t.Fatalf("lock after first use: %+v", l.Packs)
	}
	if err := CheckLock(path, m, d1); err != nil {
		t.Fatalf("same digest again: %v", err)
	}
	err = CheckLock(path, m, d2)
	if !errors.Is(err, ErrLockMismatch) || !strings.Contains(err.Error(), "shop@1.0.0") || !strings.Contains(err.Error(), d1) {
		t.Fatalf("other digest: %v, want ErrLockMismatch naming the pin", err)
	}
	// Another version is another entry.
	if err := CheckLock(path, &Manifest{Name: "shop", Version: "1.0.1"}, d2); err != nil {
		t.Fatal(err)
	}
	if l, _ = ReadLock(path); len(l.Packs) != 2 {
		t.Fatalf("lock holds %d entries, want 2", len(l.Packs))
	}
}

func TestParseLock(t *testing.T) {
	d := "sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		name, in, errHas string
	}{
		{"good", `{"format":"terrarium.lock/v1","packs":[{"name":"a","version":"1.0.0","digest":"` + d + `"}]}`, ""},
		{"empty", `{"format":"terrarium.lock/v1","packs":[]}`, ""},
		{"wrong format", `{"format":"x","packs":[]}`, "not supported"},
		{"bad digest", `{"format":"terrarium.lock/v1","packs":[{"name":"a","version":"1.0.0","digest":"sha256:x"}]}`, "digest"},
		{"bad version", `{"format":"terrarium.lock/v1","packs":[{"name":"a","version":"one","digest":"` + d + `"}]}`, "version"},
		{"twice", `{"format":"terrarium.lock/v1","packs":[{"name":"a","version":"1.0.0","digest":"` + d + `"},{"name":"a","version":"1.0.0","digest":"` + d + `"}]}`, "pinned twice"},
		{"unknown field", `{"format":"terrarium.lock/v1","packs":[],"x":1}`, "unknown field"},
		{"not json", `a = 1`, "invalid character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseLock([]byte(tt.in))
			if tt.errHas == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("ParseLock: %v, want an error containing %q", err, tt.errHas)
			}
		})
	}
}

func TestReadLockBroken(t *testing.T) {
	path := filepath.Join(t.TempDir(), LockFile)
	os.WriteFile(path, []byte("{"), 0o644)
	if _, err := ReadLock(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("ReadLock of a broken file: %v, want an error naming it", err)
	}
}

func TestCheckCapabilities(t *testing.T) {
	tests := []struct {
		name              string
		declared, granted []string
		missing           string // "" means allowed
	}{
		{"nothing declared", nil, nil, ""},
		{"granted exactly", []string{"backend:sqlite"}, []string{"backend:sqlite"}, ""},
		{"granted more", []string{"backend:sqlite"}, []string{"backend:sqlite", "net"}, ""},
		{"kind wildcard", []string{"backend:sqlite", "backend:search"}, []string{"backend:*"}, ""},
		{"not granted", []string{"backend:sqlite"}, nil, "backend:sqlite"},
		{"other argument", []string{"backend:sqlite"}, []string{"backend:postgres"}, "backend:sqlite"},
		{"kind is not a wildcard", []string{"backend:sqlite"}, []string{"backend"}, "backend:sqlite"},
		{"some missing", []string{"a", "b", "c"}, []string{"b"}, "a, c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckCapabilities(tt.declared, tt.granted)
			if tt.missing == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrCapability) || !strings.Contains(err.Error(), tt.missing) || !strings.Contains(err.Error(), "--allow") {
				t.Fatalf("CheckCapabilities: %v, want ErrCapability naming %q and --allow", err, tt.missing)
			}
		})
	}
}

func FuzzParseLock(f *testing.F) {
	d := "sha256:" + strings.Repeat("ab", 32)
	f.Add([]byte(`{"format":"terrarium.lock/v1","packs":[{"name":"a","version":"1.0.0","digest":"` + d + `"}]}`))
	f.Add([]byte(`{"format":"terrarium.lock/v1","packs":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ParseLock(b)
		if err != nil {
			return
		}
		// An accepted lock survives a write and a read unchanged in
		// meaning.
		path := filepath.Join(t.TempDir(), LockFile)
		if err := l.Write(path); err != nil {
			t.Fatal(err)
		}
		l2, err := ReadLock(path)
		if err != nil {
			t.Fatalf("written lock does not read back: %v", err)
		}
		for _, e := range l.Packs {
			if found, err := l2.Check(e.Name, e.Version, e.Digest); !found || err != nil {
				t.Fatalf("entry %+v lost: %v %v", e, found, err)
			}
		}
	})
}
