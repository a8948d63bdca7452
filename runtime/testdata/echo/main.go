// Command echo is the test environment of the runtime's tests, built to
// wasm by them with internal/gobuild. Its logic lives in
// internal/testenv so that benchmarks can also run it natively.
package main

import (
	"github.com/terrarium-rl/terrarium/internal/testenv"
	"github.com/terrarium-rl/terrarium/sdk"
)

func init() { sdk.Register(testenv.New) }

func main() {}
