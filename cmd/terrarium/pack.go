package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/terrarium-rl/terrarium/pack"
)

var cmdPack = &Command{
	Name:  "pack",
	Short: "build, sign, verify and share environment packs",
	Sub:   []*Command{cmdPackBuild, cmdPackInspect, cmdPackKeygen, cmdPackSign, cmdPackVerify, cmdPackPush, cmdPackPull},
}

// packRefHelp explains REF once for every pack command.
const packRefHelp = `REF is a pack directory (holding pack.json), a pack file written by
'pack build', or an OCI reference oci://HOST[:PORT]/REPO[:TAG|@DIGEST].
Pack files and OCI packs are unpacked into the pack cache
($TERRARIUM_PACK_CACHE, else terrarium/packs in the user cache directory),
keyed by digest. Registries on loopback addresses are reached over plain
HTTP; others over HTTPS unless --plain-http is given. See docs/pack.md.`

var packFlags struct {
	out       string
	digests   bool
	key       string
	plainHTTP bool
	json      bool
}

func packOpenOptions() pack.OpenOptions { return pack.OpenOptions{PlainHTTP: packFlags.plainHTTP} }

func plainHTTPFlag(fs *pflag.FlagSet) {
	fs.BoolVar(&packFlags.plainHTTP, "plain-http", false, "use plain HTTP for non-loopback registries")
}

var cmdPackBuild = &Command{
	Name:  "build",
	Usage: "pack build DIR -o FILE",
	Short: "write a pack directory as a reproducible pack file",
	Long: `Pack build verifies the pack in DIR (every file named by pack.json must have
its digest) and writes it to FILE as a tar+zstd archive with fixed metadata
and member order: the same pack gives the same bytes. It prints the pack
digest, the identity that signatures, lockfiles and registries use. A
pack.sig in DIR is included.

With --write-digests it first computes the digest of every file pack.json
names and writes them into DIR/pack.json (in canonical form): the way to
finish a pack.json written by hand. Without it, a file whose digest differs
from pack.json is an error.`,
	Flags: func(fs *pflag.FlagSet) {
		fs.StringVarP(&packFlags.out, "output", "o", "", "pack file to write (required)")
		fs.BoolVar(&packFlags.digests, "write-digests", false, "fill in the file digests of DIR/pack.json first")
	},
	Run: func(ctx context.Context, inv *Invocation) error {
		if len(inv.Args) != 1 {
			return usagef("want one pack directory")
		}
		if packFlags.out == "" {
			return usagef("-o FILE is required")
		}
		if packFlags.digests {
			if err := writeDigests(inv.Args[0]); err != nil {
				return err
			}
		}
		d, err := pack.Build(inv.Args[0], packFlags.out)
		if err != nil {
			return err
		}
		fmt.Fprintf(inv.Stdout, "%s %s\n", d, packFlags.out)
		return nil
	},
}

// writeDigests fills in the digests of dir/pack.json. The manifest is
// decoded without validation, since its digests may be missing or stale.
func writeDigests(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, pack.ManifestFile))
	if err != nil {
		return err
	}
	var m pack.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("%s: %w: %w", filepath.Join(dir, pack.ManifestFile), pack.ErrInvalidManifest, err)
	}
	_, err = pack.Finalize(dir, &m)
	return err
}

var cmdPackInspect = &Command{
	Name:  "inspect",
	Usage: "pack inspect REF [--json]",
	Short: "show a pack's manifest",
	Long: `Pack inspect verifies the pack's files and prints its manifest: name,
version, digest, environments, datasets, capabilities, limits, provenance
and who signed it (the signature is not checked: see 'pack verify').
With --json it prints pack.json in canonical form.

` + packRefHelp,
	Flags: func(fs *pflag.FlagSet) {
		fs.BoolVar(&packFlags.json, "json", false, "print the canonical pack.json")
		plainHTTPFlag(fs)
	},
	Run: func(ctx context.Context, inv *Invocation) error {
		if len(inv.Args) != 1 {
			return usagef("want one pack reference")
		}
		p, err := pack.Open(ctx, inv.Args[0], packOpenOptions())
		if err != nil {
			return err
		}
		if packFlags.json {
			b, err := p.Manifest.Canonical()
			if err != nil {
				return err
			}
			_, err = inv.Stdout.Write(b)
			return err
		}
		printPack(inv.Stdout, p)
		return nil
	},
}

func printPack(w io.Writer, p *pack.Pack) {
	m := p.Manifest
	fmt.Fprintf(w, "pack         %s@%s\n", m.Name, m.Version)
	fmt.Fprintf(w, "digest       %s\n", p.Digest)
	if m.Description != "" {
		fmt.Fprintf(w, "description  %s\n", m.Description)
	}
	if m.License != "" {
		fmt.Fprintf(w, "license      %s\n", m.License)
	}
	for _, e := range m.Environments {
		fmt.Fprintf(w, "environment  %s: %s (sha256 %s, ABI v%d)", e.Name, e.Module, e.ModuleSHA256, e.ABI)
		if e.Config != "" {
			fmt.Fprintf(w, ", config %s", e.Config)
		}
		fmt.Fprintln(w)
	}
	for _, d := range m.Datasets {
		fmt.Fprintf(w, "dataset      %s (sha256 %s)\n", d.Path, d.SHA256)
	}
	caps := "none"
	if len(m.Capabilities) > 0 {
		caps = strings.Join(m.Capabilities, ", ")
	}
	fmt.Fprintf(w, "capabilities %s\n", caps)
	l := m.Limits
	fmt.Fprintf(w, "limits       memory_pages=%d step_timeout_ms=%d output_limit_bytes=%d fuel_per_step=%d (0: host default)\n",
		l.MemoryPages, l.StepTimeoutMS, l.OutputLimitBytes, l.FuelPerStep)
	if pv := m.Provenance; pv != (pack.Provenance{}) {
		fmt.Fprintf(w, "provenance   compiler=%q toolchain=%q source_records_sha256=%s\n", pv.Compiler, pv.Toolchain, pv.SourceRecordsSHA256)
	}
	switch info, err := pack.InspectSignature(p.Signature); {
	case len(p.Signature) == 0:
		fmt.Fprintf(w, "signature    none\n")
	case err != nil:
		fmt.Fprintf(w, "signature    unreadable: %s\n", err)
	default:
		fmt.Fprintf(w, "signature    by key %s (not checked)\n", info.KeyID)
	}
}

var cmdPackKeygen = &Command{
	Name:  "keygen",
	Usage: "pack keygen -o NAME",
	Short: "make a signing key pair (NAME.key, NAME.pub)",
	Long: `Pack keygen makes an Ed25519 key pair in minisign's formats: NAME.key, the
private key (unencrypted, mode 0600: keep it secret) and NAME.pub, the
public key to hand to 'pack verify --key' and 'run --trust'. It refuses to
overwrite existing files.`,
	Flags: func(fs *pflag.FlagSet) {
		fs.StringVarP(&packFlags.out, "output", "o", "", "key name: writes NAME.key and NAME.pub (required)")
	},
	Run: func(ctx context.Context, inv *Invocation) error {
		if len(inv.Args) != 0 {
			return usagef("keygen takes no arguments")
		}
		if packFlags.out == "" {
			return usagef("-o NAME is required")
		}
		priv, pub, err := pack.GenerateKey()
		if err != nil {
			return err
		}
		keyPath, pubPath := packFlags.out+".key", packFlags.out+".pub"
		if err := writeNew(keyPath, priv, 0o600); err != nil {
			return err
		}
		if err := writeNew(pubPath, pub, 0o644); err != nil {
			os.Remove(keyPath)
			return err
		}
		fmt.Fprintf(inv.Stdout, "wrote %s (private, keep it secret) and %s\n", keyPath, pubPath)
		return nil
	},
}

func writeNew(path string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

var cmdPackSign = &Command{
	Name:  "sign",
	Usage: "pack sign REF --key NAME.key",
	Short: "sign a pack",
	Long: `Pack sign signs the pack digest with the private key and stores the
signature with the pack: pack.sig in a pack directory, a pack.sig member in
a pack file (rewritten in place), or the signature layer of an OCI tag
(pushed again). The pack digest does not change. A pack holds one
signature; signing again replaces it.

` + packRefHelp,
	Flags: func(fs *pflag.FlagSet) {
		fs.StringVar(&packFlags.key, "key", "", "private key file NAME.key (required)")
		plainHTTPFlag(fs)
	},
	Run: func(ctx context.Context, inv *Invocation) error {
		if len(inv.Args) != 1 {
			return usagef("want one pack reference")
		}
		if packFlags.key == "" {
			return usagef("--key NAME.key is required")
		}
		priv, err := os.ReadFile(packFlags.key)
		if err != nil {
			return err
		}
		p, err := pack.SignRef(ctx, inv.Args[0], priv, packOpenOptions())
		if err != nil {
			return err
		}
		info, err := pack.InspectSignature(p.Signature)
		if err != nil {
			return err
		}
		fmt.Fprintf(inv.Stdout, "signed %s@%s %s with key %s\n", p.Manifest.Name, p.Manifest.Version, p.Digest, info.KeyID)
		return nil
	},
}

var cmdPackVerify = &Command{
	Name:  "verify",
	Usage: "pack verify REF [--key NAME.pub]",
	Short: "check a pack's digests and signature",
	Long: `Pack verify checks every module and dataset of the pack against the digests
in its manifest and, with --key, that the pack carries a valid signature by
that key (an unsigned pack then fails). Without --key it reports who signed
the pack but does not check it. It exits 1 on any failure.

` + packRefHelp,
	Flags: func(fs *pflag.FlagSet) {
		fs.StringVar(&packFlags.key, "key", "", "public key file NAME.pub the signature must verify with")
		plainHTTPFlag(fs)
	},
	Run: func(ctx context.Context, inv *Invocation) error {
		if len(inv.Args) != 1 {
			return usagef("want one pack reference")
		}
		p, err := pack.Open(ctx, inv.Args[0], packOpenOptions())
		if err != nil {
			return err
		}
		m := p.Manifest
		fmt.Fprintf(inv.Stdout, "ok   %s@%s %s: %d files match their digests\n", m.Name, m.Version, p.Digest, len(m.Files()))
		if packFlags.key == "" {
			if info, err := pack.InspectSignature(p.Signature); len(p.Signature) > 0 && err == nil {
				fmt.Fprintf(inv.Stdout, "note signed by key %s, not checked (give --key NAME.pub)\n", info.KeyID)
			} else {
				fmt.Fprintf(inv.Stdout, "note not signed\n")
			}
			return nil
		}
		pub, id, err := pack.ReadPublicKey(packFlags.key)
		if err != nil {
			return err
		}
		if err := pack.VerifySignature(pub, p.Signature, p.Digest); err != nil {
			return fmt.Errorf("%s: %w", inv.Args[0], err)
		}
		fmt.Fprintf(inv.Stdout, "ok   signature by key %s (%s)\n", id, packFlags.key)
		return nil
	},
}

var cmdPackPush = &Command{
	Name:  "push",
	Usage: "pack push REF oci://HOST[:PORT]/REPO:TAG [--plain-http]",
	Short: "upload a pack to an OCI registry",
	Long: `Pack push verifies the pack and uploads it as an OCI artifact (type
application/vnd.terrarium.pack.v1; config pack.json, so the config digest is
the pack digest; layers the archive and, when signed, the signature) and
tags it. Credentials come from the Docker configuration (docker login or
oras login). It prints the OCI manifest digest; pushing the same pack
again gives the same one.

` + packRefHelp,
	Flags: plainHTTPFlag,
	Run: func(ctx context.Context, inv *Invocation) error {
		if len(inv.Args) != 2 {
			return usagef("want a pack reference and an oci:// destination")
		}
		if !strings.HasPrefix(inv.Args[1], "oci://") {
			return usagef("the destination must be oci://HOST[:PORT]/REPO:TAG")
		}
		p, err := pack.Open(ctx, inv.Args[0], packOpenOptions())
		if err != nil {
			return err
		}
		md, err := pack.Push(ctx, p, inv.Args[1], packOpenOptions())
		if err != nil {
			return err
		}
		fmt.Fprintf(inv.Stdout, "pushed %s@%s %s to %s (OCI manifest %s)\n", p.Manifest.Name, p.Manifest.Version, p.Digest, inv.Args[1], md)
		return nil
	},
}

var cmdPackPull = &Command{
	Name:  "pull",
	Usage: "pack pull oci://HOST[:PORT]/REPO[:TAG|@DIGEST] [-o DIR] [--plain-http]",
	Short: "download a pack from an OCI registry",
	Long: `Pack pull downloads a pack into the pack cache (nothing is fetched when the
cache already holds its digest), verifies every file, and with -o writes it
as a pack directory DIR, which must not exist (signature included). It
prints the pack digest. Registries on loopback addresses are reached over
plain HTTP; others over HTTPS unless --plain-http is given.`,
	Flags: func(fs *pflag.FlagSet) {
		fs.StringVarP(&packFlags.out, "output", "o", "", "write the pack to this new directory")
		plainHTTPFlag(fs)
	},
	Run: func(ctx context.Context, inv *Invocation) error {
		if len(inv.Args) != 1 || !strings.HasPrefix(inv.Args[0], "oci://") {
			return usagef("want one oci:// reference")
		}
		p, err := pack.Open(ctx, inv.Args[0], packOpenOptions())
		if err != nil {
			return err
		}
		where := p.Dir
		if packFlags.out != "" {
			if err := pack.Export(p, packFlags.out); err != nil {
				return err
			}
			where = packFlags.out
		}
		fmt.Fprintf(inv.Stdout, "%s %s@%s %s\n", p.Digest, p.Manifest.Name, p.Manifest.Version, where)
		return nil
	},
}
