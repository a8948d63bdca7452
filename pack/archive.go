package pack

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/klauspost/compress/zstd"
)

// A pack archive is a tar stream compressed with zstd (one frame). Its
// members, all regular files, come in a fixed order: pack.json (canonical),
// pack.sig when the pack is signed, then the files the manifest names,
// sorted by path. Headers carry only name, size and type: mode 0644, owner
// 0, empty user and group names, modification time the Unix epoch. So the
// same pack always gives the same archive bytes with a given zstd encoder
// version; the pack digest, which covers the manifest only, does not
// depend on compression at all.

// zstd settings. The window bound stops a crafted frame from making the
// decoder allocate gigabytes.
const (
	zstdMaxWindow = 64 << 20
	zstdMaxMemory = 256 << 20
	// maxPadding bounds the zeros accepted after the tar end marker (tar
	// tools pad to a record of 10 KiB or so).
	maxPadding = 1 << 20
)

var epoch = time.Unix(0, 0).UTC()

// readLimits are MaxFileBytes and MaxPackBytes for the archive reader; the
// fuzz target lowers them, since a few bytes of zstd can expand to the
// full limit.
var readLimits = struct{ file, total int64 }{MaxFileBytes, MaxPackBytes}

// WriteArchive writes p as a pack archive to w. With unsigned set it leaves
// the signature out, as the OCI layer does (the signature travels beside
// it).
func WriteArchive(w io.Writer, p *Pack, unsigned bool) error {
	zw, err := zstd.NewWriter(w, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedDefault),
		zstd.WithEncoderCRC(true), zstd.WithZeroFrames(true))
	if err != nil {
		return fmt.Errorf("archive %s: %w", p.Dir, err)
	}
	tw := tar.NewWriter(zw)
	put := func(name string, size int64, r io.Reader) error {
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o644,
			ModTime: epoch, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("archive %s: %s: %w", p.Dir, name, err)
		}
		if _, err := io.Copy(tw, r); err != nil {
			return fmt.Errorf("archive %s: %s: %w", p.Dir, name, err)
		}
		return nil
	}
	mb, err := p.Manifest.Canonical()
	if err != nil {
		return fmt.Errorf("archive %s: %w", p.Dir, err)
	}
	if err := put(ManifestFile, int64(len(mb)), bytes.NewReader(mb)); err != nil {
		return err
	}
	if len(p.Signature) > 0 && !unsigned {
		if err := put(SignatureFile, int64(len(p.Signature)), bytes.NewReader(p.Signature)); err != nil {
			return err
		}
	}
	root, err := os.OpenRoot(p.Dir)
	if err != nil {
		return fmt.Errorf("archive %s: %w", p.Dir, err)
	}
	defer root.Close()
	for _, f := range p.Manifest.Files() {
		if err := copyVerified(root, f, put); err != nil {
			return fmt.Errorf("archive %s: %w", p.Dir, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("archive %s: %w", p.Dir, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("archive %s: %w", p.Dir, err)
	}
	return nil
}

// copyVerified archives one file and checks, as it goes, that it still has
// the digest Load saw: a file changed in between is an error, not a pack
// with a lying manifest.
func copyVerified(root *os.Root, f Dataset, put func(string, int64, io.Reader) error) error {
	fh, err := openRegular(root, f.Path)
	if err != nil {
		return err
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return err
	}
	h := sha256.New()
	if err := put(f.Path, fi.Size(), io.TeeReader(fh, h)); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 {
		return fmt.Errorf("%s: %w: changed while archiving (sha256 %s, the manifest says %s)", f.Path, ErrDigestMismatch, got, f.SHA256)
	}
	return nil
}

// Build loads and verifies the pack in dir and writes its archive to out,
// through a temporary file renamed into place. It returns the pack digest.
func Build(dir, out string) (string, error) {
	p, err := Load(dir)
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp*")
	if err != nil {
		return "", fmt.Errorf("build %s: %w", out, err)
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
		return "", fmt.Errorf("build %s: %w", out, err)
	}
	return p.Digest, nil
}

// archived is what reading an archive found.
type archived struct {
	manifest  *Manifest
	digest    string
	signature []byte
}

// readArchive reads a pack archive from r, checking every member, and
// writes the pack's files (pack.json included, pack.sig not) under dst
// when dst is not nil. Any error leaves dst partly written: callers extract
// into a temporary directory and remove it on error.
func readArchive(r io.Reader, dst *os.Root) (*archived, error) {
	zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(zstdMaxWindow),
		zstd.WithDecoderMaxMemory(zstdMaxMemory))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidArchive, err)
	}
	defer zr.Close()
	a, err := readTar(zr, dst)
	if err != nil {
		return nil, err
	}
	// The tar end marker may come before the end of the zstd stream; read
	// on so that truncation or corruption after it (the frame checksum
	// included) is still caught, and refuse anything but padding.
	n, err := io.Copy(zeroChecker{}, io.LimitReader(zr, maxPadding+1))
	if errors.Is(err, zstd.ErrMagicMismatch) {
		return nil, fmt.Errorf("%w: data after the end of the zstd frame", ErrInvalidArchive)
	}
	if err != nil {
		return nil, archiveErr("after the last member", err)
	}
	if n > maxPadding {
		return nil, fmt.Errorf("%w: more than %d bytes of padding after the last member", ErrInvalidArchive, maxPadding)
	}
	return a, nil
}

type zeroChecker struct{}

func (zeroChecker) Write(p []byte) (int, error) {
	for _, b := range p {
		if b != 0 {
			return 0, errors.New("data after the end of the tar stream")
		}
	}
	return len(p), nil
}

func archiveErr(where string, err error) error {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: %s: truncated", ErrInvalidArchive, where)
	case errors.Is(err, zstd.ErrMagicMismatch):
		return fmt.Errorf("%w: not a zstd stream (a pack archive is tar+zstd)", ErrInvalidArchive)
	}
	return fmt.Errorf("%w: %s: %w", ErrInvalidArchive, where, err)
}

func readTar(r io.Reader, dst *os.Root) (*archived, error) {
	tr := tar.NewReader(r)
	next := func(where string) (*tar.Header, error) {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil, err
		}
		if err != nil {
			return nil, archiveErr(where, err)
		}
		if err := checkHeader(hdr); err != nil {
			return nil, err
		}
		return hdr, nil
	}

	hdr, err := next("first member")
	if err == io.EOF {
		return nil, fmt.Errorf("%w: empty archive", ErrInvalidArchive)
	}
	if err != nil {
		return nil, err
	}
	if hdr.Name != ManifestFile {
		return nil, fmt.Errorf("%w: first member is %q, want %s", ErrInvalidArchive, hdr.Name, ManifestFile)
	}
	if hdr.Size > maxManifestBytes {
		return nil, fmt.Errorf("%w: %s: larger than %d bytes", ErrInvalidArchive, ManifestFile, maxManifestBytes)
	}
	mb, err := io.ReadAll(tr)
	if err != nil {
		return nil, archiveErr(ManifestFile, err)
	}
	m, err := ParseManifest(mb)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ManifestFile, err)
	}
	canon, err := m.Canonical()
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(canon, mb) {
		// Archives hold the canonical form, so that the digest of the
		// pack.json member is the pack digest.
		return nil, fmt.Errorf("%w: %s is not in canonical form", ErrInvalidArchive, ManifestFile)
	}
	a := &archived{manifest: m, digest: digestOf(mb)}
	if dst != nil {
		if err := writeMember(dst, ManifestFile, bytes.NewReader(mb), ""); err != nil {
			return nil, err
		}
	}

	want := map[string]string{}
	for _, f := range m.Files() {
		want[f.Path] = f.SHA256
	}
	var total int64
	for first := true; ; first = false {
		hdr, err := next("member after " + ManifestFile)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if hdr.Name == SignatureFile {
			if !first {
				return nil, fmt.Errorf("%w: %s must come right after %s", ErrInvalidArchive, SignatureFile, ManifestFile)
			}
			if hdr.Size > maxSignatureBytes {
				return nil, fmt.Errorf("%w: %s: larger than %d bytes", ErrInvalidArchive, SignatureFile, maxSignatureBytes)
			}
			if a.signature, err = io.ReadAll(tr); err != nil {
				return nil, archiveErr(SignatureFile, err)
			}
			continue
		}
		if err := CheckPath(hdr.Name); err != nil {
			return nil, fmt.Errorf("%w: member %q: %w", ErrInvalidArchive, hdr.Name, err)
		}
		sum, ok := want[hdr.Name]
		if !ok {
			return nil, fmt.Errorf("%w: member %q is not named by the manifest, or comes twice", ErrInvalidArchive, hdr.Name)
		}
		delete(want, hdr.Name)
		if hdr.Size > readLimits.file {
			return nil, fmt.Errorf("%w: member %q: %d bytes, more than the %d allowed", ErrInvalidArchive, hdr.Name, hdr.Size, readLimits.file)
		}
		if total += hdr.Size; total > readLimits.total {
			return nil, fmt.Errorf("%w: members total more than %d bytes", ErrInvalidArchive, readLimits.total)
		}
		if dst != nil {
			err = writeMember(dst, hdr.Name, tr, sum)
		} else {
			err = checkMember(hdr.Name, tr, sum)
		}
		if err != nil {
			return nil, err
		}
	}
	if len(want) > 0 {
		var missing []Dataset
		for p, s := range want {
			missing = append(missing, Dataset{p, s})
		}
		sortFiles(missing)
		return nil, fmt.Errorf("%w: %s is named by the manifest but missing from the archive", ErrInvalidArchive, missing[0].Path)
	}
	return a, nil
}

// checkHeader refuses anything but a plain regular file: links, devices,
// directories and sparse files have no place in a pack, and a link or an
// absolute name is how archives write outside where they are unpacked.
func checkHeader(hdr *tar.Header) error {
	if hdr.Typeflag != tar.TypeReg {
		kind := map[byte]string{tar.TypeLink: "a hard link", tar.TypeSymlink: "a symbolic link",
			tar.TypeChar: "a character device", tar.TypeBlock: "a block device", tar.TypeDir: "a directory",
			tar.TypeFifo: "a FIFO", tar.TypeGNUSparse: "a sparse file"}[hdr.Typeflag]
		if kind == "" {
			kind = fmt.Sprintf("of type %q", hdr.Typeflag)
		}
		return fmt.Errorf("%w: member %q is %s; a pack holds only regular files", ErrInvalidArchive, hdr.Name, kind)
	}
	if hdr.Size < 0 {
		return fmt.Errorf("%w: member %q has a negative size", ErrInvalidArchive, hdr.Name)
	}
	return nil
}

func checkMember(name string, r io.Reader, sum string) error {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return archiveErr(fmt.Sprintf("member %q", name), err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sum {
		return fmt.Errorf("%s: %w: sha256 is %s, the manifest says %s", name, ErrDigestMismatch, got, sum)
	}
	return nil
}

// writeMember writes one member under dst, creating its parent
// directories. O_EXCL refuses a second member of the same name; os.Root
// keeps every write inside dst.
func writeMember(dst *os.Root, name string, r io.Reader, sum string) error {
	if dir := path.Dir(name); dir != "." {
		if err := dst.MkdirAll(filepath.FromSlash(dir), 0o755); err != nil {
			return fmt.Errorf("extract %s: %w", name, err)
		}
	}
	f, err := dst.OpenFile(filepath.FromSlash(name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("extract %s: %w", name, err)
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, h), r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return archiveErr(fmt.Sprintf("member %q", name), err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); sum != "" && got != sum {
		return fmt.Errorf("%s: %w: sha256 is %s, the manifest says %s", name, ErrDigestMismatch, got, sum)
	}
	return nil
}
