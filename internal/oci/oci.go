// Package oci moves Terrarium packs to and from OCI registries as OCI
// artifacts, with oras-go. It knows the artifact layout but nothing of the
// pack format: package pack hands it bytes and checks what comes back.
//
// An artifact is one OCI image manifest:
//
//	artifactType  application/vnd.terrarium.pack.v1
//	config        pack.json (canonical), application/vnd.terrarium.pack.manifest.v1+json
//	layers[0]     the unsigned pack archive, application/vnd.terrarium.pack.archive.v1.tar+zstd
//	layers[1]     the signature, application/vnd.terrarium.pack.signature.v1.minisig (optional)
//
// The config blob's digest is therefore the pack digest.
package oci

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
	"oras.land/oras-go/v2/registry/remote/retry"
)

// Media types of a pack artifact.
const (
	ArtifactType       = "application/vnd.terrarium.pack.v1"
	MediaTypeManifest  = "application/vnd.terrarium.pack.manifest.v1+json"
	MediaTypeArchive   = "application/vnd.terrarium.pack.archive.v1.tar+zstd"
	MediaTypeSignature = "application/vnd.terrarium.pack.signature.v1.minisig"
)

// Scheme prefixes every reference this package takes.
const Scheme = "oci://"

// Size bounds on what is fetched before it can be checked.
const (
	maxManifestBytes  = 4 << 20
	maxConfigBytes    = 1 << 20
	maxSignatureBytes = 4 << 10
)

// ErrNotPack: the reference names an OCI artifact that is not a pack.
var ErrNotPack = errors.New("not a terrarium pack artifact")

// Options configures access to a registry.
type Options struct {
	// PlainHTTP uses HTTP instead of HTTPS for any registry. Loopback
	// registries (localhost, 127.0.0.0/8, ::1) always use plain HTTP.
	PlainHTTP bool
	// Client, when set, replaces the default HTTP client (which retries,
	// and authenticates with the credentials of the Docker configuration).
	Client remote.Client
}

// IsRef reports whether s is an oci:// reference.
func IsRef(s string) bool { return strings.HasPrefix(s, Scheme) }

// ParseRef parses "oci://HOST[:PORT]/REPO[:TAG|@DIGEST]". A reference
// without tag or digest means the tag "latest".
func ParseRef(s string) (registry.Reference, error) {
	rest, ok := strings.CutPrefix(s, Scheme)
	if !ok {
		return registry.Reference{}, fmt.Errorf("%s: not an %s reference", s, Scheme)
	}
	ref, err := registry.ParseReference(rest)
	if err != nil {
		return registry.Reference{}, fmt.Errorf("%s: %w", s, err)
	}
	if ref.Reference == "" {
		ref.Reference = "latest"
	}
	return ref, nil
}

// IsLoopback reports whether host (with or without a port) is a loopback
// name or address.
func IsLoopback(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func repository(ref registry.Reference, opts Options) (*remote.Repository, error) {
	repo, err := remote.NewRepository(ref.Registry + "/" + ref.Repository)
	if err != nil {
		return nil, err
	}
	repo.PlainHTTP = opts.PlainHTTP || IsLoopback(ref.Registry)
	repo.MaxMetadataBytes = maxManifestBytes
	if opts.Client != nil {
		repo.Client = opts.Client
	} else {
		client := &auth.Client{Client: retry.DefaultClient, Cache: auth.NewCache(), Header: http.Header{}}
		client.SetUserAgent("terrarium")
		if store, err := credentials.NewStoreFromDocker(credentials.StoreOptions{}); err == nil {
			client.Credential = credentials.Credential(store)
		}
		repo.Client = client
	}
	return repo, nil
}

// Artifact is a pack as it travels: its canonical manifest, its archive
// (without signature) and its signature, if any.
type Artifact struct {
	// Manifest is the canonical pack.json.
	Manifest []byte
	// Name and Version are recorded as annotations.
	Name, Version string
	// Archive reads the unsigned pack archive; ArchiveSize is its length
	// and ArchiveDigest its "sha256:…" digest.
	Archive       io.Reader
	ArchiveSize   int64
	ArchiveDigest string
	// Signature is pack.sig, or nil.
	Signature []byte
}

// Push uploads a pack and tags it. It returns the OCI manifest's digest.
// Pushing the same pack twice gives the same OCI manifest.
func Push(ctx context.Context, to string, a *Artifact, opts Options) (string, error) {
	ref, err := ParseRef(to)
	if err != nil {
		return "", err
	}
	if _, err := ref.Digest(); err == nil {
		return "", fmt.Errorf("push %s: give a tag, not a digest (the digest is known once pushed)", to)
	}
	repo, err := repository(ref, opts)
	if err != nil {
		return "", fmt.Errorf("push %s: %w", to, err)
	}
	fail := func(err error) (string, error) { return "", fmt.Errorf("push %s: %w", to, err) }

	config := ocispec.Descriptor{MediaType: MediaTypeManifest, Digest: digest.FromBytes(a.Manifest), Size: int64(len(a.Manifest))}
	if err := pushBlob(ctx, repo, config, bytes.NewReader(a.Manifest)); err != nil {
		return fail(err)
	}
	layer := ocispec.Descriptor{MediaType: MediaTypeArchive, Digest: digest.Digest(a.ArchiveDigest), Size: a.ArchiveSize,
		Annotations: map[string]string{ocispec.AnnotationTitle: "pack.tar.zst"}}
	if err := pushBlob(ctx, repo, layer, a.Archive); err != nil {
		return fail(err)
	}
	layers := []ocispec.Descriptor{layer}
	if len(a.Signature) > 0 {
		sig := ocispec.Descriptor{MediaType: MediaTypeSignature, Digest: digest.FromBytes(a.Signature), Size: int64(len(a.Signature)),
			Annotations: map[string]string{ocispec.AnnotationTitle: "pack.sig"}}
		if err := pushBlob(ctx, repo, sig, bytes.NewReader(a.Signature)); err != nil {
			return fail(err)
		}
		layers = append(layers, sig)
	}
	// No creation time: the same pack must give the same manifest digest.
	m := ocispec.Manifest{
		Versioned:    specs.Versioned{SchemaVersion: 2},
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: ArtifactType,
		Config:       config,
		Layers:       layers,
		Annotations: map[string]string{
			ocispec.AnnotationTitle:   a.Name,
			ocispec.AnnotationVersion: a.Version,
		},
	}
	mb, err := json.Marshal(m)
	if err != nil {
		return fail(err)
	}
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(mb), Size: int64(len(mb))}
	if err := repo.Manifests().PushReference(ctx, desc, bytes.NewReader(mb), ref.Reference); err != nil {
		return fail(err)
	}
	return desc.Digest.String(), nil
}

func pushBlob(ctx context.Context, repo *remote.Repository, desc ocispec.Descriptor, r io.Reader) error {
	ok, err := repo.Blobs().Exists(ctx, desc)
	if err != nil {
		return err
	}
	if ok {
		return nil
	}
	return repo.Blobs().Push(ctx, desc, r)
}

// Pulled is a pack artifact found in a registry. Its archive is fetched
// only on demand: a pack already in the cache needs just the manifest.
type Pulled struct {
	// Manifest is the pack's pack.json, checked against its digest.
	Manifest []byte
	// PackDigest is the config blob's digest, the pack digest.
	PackDigest string
	// ManifestDigest is the OCI manifest's digest.
	ManifestDigest string
	// Signature is the signature layer, checked against its digest, or
	// nil.
	Signature []byte

	repo  *remote.Repository
	layer ocispec.Descriptor
	ref   string
}

// Pull resolves ref and fetches the artifact's OCI manifest, pack manifest
// and signature.
func Pull(ctx context.Context, from string, opts Options) (*Pulled, error) {
	ref, err := ParseRef(from)
	if err != nil {
		return nil, err
	}
	repo, err := repository(ref, opts)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", from, err)
	}
	fail := func(err error) (*Pulled, error) { return nil, fmt.Errorf("pull %s: %w", from, err) }
	desc, rc, err := repo.Manifests().FetchReference(ctx, ref.Reference)
	if err != nil {
		return fail(err)
	}
	mb, err := readVerified(rc, desc, maxManifestBytes)
	if err != nil {
		return fail(fmt.Errorf("OCI manifest: %w", err))
	}
	if desc.MediaType != ocispec.MediaTypeImageManifest {
		return fail(fmt.Errorf("%w: media type %s", ErrNotPack, desc.MediaType))
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(mb, &m); err != nil {
		return fail(fmt.Errorf("OCI manifest: %w", err))
	}
	if m.Config.MediaType != MediaTypeManifest {
		return fail(fmt.Errorf("%w: config media type %q, want %s", ErrNotPack, m.Config.MediaType, MediaTypeManifest))
	}
	p := &Pulled{PackDigest: m.Config.Digest.String(), ManifestDigest: desc.Digest.String(), repo: repo, ref: from}
	if p.Manifest, err = fetch(ctx, repo, m.Config, maxConfigBytes); err != nil {
		return fail(fmt.Errorf("pack manifest: %w", err))
	}
	var haveLayer bool
	for _, l := range m.Layers {
		switch l.MediaType {
		case MediaTypeArchive:
			if haveLayer {
				return fail(fmt.Errorf("%w: two archive layers", ErrNotPack))
			}
			p.layer, haveLayer = l, true
		case MediaTypeSignature:
			if p.Signature != nil {
				return fail(fmt.Errorf("%w: two signature layers", ErrNotPack))
			}
			if p.Signature, err = fetch(ctx, repo, l, maxSignatureBytes); err != nil {
				return fail(fmt.Errorf("signature: %w", err))
			}
		default:
			return fail(fmt.Errorf("%w: unknown layer media type %q", ErrNotPack, l.MediaType))
		}
	}
	if !haveLayer {
		return fail(fmt.Errorf("%w: no archive layer", ErrNotPack))
	}
	return p, nil
}

// Archive opens the pack archive. The reader checks the layer's size and
// digest as it goes and returns an error instead of io.EOF when they do not
// match, so a consumer that reads to the end never accepts a wrong layer.
func (p *Pulled) Archive(ctx context.Context, limit int64) (io.ReadCloser, error) {
	if p.layer.Size < 0 || p.layer.Size > limit {
		return nil, fmt.Errorf("pull %s: archive layer of %d bytes, more than the %d allowed", p.ref, p.layer.Size, limit)
	}
	rc, err := p.repo.Fetch(ctx, p.layer)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", p.ref, err)
	}
	if err := p.layer.Digest.Validate(); err != nil || p.layer.Digest.Algorithm() != digest.SHA256 {
		rc.Close()
		return nil, fmt.Errorf("pull %s: archive layer digest %q is not sha256", p.ref, p.layer.Digest)
	}
	return &verifyReader{rc: rc, h: newSHA256(), want: p.layer, left: p.layer.Size}, nil
}

type verifyReader struct {
	rc   io.ReadCloser
	h    hash.Hash
	want ocispec.Descriptor
	left int64
}

func (v *verifyReader) Read(b []byte) (int, error) {
	if int64(len(b)) > v.left+1 {
		b = b[:v.left+1]
	}
	n, err := v.rc.Read(b)
	v.h.Write(b[:n])
	v.left -= int64(n)
	if v.left < 0 {
		return n, fmt.Errorf("archive layer longer than its descriptor's %d bytes", v.want.Size)
	}
	if err == io.EOF {
		if v.left > 0 {
			return n, fmt.Errorf("archive layer: %w (%d of %d bytes)", io.ErrUnexpectedEOF, v.want.Size-v.left, v.want.Size)
		}
		if got := "sha256:" + hex.EncodeToString(v.h.Sum(nil)); got != v.want.Digest.String() {
			return n, fmt.Errorf("archive layer: digest %s, the OCI manifest says %s", got, v.want.Digest)
		}
	}
	return n, err
}

func (v *verifyReader) Close() error { return v.rc.Close() }

func fetch(ctx context.Context, repo *remote.Repository, desc ocispec.Descriptor, limit int64) ([]byte, error) {
	if desc.Size < 0 || desc.Size > limit {
		return nil, fmt.Errorf("%d bytes, more than the %d allowed", desc.Size, limit)
	}
	rc, err := repo.Fetch(ctx, desc)
	if err != nil {
		return nil, err
	}
	return readVerified(rc, desc, limit)
}

func readVerified(rc io.ReadCloser, desc ocispec.Descriptor, limit int64) ([]byte, error) {
	defer rc.Close()
	if desc.Size < 0 || desc.Size > limit {
		return nil, fmt.Errorf("%d bytes, more than the %d allowed", desc.Size, limit)
	}
	b, err := io.ReadAll(io.LimitReader(rc, desc.Size+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) != desc.Size {
		return nil, fmt.Errorf("%d bytes, the descriptor says %d", len(b), desc.Size)
	}
	if err := desc.Digest.Validate(); err != nil {
		return nil, err
	}
	if got := desc.Digest.Algorithm().FromBytes(b); got != desc.Digest {
		return nil, fmt.Errorf("digest %s, the descriptor says %s", got, desc.Digest)
	}
	return b, nil
}

func newSHA256() hash.Hash { return sha256.New() }
