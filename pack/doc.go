// Package pack reads, writes, verifies and signs Terrarium environment
// packs: a manifest (pack.json) pinning WebAssembly modules and task data by
// digest, declared capabilities and limits, an optional detached signature,
// and a reproducible archive form for moving packs through files and OCI
// registries. docs/pack.md documents the format and the trust model.
//
// A pack's identity is its digest: the SHA-256 of the canonical manifest,
// which pins every file. Signatures and lockfiles refer to it.
//
//	digest, err := pack.Finalize(dir, &pack.Manifest{Name: "shop", Version: "1.0.0", ...})
//	p, err := pack.Load(dir)          // verifies every file digest
//	src, err := p.Source("")          // the only environment, as a runtime.Source
//
// Resolve is the single entry point for running a pack by reference
// (directory, pack file or oci:// reference) with lockfile, trust and
// capability checks.
package pack
