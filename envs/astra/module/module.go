// Package module embeds the built astra runner (package main one directory
// up) so that `terrarium import astra` can write it into every pack without
// a Go toolchain at hand.
//
// astra.wasm is built reproducibly from ../ and committed; TestReproducible
// rebuilds it and fails when the bytes differ. After changing the runner or
// anything it imports (internal/astra/task, sdk, abi), rebuild it with
//
//	cd envs/astra && GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared \
//	    -trimpath -buildvcs=false -ldflags=-buildid= -o module/astra.wasm .
//
// The bytes depend on the Go version: Toolchain names the one that built
// them.
package module

import _ "embed"

//go:generate env GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -buildvcs=false -ldflags=-buildid= -o astra.wasm ..

// Wasm is the runner module.
//
//go:embed astra.wasm
var Wasm []byte

// Toolchain is the Go version that built Wasm.
const Toolchain = "go1.26.8"
