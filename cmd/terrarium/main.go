// Command terrarium runs, tests and replays Terrarium environments.
//
// Run "terrarium help" for the list of commands.
package main

import (
	"os"

	// Environment kinds that --env accepts besides Go directories and
	// .wasm files register themselves with internal/envload.
	_ "github.com/terrarium-rl/terrarium/internal/jsenv"
	_ "github.com/terrarium-rl/terrarium/pack"
)

// commands lists every command; each lives in its own file.
var commands = []*Command{
	cmdRun,
	cmdReplay,
	cmdEnv,
	cmdPack,
	cmdImport,
	cmdBench,
}

func main() { os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr)) }
