package pack

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSignVerify(t *testing.T) {
	priv, pub, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	_, otherPub, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	digest := "sha256:" + strings.Repeat("ab", 32)
	other := "sha256:" + strings.Repeat("cd", 32)
	sig, err := Sign(priv, "shop", "1.0.0", digest)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Sign(priv, "shop", "1.0.0", digest)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sig, again) {
		t.Fatal("signing twice gave different signatures")
	}
	info, err := InspectSignature(sig)
	if err != nil {
		t.Fatal(err)
	}
	if want := "terrarium pack shop@1.0.0 " + digest; info.TrustedComment != want {
		t.Fatalf("trusted comment %q, want %q", info.TrustedComment, want)
	}
	tampered := bytes.Replace(sig, []byte("shop@1.0.0"), []byte("shop@9.9.9"), 1)

	tests := []struct {
		name    string
		pub     []byte
		sig     []byte
		digest  string
		wantErr error
		errHas  string
	}{
		{"good", pub, sig, digest, nil, ""},
		{"other digest", pub, sig, other, ErrBadSignature, "does not match pack digest"},
		{"other key", otherPub, sig, digest, ErrBadSignature, "not by the trusted key"},
		{"unsigned", pub, nil, digest, ErrUnsigned, ""},
		{"garbage signature", pub, []byte("not a signature"), digest, ErrBadSignature, ""},
		{"tampered trusted comment", pub, tampered, digest, ErrBadSignature, "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifySignature(tt.pub, tt.sig, tt.digest)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("VerifySignature: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("VerifySignature: %v, want %v containing %q", err, tt.wantErr, tt.errHas)
			}
		})
	}
	if _, err := Sign(pub, "shop", "1.0.0", digest); err == nil {
		t.Fatal("signing with a public key succeeded")
	}
}

// A signed archive carries pack.sig; signing does not change the pack
// digest, and signing again with the same key gives the same archive.
func TestSignRefArchive(t *testing.T) {
	dir, digest := makePack(t)
	priv, pub, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "shop.tpack")
	if _, err := Build(dir, out); err != nil {
		t.Fatal(err)
	}
	opts := OpenOptions{Cache: &Cache{Dir: t.TempDir()}}
	if _, err := SignRef(t.Context(), out, priv, opts); err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(out)
	if _, err := SignRef(t.Context(), out, priv, opts); err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(out)
	if !bytes.Equal(first, second) {
		t.Fatal("signing twice changed the archive")
	}
	p, err := Open(t.Context(), out, opts)
	if err != nil {
		t.Fatal(err)
	}
	if p.Digest != digest {
		t.Fatalf("signed pack digest %s, want %s", p.Digest, digest)
	}
	if err := VerifySignature(pub, p.Signature, p.Digest); err != nil {
		t.Fatal(err)
	}
	// And a directory gets pack.sig beside pack.json.
	if _, err := SignRef(t.Context(), dir, priv, opts); err != nil {
		t.Fatal(err)
	}
	pd, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifySignature(pub, pd.Signature, pd.Digest); err != nil {
		t.Fatal(err)
	}
}

// A signature made by the minisign tool verifies: the format is minisign's,
// not a look-alike (testdata/minisign/README says how it was made).
func TestMinisignInterop(t *testing.T) {
	pub, err := os.ReadFile("testdata/minisign/key.pub")
	if err != nil {
		t.Fatal(err)
	}
	sig, err := os.ReadFile("testdata/minisign/cli.minisig")
	if err != nil {
		t.Fatal(err)
	}
	digest := "sha256:b1a83a8620f59fac87148c66b874c327f9170842749226e6151c6dd348cbd2bc"
	if err := VerifySignature(pub, sig, digest); err != nil {
		t.Fatalf("minisign's signature: %v", err)
	}
	if err := VerifySignature(pub, sig, strings.Replace(digest, "b1", "b2", 1)); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("minisign's signature of another digest: %v, want ErrBadSignature", err)
	}
}

// Signature bytes come from packs, so from anyone: no input may panic the
// reader, and whatever verifies must name the trusted key and carry the
// trusted comment the key holder signed.
func FuzzVerifySignature(f *testing.F) {
	priv, pub, err := GenerateKey()
	if err != nil {
		f.Fatal(err)
	}
	digest := "sha256:" + strings.Repeat("ab", 32)
	good, err := Sign(priv, "a", "1.0.0", digest)
	if err != nil {
		f.Fatal(err)
	}
	want, _ := InspectSignature(good)
	f.Add(good)
	f.Add([]byte("untrusted comment: x\nRWQ=\ntrusted comment: y\nAA==\n"))
	f.Fuzz(func(t *testing.T, sig []byte) {
		info, ierr := InspectSignature(sig)
		if err := VerifySignature(pub, sig, digest); err == nil {
			if ierr != nil || info != want {
				t.Fatalf("verified a signature read as %+v (%v), want %+v", info, ierr, want)
			}
		}
	})
}
