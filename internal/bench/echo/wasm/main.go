// Command wasm is internal/bench/echo as a guest module: terrarium bench
// builds this directory to WebAssembly (internal/gobuild) to compare it
// with the same package run natively.
package main

import (
	"github.com/terrarium-rl/terrarium/internal/bench/echo"
	"github.com/terrarium-rl/terrarium/sdk"
)

func init() { sdk.Register(echo.New) }

func main() {}
