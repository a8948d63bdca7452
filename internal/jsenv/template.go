package jsenv

// Templates are the files of a new JavaScript environment (terrarium env
// new --lang js), as text/template sources over {{.Name}} (the env's name)
// and {{.Package}} (the name as a Go identifier). The env is the counter of
// the Go template, written in JavaScript; env_test.go runs the conformance
// checker on it with go test, for authors who keep envs in a Go module.
// TestTemplates renders them and checks that the env conforms.
var Templates = map[string]string{
	ScriptName: `// {{.Name}}: a Terrarium environment in JavaScript (docs/js-env.md).
//
// The agent must bring a counter to a target value with the tools
// "increment" and "read", then answer "done". Check it with:
//
//	terrarium env test .

const env = {
  spec: {
    name: "{{.Name}}",
    version: "0.1.0",
    description: "Bring a counter to a target value.",
    tasks: 10,
    max_turns: 20,
  },

  // reset starts an episode. ep.task is the task index; Math.random is
  // seeded by the episode, so tasks differ and seeds vary them.
  reset(ep) {
    ep.state = {target: 1 + ep.task + Math.floor(Math.random() * 3), value: 0};
    return {
      messages: [{role: "user", content: ` + "`" + `Bring the counter to exactly ${ep.state.target}, then answer "done".` + "`" + `}],
      tools: [
        {
          name: "increment",
          description: "Add a positive amount to the counter.",
          parameters: {
            type: "object",
            properties: {by: {type: "integer", minimum: 1, maximum: 10}},
            required: ["by"],
            additionalProperties: false,
          },
          handler({by}, ep) {
            ep.state.value += by;
            return {value: ep.state.value};
          },
        },
        {
          name: "read",
          description: "Read the counter.",
          handler: (args, ep) => ({value: ep.state.value}),
        },
      ],
    };
  },

  // score grades the episode: 1 when the counter is on target and the
  // agent said "done".
  score(ep) {
    const {value, target} = ep.state;
    const ok = value === target && ep.finalAnswer === "done";
    return {reward: ok ? 1 : 0, components: {value, target}};
  },

  // oracle is the reference solution: increment to the target, then "done".
  oracle(ep) {
    const {value, target} = ep.state;
    if (value < target) {
      return {tool_calls: [{name: "increment", arguments: {by: Math.min(target - value, 10)}}]};
    }
    return "done";
  },
};
`,
	"env_test.go": `package {{.Package}}_test

import (
	"testing"

	"github.com/terrarium-rl/terrarium/sdk/envtest"
)

// The conformance checker, on env.js in the JavaScript runner: ABI,
// schemas, determinism, malformed actions, oracle reward 1, null reward 0.
func TestConformance(t *testing.T) { envtest.Run(t, ".") }
`,
}
