package oci

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/terrarium-rl/terrarium/internal/oci/ocitest"
)

func TestParseRef(t *testing.T) {
	tests := []struct {
		in                  string
		registry, repo, ref string
		errHas              string
	}{
		{in: "oci://localhost:5000/team/shop:1.0.0", registry: "localhost:5000", repo: "team/shop", ref: "1.0.0"},
		{in: "oci://ghcr.io/org/packs/shop", registry: "ghcr.io", repo: "org/packs/shop", ref: "latest"},
		{in: "oci://127.0.0.1:5000/shop@sha256:" + strings.Repeat("ab", 32), registry: "127.0.0.1:5000", repo: "shop", ref: "sha256:" + strings.Repeat("ab", 32)},
		{in: "docker://ghcr.io/x:1", errHas: "not an oci:// reference"},
		{in: "oci://ghcr.io/UPPER:1", errHas: "invalid reference"},
		{in: "oci://ghcr.io", errHas: "invalid reference"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := ParseRef(tt.in)
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("ParseRef: %v, want an error containing %q", err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Registry != tt.registry || r.Repository != tt.repo || r.Reference != tt.ref {
				t.Fatalf("ParseRef = %+v", r)
			}
		})
	}
}

func TestPlainHTTPOnlyForLoopback(t *testing.T) {
	tests := []struct {
		registry string
		flag     bool
		plain    bool
	}{
		{"localhost:5000", false, true},
		{"127.0.0.1:5000", false, true},
		{"127.1.2.3", false, true},
		{"[::1]:5000", false, true},
		{"ghcr.io", false, false},
		{"10.0.0.1:5000", false, false},
		{"localhost.example.com", false, false},
		{"10.0.0.1:5000", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.registry, func(t *testing.T) {
			r, err := ParseRef("oci://" + tt.registry + "/x:1")
			if err != nil {
				t.Fatal(err)
			}
			repo, err := repository(r, Options{PlainHTTP: tt.flag})
			if err != nil {
				t.Fatal(err)
			}
			if repo.PlainHTTP != tt.plain {
				t.Fatalf("PlainHTTP = %v, want %v", repo.PlainHTTP, tt.plain)
			}
		})
	}
}

func artifact(body string) *Artifact {
	return &Artifact{Manifest: []byte(`{"format":"test"}`), Name: "t", Version: "1.0.0",
		Archive: strings.NewReader(body), ArchiveSize: int64(len(body)), ArchiveDigest: digest.FromString(body).String(),
		Signature: []byte("sig")}
}

func TestPushPull(t *testing.T) {
	reg := ocitest.Start(t)
	ctx := t.Context()
	ref := "oci://" + reg.Host + "/t/a:v1"
	md, err := Push(ctx, ref, artifact("archive bytes"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := Pull(ctx, ref, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.ManifestDigest != md || string(p.Manifest) != `{"format":"test"}` || string(p.Signature) != "sig" ||
		p.PackDigest != digest.FromString(`{"format":"test"}`).String() {
		t.Fatalf("pulled %+v", p)
	}
	rc, err := p.Archive(ctx, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(b) != "archive bytes" {
		t.Fatalf("archive %q, %v", b, err)
	}
	if _, err := p.Archive(ctx, 3); err == nil || !strings.Contains(err.Error(), "more than the 3 allowed") {
		t.Fatalf("archive over the limit: %v", err)
	}
	if _, err := Push(ctx, "oci://"+reg.Host+"/t/a@"+md, artifact("x"), Options{}); err == nil {
		t.Fatal("push to a digest reference succeeded")
	}
	if _, err := Pull(ctx, "oci://"+reg.Host+"/t/a:missing", Options{}); err == nil {
		t.Fatal("pull of a missing tag succeeded")
	}
}

// An OCI artifact of another kind (an image, say) is refused as not a
// pack.
func TestPullNotAPack(t *testing.T) {
	reg := ocitest.Start(t)
	ctx := t.Context()
	r, err := ParseRef("oci://" + reg.Host + "/t/image:1")
	if err != nil {
		t.Fatal(err)
	}
	repo, err := repository(r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := []byte("{}")
	cfgDesc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(cfg), Size: 2}
	if err := repo.Blobs().Push(ctx, cfgDesc, bytes.NewReader(cfg)); err != nil {
		t.Fatal(err)
	}
	mb, _ := json.Marshal(ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		Config: cfgDesc, Layers: []ocispec.Descriptor{}})
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(mb), Size: int64(len(mb))}
	if err := repo.Manifests().PushReference(ctx, desc, bytes.NewReader(mb), "1"); err != nil {
		t.Fatal(err)
	}
	_, err = Pull(ctx, "oci://"+reg.Host+"/t/image:1", Options{})
	if !errors.Is(err, ErrNotPack) || !strings.Contains(err.Error(), ocispec.MediaTypeImageConfig) {
		t.Fatalf("Pull of an image: %v, want ErrNotPack naming its config type", err)
	}
}

// The archive reader refuses a layer whose bytes do not match its
// descriptor, in place of io.EOF.
func TestVerifyReader(t *testing.T) {
	body := "the archive"
	tests := []struct {
		name, served, errHas string
	}{
		{"good", body, ""},
		{"changed", "the archivE", "digest"},
		{"short", body[:5], "unexpected EOF"},
		{"long", body + "!", "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &verifyReader{rc: io.NopCloser(strings.NewReader(tt.served)), h: newSHA256(),
				want: ocispec.Descriptor{Digest: digest.FromString(body), Size: int64(len(body))}, left: int64(len(body))}
			_, err := io.ReadAll(v)
			if tt.errHas == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("read: %v, want an error containing %q", err, tt.errHas)
			}
		})
	}
}
