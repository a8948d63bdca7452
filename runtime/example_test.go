package runtime_test

import (
	"context"
	"fmt"
	"log"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/internal/gobuild"
	trt "github.com/terrarium-rl/terrarium/runtime"
)

// A host loads an environment module and plays an episode: start (reset),
// step with an action, score. The guest's clock and randomness are the
// host's virtual ones, so the opening message, which shows both, is the same
// on every run and every machine. (The virtual time counts the guest's clock
// reads, so it changes when the guest's code or Go version does.)
func Example() {
	ctx := context.Background()
	wasm, err := gobuild.Build(ctx, "testdata/echo") // a Go env built to wasip1
	if err != nil {
		log.Fatal(err)
	}
	host, err := trt.New(ctx, trt.NewConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer host.Close(ctx)
	env, err := host.LoadFile(ctx, wasm)
	if err != nil {
		log.Fatal(err)
	}
	ep, obs, err := env.Start(ctx, 7, 1)
	if err != nil {
		log.Fatal(err)
	}
	defer ep.Close(ctx)
	fmt.Println(obs.Messages[0].Content)

	say := abi.Message{Role: abi.RoleAssistant, ToolCalls: []abi.ToolCall{{ID: "c1", Type: "function",
		Function: abi.FunctionCall{Name: "say", Arguments: `{"text":"hello"}`}}}}
	res, err := ep.Step(ctx, say)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Messages[0].Content)
	if _, err := ep.Step(ctx, abi.Message{Role: abi.RoleAssistant, Content: "hello"}); err != nil {
		log.Fatal(err)
	}
	score, err := ep.Score(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("reward", score.Reward)
	// Output:
	// task 1, lucky number 617, time 1735689600000098000
	// {"echo":"hello","n":1}
	// reward 1
}
