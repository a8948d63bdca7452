// Command backend is the test environment of the runtime's backend tests
// (backend_test.go), built to wasm by them with internal/gobuild. Reset asks
// backend "kv" for a greeting; the tool "get" forwards its key to "kv/get"
// and answers with the response or the error, so a test sees every path of
// terrarium.backend_call.
package main

import (
	"errors"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/sdk"
)

type env struct{}

func (env) Spec() abi.Spec {
	return abi.Spec{Name: "backend", Version: "1.0.0", Tasks: 1, Backends: []string{"kv"}}
}

func (env) Reset(ep *sdk.Episode) (*sdk.Start, error) {
	hello, err := sdk.CallBackend("kv/hello", nil)
	if err != nil {
		hello = []byte(err.Error())
	}
	get := sdk.NewTool("get", "Look a key up in kv.", `{"type":"object","properties":{"key":{"type":"string"},"backend":{"type":"string"}},"required":["key"]}`,
		func(ep *sdk.Episode, a struct{ Key, Backend string }) (any, error) {
			name := "kv/get"
			if a.Backend != "" {
				name = a.Backend + "/get"
			}
			b, err := sdk.CallBackend(name, []byte(a.Key))
			var be *sdk.BackendError
			if errors.As(err, &be) {
				return map[string]any{"status": int(be.Status), "error": be.Message}, nil
			}
			if err != nil {
				return nil, err
			}
			return map[string]any{"value": string(b)}, nil
		})
	return &sdk.Start{Messages: []abi.Message{{Role: abi.RoleUser, Content: string(hello)}}, Tools: []*sdk.Tool{get}}, nil
}

func (env) Score(ep *sdk.Episode) (abi.Score, error) { return abi.Score{Reward: 1}, nil }

func init() { sdk.Register(func() sdk.Env { return env{} }) }

func main() {}
