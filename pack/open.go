package pack

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/terrarium-rl/terrarium/internal/oci"
	trt "github.com/terrarium-rl/terrarium/runtime"
)

// OpenOptions configures Open.
type OpenOptions struct {
	// PlainHTTP lets oci:// references to non-loopback registries use
	// plain HTTP. Loopback registries always use it.
	PlainHTTP bool
	// Cache holds packs read from archives and registries; nil means
	// DefaultCache.
	Cache *Cache
}

func (o OpenOptions) cache() (*Cache, error) {
	if o.Cache != nil {
		return o.Cache, nil
	}
	return DefaultCache()
}

// Open opens the pack that ref names: a pack directory, a pack archive file
// (as pack build writes) or an oci:// reference. Archives and registry packs
// are unpacked into the cache, keyed by digest; a registry pack already
// there is not downloaded again. Every file is verified against the
// manifest. The signature, when there is one, is returned in
// Pack.Signature, not checked: see VerifySignature and Resolve.
func Open(ctx context.Context, ref string, opts OpenOptions) (*Pack, error) {
	if oci.IsRef(ref) {
		return openOCI(ctx, ref, opts)
	}
	fi, err := os.Stat(ref)
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", ref, err)
	}
	if fi.IsDir() {
		return Load(ref)
	}
	c, err := opts.cache()
	if err != nil {
		return nil, err
	}
	f, err := os.Open(ref)
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", ref, err)
	}
	defer f.Close()
	p, err := c.AddArchive(f)
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", ref, err)
	}
	return p, nil
}

func openOCI(ctx context.Context, ref string, opts OpenOptions) (*Pack, error) {
	c, err := opts.cache()
	if err != nil {
		return nil, err
	}
	pulled, err := oci.Pull(ctx, ref, oci.Options{PlainHTTP: opts.PlainHTTP})
	if err != nil {
		return nil, err
	}
	m, err := ParseManifest(pulled.Manifest)
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", ref, err)
	}
	if d := digestOf(pulled.Manifest); d != pulled.PackDigest {
		return nil, fmt.Errorf("pack %s: %w: manifest digest %s, the artifact says %s", ref, ErrDigestMismatch, d, pulled.PackDigest)
	}
	if canon, err := m.Canonical(); err != nil || !bytes.Equal(canon, pulled.Manifest) {
		return nil, fmt.Errorf("pack %s: %w: %s is not in canonical form", ref, ErrInvalidManifest, ManifestFile)
	}
	p, err := c.Lookup(pulled.PackDigest)
	if err != nil {
		return nil, err
	}
	if p == nil {
		rc, err := pulled.Archive(ctx, MaxPackBytes)
		if err != nil {
			return nil, err
		}
		p, err = c.AddArchive(rc)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("pack %s: %w", ref, err)
		}
		if p.Digest != pulled.PackDigest {
			return nil, fmt.Errorf("pack %s: %w: the archive layer holds pack %s, the artifact says %s", ref, ErrDigestMismatch, p.Digest, pulled.PackDigest)
		}
	}
	p.Signature = pulled.Signature
	return p, nil
}

// Push uploads p to an OCI registry as "oci://HOST[:PORT]/REPO:TAG" and
// returns the OCI manifest digest. The pack's signature, if any, goes with
// it as its own layer.
func Push(ctx context.Context, p *Pack, to string, opts OpenOptions) (string, error) {
	f, err := os.CreateTemp("", "terrarium-push-*.tar.zst")
	if err != nil {
		return "", fmt.Errorf("push %s: %w", to, err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	if err := WriteArchive(cw, p, true); err != nil {
		return "", err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("push %s: %w", to, err)
	}
	mb, err := p.Manifest.Canonical()
	if err != nil {
		return "", err
	}
	return oci.Push(ctx, to, &oci.Artifact{
		Manifest: mb, Name: p.Manifest.Name, Version: p.Manifest.Version,
		Archive: f, ArchiveSize: cw.n, ArchiveDigest: "sha256:" + hex.EncodeToString(h.Sum(nil)),
		Signature: p.Signature,
	}, oci.Options{PlainHTTP: opts.PlainHTTP})
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// Export writes p as a pack directory at dir, which must not exist: its
// files, pack.json and, when signed, pack.sig. It writes into a temporary
// directory beside dir and renames it, so dir appears complete or not at
// all.
func Export(p *Pack, dir string) error {
	if _, err := os.Lstat(dir); err == nil {
		return fmt.Errorf("export %s: %w", dir, fs.ErrExist)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("export %s: %w", dir, err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	dst, err := os.OpenRoot(tmp)
	if err != nil {
		return fmt.Errorf("export %s: %w", dir, err)
	}
	defer dst.Close()
	src, err := os.OpenRoot(p.Dir)
	if err != nil {
		return fmt.Errorf("export %s: %w", dir, err)
	}
	defer src.Close()
	mb, err := p.Manifest.Canonical()
	if err != nil {
		return err
	}
	if err := writeMember(dst, ManifestFile, bytes.NewReader(mb), ""); err != nil {
		return fmt.Errorf("export %s: %w", dir, err)
	}
	if len(p.Signature) > 0 {
		if err := writeMember(dst, SignatureFile, bytes.NewReader(p.Signature), ""); err != nil {
			return fmt.Errorf("export %s: %w", dir, err)
		}
	}
	for _, f := range p.Manifest.Files() {
		err := copyVerified(src, f, func(name string, _ int64, r io.Reader) error {
			return writeMember(dst, name, r, "")
		})
		if err != nil {
			return fmt.Errorf("export %s: %w", dir, err)
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("export %s: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("export %s: %w", dir, err)
	}
	ok = true
	return nil
}

// SignRef signs the pack that ref names with the private key priv and
// stores the signature with the pack: pack.sig in a directory, a pack.sig
// member in an archive file (rewritten atomically), or the signature layer
// of an oci:// tag (pushed again; the pack digest does not change).
func SignRef(ctx context.Context, ref string, priv []byte, opts OpenOptions) (*Pack, error) {
	p, err := Open(ctx, ref, opts)
	if err != nil {
		return nil, err
	}
	sig, err := Sign(priv, p.Manifest.Name, p.Manifest.Version, p.Digest)
	if err != nil {
		return nil, err
	}
	p.Signature = sig
	switch {
	case oci.IsRef(ref):
		if _, err := Push(ctx, p, ref, opts); err != nil {
			return nil, err
		}
	case isDirPath(ref):
		if err := writeFileAtomic(filepath.Join(ref, SignatureFile), sig); err != nil {
			return nil, fmt.Errorf("sign %s: %w", ref, err)
		}
	default:
		if err := writeArchiveFile(p, ref); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func isDirPath(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func writeArchiveFile(p *Pack, out string) error {
	f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	tmp := f.Name()
	err = WriteArchive(f, p, false)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, out)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", out, err)
	}
	return nil
}

// ResolveOptions configures Resolve.
type ResolveOptions struct {
	OpenOptions
	// Env names the environment to run; "" means the pack's only one. A
	// reference may also name it after a '#': "shop.tpack#checkout".
	Env string
	// Lockfile is the path of a lockfile (terrarium.lock) to check the pack
	// against and to pin it in when it has no entry; "" checks nothing.
	Lockfile string
	// TrustKey is the path of a public key (NAME.pub); when set, the pack
	// must carry a valid signature by that key.
	TrustKey string
	// Allow lists the capabilities the user grants.
	Allow []string
}

// Resolve opens the pack that ref names (see Open) and checks it for
// running: every file digest, then the lockfile, the signature when
// TrustKey is set, and the declared capabilities against Allow. Each
// refusal is an error wrapping one of ErrDigestMismatch, ErrLockMismatch,
// ErrUnsigned, ErrBadSignature or ErrCapability. It returns the
// environment's Source, the manifest (whose Limits and Capabilities the
// caller applies to the host) and the pack digest.
func Resolve(ctx context.Context, ref string, opts ResolveOptions) (trt.Source, *Manifest, string, error) {
	ref, env := splitEnv(ref, opts.Env)
	p, err := Open(ctx, ref, opts.OpenOptions)
	if err != nil {
		return trt.Source{}, nil, "", err
	}
	fail := func(err error) (trt.Source, *Manifest, string, error) {
		return trt.Source{}, nil, "", fmt.Errorf("pack %s: %w", ref, err)
	}
	var lock *Lock
	if opts.Lockfile != "" {
		if lock, err = ReadLock(opts.Lockfile); err != nil {
			return fail(err)
		}
		if _, err := lock.Check(p.Manifest.Name, p.Manifest.Version, p.Digest); err != nil {
			return fail(fmt.Errorf("lockfile %s: %w", opts.Lockfile, err))
		}
	}
	if opts.TrustKey != "" {
		pub, _, err := ReadPublicKey(opts.TrustKey)
		if err != nil {
			return fail(err)
		}
		if err := VerifySignature(pub, p.Signature, p.Digest); err != nil {
			if errors.Is(err, ErrUnsigned) {
				return fail(fmt.Errorf("%w, and --trust %s requires a signature", err, opts.TrustKey))
			}
			return fail(err)
		}
	}
	if err := CheckCapabilities(p.Manifest.Capabilities, opts.Allow); err != nil {
		return fail(err)
	}
	src, err := p.Source(env)
	if err != nil {
		return trt.Source{}, nil, "", err
	}
	if lock != nil {
		if err := CheckLock(opts.Lockfile, p.Manifest, p.Digest); err != nil {
			return fail(err)
		}
	}
	return src, p.Manifest, p.Digest, nil
}

// splitEnv separates a "#ENV" suffix from ref, unless env is already given
// or ref with the suffix names an existing file.
func splitEnv(ref, env string) (string, string) {
	if env != "" {
		return ref, env
	}
	i := strings.LastIndexByte(ref, '#')
	if i < 0 {
		return ref, ""
	}
	if _, err := os.Stat(ref); err == nil {
		return ref, ""
	}
	return ref[:i], ref[i+1:]
}
