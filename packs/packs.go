// Package packs holds the prebuilt environment packs Terrarium ships, as
// pack files (docs/pack.md) committed next to this file:
//
//	bank.tpack   envs/bank, the stateful bank environment
//
// They let a fresh clone run an environment without building it, as the
// README's quick start does:
//
//	go run ./cmd/terrarium run --pack packs/bank.tpack --policy oracle -o bank.jsonl
//
// The package has no API: it exists for its files, the go:generate line
// below and the tests that keep them honest.
//
// # Notes
//
//   - Each pack is built from its environment's source by `go generate
//     ./packs` (gen.go, using packs/internal/packgen): the module is compiled
//     with internal/gobuild's reproducible flags, the manifest is named and
//     versioned after the environment's spec and its digests are computed by
//     pack.Finalize, and the file is written by pack.Build. Never edit a pack
//     or its digests by hand.
//   - TestReproducible rebuilds every pack and fails when the bytes differ
//     from the committed file, so a change to a shipped environment, the
//     SDK, the ABI, a dependency or the pack format must come with
//     regenerated packs. The bytes depend on the Go version: regenerate with
//     the toolchain CI uses (the manifest's provenance names the one that
//     built the committed pack, and the test names both).
//   - The packs are unsigned: there is no project key to trust. Their
//     digests identify them; `terrarium pack inspect packs/bank.tpack`
//     prints one.
package packs

//go:generate go run gen.go
