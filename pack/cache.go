package pack

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Cache holds verified packs on disk, one directory per pack digest:
// DIR/<hex digest>/ with pack.json and the files it names. Signatures are not
// kept there: a digest may be signed by many keys, and the signature is read
// from where the pack came from each time.
//
// # Notes
//
// Entries are written into a temporary directory inside DIR and renamed
// into place once complete and verified, so an entry is never seen half
// written, and two processes adding the same pack race harmlessly. Entries
// are checked again when used (Lookup verifies every digest).
type Cache struct {
	// Dir is the cache directory.
	Dir string
}

// DefaultCache returns the cache in $TERRARIUM_PACK_CACHE when set, else in
// "terrarium/packs" under the user's cache directory.
func DefaultCache() (*Cache, error) {
	if d := os.Getenv("TERRARIUM_PACK_CACHE"); d != "" {
		return &Cache{Dir: d}, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return nil, fmt.Errorf("pack cache: %w", err)
	}
	return &Cache{Dir: filepath.Join(d, "terrarium", "packs")}, nil
}

// staleTemp is how old a leftover temporary directory (from a process
// killed while adding a pack) must be before it is removed.
const staleTemp = time.Hour

func (c *Cache) entry(digest string) (string, error) {
	hexd, ok := strings.CutPrefix(digest, "sha256:")
	if !ok || !hexRE.MatchString(hexd) {
		return "", fmt.Errorf("pack cache: %q is not a pack digest (sha256:<64 hex digits>)", digest)
	}
	return filepath.Join(c.Dir, hexd), nil
}

// Lookup returns the cached pack with the given digest, verified, or nil
// when the cache does not hold it.
func (c *Cache) Lookup(digest string) (*Pack, error) {
	dir, err := c.entry(digest)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	p, err := Load(dir)
	if err != nil {
		return nil, fmt.Errorf("pack cache: entry %s is damaged (remove it to fetch the pack again): %w", digest, err)
	}
	if p.Digest != digest {
		return nil, fmt.Errorf("pack cache: entry %s is damaged (remove it to fetch the pack again): %w: it holds pack %s", digest, ErrDigestMismatch, p.Digest)
	}
	return p, nil
}

// AddArchive reads a pack archive from r into the cache and returns the
// cached pack, its signature (if the archive has one) set. Nothing is
// written outside the cache directory, and on any error nothing is left in
// it.
func (c *Cache) AddArchive(r io.Reader) (*Pack, error) {
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("pack cache: %w", err)
	}
	c.removeStale()
	tmp, err := os.MkdirTemp(c.Dir, ".tmp-")
	if err != nil {
		return nil, fmt.Errorf("pack cache: %w", err)
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	root, err := os.OpenRoot(tmp)
	if err != nil {
		return nil, fmt.Errorf("pack cache: %w", err)
	}
	a, err := readArchive(r, root)
	root.Close()
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("pack cache: %w", err)
	}
	dir, err := c.entry(a.digest)
	if err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another process may have added the same pack first; its entry
		// is as good as ours if it verifies.
		if _, serr := os.Stat(dir); serr != nil {
			return nil, fmt.Errorf("pack cache: %w", err)
		}
	} else {
		done = true
	}
	p, err := c.Lookup(a.digest)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, fmt.Errorf("pack cache: entry %s vanished", a.digest)
	}
	p.Signature = a.signature
	return p, nil
}

// removeStale removes temporary directories left by killed processes.
func (c *Cache) removeStale() {
	ents, err := os.ReadDir(c.Dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".tmp-") {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > staleTemp {
			os.RemoveAll(filepath.Join(c.Dir, e.Name()))
		}
	}
}
