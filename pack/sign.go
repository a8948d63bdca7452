package pack

import (
	"crypto/rand"
	"fmt"
	"os"
	"strconv"
	"strings"

	"aead.dev/minisign"
)

// Signatures follow minisign (https://jedisct1.github.io/minisign/): an
// Ed25519 key pair in minisign's text formats, and a minisign signature whose
// message is the pack digest string ("sha256:" and 64 hex digits, no
// newline) and whose trusted comment names the pack. A pack's signature can
// therefore be checked with the minisign tool as well:
//
//	printf %s sha256:… > digest && minisign -V -p NAME.pub -x pack.sig -m digest

// GenerateKey makes a new signing key pair and returns the private key and
// the public key in minisign's text formats. The private key is not
// encrypted: keep NAME.key secret.
func GenerateKey() (priv, pub []byte, err error) {
	pk, sk, err := minisign.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	if priv, err = sk.MarshalText(); err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	if pub, err = pk.MarshalText(); err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	priv = append(priv, '\n')
	pub = append(pub, '\n')
	return priv, pub, nil
}

// Sign returns a signature of the pack with the given digest, by the
// private key priv (the content of a NAME.key file). Ed25519 signatures are
// deterministic: the same key and pack give the same bytes.
func Sign(priv []byte, name, version, digest string) ([]byte, error) {
	var sk minisign.PrivateKey
	if err := sk.UnmarshalText(priv); err != nil {
		return nil, fmt.Errorf("sign: read private key: %w", err)
	}
	trusted := fmt.Sprintf("terrarium pack %s@%s %s", name, version, digest)
	untrusted := "signature from terrarium pack key " + keyID(sk.ID())
	return minisign.SignWithComments(sk, []byte(digest), trusted, untrusted), nil
}

// SignatureInfo describes a signature without checking it.
type SignatureInfo struct {
	// KeyID is the signing key's minisign key ID, 16 upper-case hex digits.
	KeyID string
	// TrustedComment is the signed comment, "terrarium pack NAME@VERSION
	// DIGEST" for signatures made by Sign.
	TrustedComment string
}

// InspectSignature decodes a signature without checking it.
func InspectSignature(sig []byte) (SignatureInfo, error) {
	var s minisign.Signature
	if err := s.UnmarshalText(sig); err != nil {
		return SignatureInfo{}, fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	return SignatureInfo{KeyID: keyID(s.KeyID), TrustedComment: s.TrustedComment}, nil
}

// VerifySignature checks that sig is a signature of digest by the public
// key pub (the content of a NAME.pub file). It returns ErrUnsigned when sig
// is empty and ErrBadSignature, saying why, when it does not verify.
func VerifySignature(pub, sig []byte, digest string) error {
	var pk minisign.PublicKey
	if err := pk.UnmarshalText(lastLine(pub)); err != nil {
		return fmt.Errorf("read public key: %w", err)
	}
	if len(sig) == 0 {
		return ErrUnsigned
	}
	info, err := InspectSignature(sig)
	if err != nil {
		return err
	}
	if info.KeyID != keyID(pk.ID()) {
		return fmt.Errorf("%w: signed by key %s, not by the trusted key %s", ErrBadSignature, info.KeyID, keyID(pk.ID()))
	}
	if !minisign.Verify(pk, []byte(digest), sig) {
		return fmt.Errorf("%w: the signature by key %s does not match pack digest %s", ErrBadSignature, info.KeyID, digest)
	}
	return nil
}

// ReadPublicKey reads a NAME.pub file and returns its content and key ID.
func ReadPublicKey(path string) ([]byte, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("public key: %w", err)
	}
	var pk minisign.PublicKey
	if err := pk.UnmarshalText(lastLine(b)); err != nil {
		return nil, "", fmt.Errorf("public key %s: %w", path, err)
	}
	return b, keyID(pk.ID()), nil
}

// lastLine drops comment lines: minisign public key files have an
// "untrusted comment:" line, and the library reads only the key itself.
func lastLine(b []byte) []byte {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return []byte(strings.TrimSpace(lines[len(lines)-1]))
}

func keyID(id uint64) string {
	s := strings.ToUpper(strconv.FormatUint(id, 16))
	return strings.Repeat("0", 16-len(s)) + s
}
