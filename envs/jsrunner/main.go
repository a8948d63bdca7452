// Command jsrunner runs Terrarium environments written in JavaScript. It is
// a Go guest (package sdk) embedding the goja interpreter. The host loads it
// with an environment script as its configuration blob,
//
//	runtime.Source{Name: "inventory/env.js", Wasm: runner, Config: script}
//
// and the SDK hands that script to configure (terrarium_configure) before
// anything else. The script API is documented in docs/js-env.md.
//
// The runner is built once, reproducibly, and embedded in the host by
// package internal/jsenv (its go:generate line has the command). It also
// builds for the host, where its tests run scripts through sdk.NewNative.
//
// # Notes
//
//   - The script is compiled once per instance, at configure, which also
//     runs it in two goja runtimes (see prepared in vm.go). Each episode
//     takes a runtime that has run the script and served no other episode,
//     making a new one only when none is left, so that no JavaScript state
//     outlives its episode.
//   - Math.random draws from the episode's seeded generator (sdk.Episode.Rand)
//     and Date reads a virtual clock that restarts at reset; see vm.go.
//   - The script sees only ECMAScript built-ins and console: no require, no
//     modules, no timers, no files, no network.
package main

import (
	"bytes"
	"errors"
	"time"
	"unicode/utf8"

	"github.com/terrarium-rl/terrarium/sdk"
)

func init() {
	// Date's local-time methods and date parsing use time.Local. Fixing it
	// makes native runs (tests) agree with wasm, where Local is UTC anyway.
	time.Local = time.UTC
	sdk.OnConfigure(configure)
	sdk.Register(newEnv)
}

func main() {}

// loaded is the script given at configure; nil before.
var loaded *script

// configure compiles and runs the environment script. Its errors reach the
// host as a refused configuration ("load x: configure: ...").
func configure(src []byte) error {
	if len(bytes.TrimSpace(src)) == 0 {
		return errors.New("the environment script is empty")
	}
	if !utf8.Valid(src) {
		return errors.New("the environment script is not valid UTF-8")
	}
	s, err := compile(string(src))
	if err != nil {
		return err
	}
	loaded = s
	sdk.ReserveHeap() // loading the script filled the heap: make room before the snapshot
	return nil
}

func newEnv() sdk.Env {
	switch {
	case loaded == nil:
		return unconfigured{}
	case loaded.hasOracle:
		return &oracleEnv{env{s: loaded}}
	}
	return &env{s: loaded}
}
