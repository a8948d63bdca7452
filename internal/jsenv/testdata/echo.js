// The echo environment of the runtime's tests (runtime/internal/testenv),
// written in JavaScript, for benchmarks against the Go SDK: the same spec,
// the same opening message and tools, the same "say" tool and score.
const noArgs = {type: "object", properties: {}};

const env = {
  spec: {name: "echo", version: "0.1.0", description: "echoes; misbehaves on request", tasks: 4},

  reset(ep) {
    ep.state.said = [];
    const tool = (name, description, handler, parameters = noArgs) => ({name, description, parameters, handler});
    return {
      messages: [{role: "user", content: `task ${ep.task}, lucky number ${Math.floor(Math.random() * 1000)}, time ${Date.now() * 1e6}`}],
      tools: [
        tool("say", "Say something.", ({text}) => {
          ep.state.said.push(text);
          return {echo: text, n: ep.state.said.length};
        }, {type: "object", properties: {text: {type: "string", maxLength: 100}}, required: ["text"]}),
        tool("entropy", "Reports the clock and 16 bytes of randomness.", () => ({now: Date.now(), r: Math.random()})),
        tool("sleep", "Reports the clock.", () => Date.now(), {type: "object", properties: {ms: {type: "integer"}}}),
        tool("loop", "Never returns.", () => { for (;;) {} }),
        tool("alloc", "Allocates without bound.", () => { const s = []; for (;;) s.push(new Uint8Array(1 << 20)) }),
        tool("recurse", "Recurses without bound.", () => { const f = (n) => f(n + 1) + 1; return f(0) }),
        tool("panic", "Throws.", () => { throw new TypeError("boom") }),
        tool("flood", "Floods the log.", () => { for (;;) console.log("x".repeat(1000)) }),
        tool("exit", "Has no process to exit; throws.", () => { throw new Error("no exit in JavaScript") }),
      ],
    };
  },

  score(ep) {
    const said = ep.state.said;
    const r = said.length > 0 && ep.finalAnswer === said.join(" ") ? 1 : 0;
    return {reward: r, components: {said: said.length}};
  },

  oracle(ep) {
    const said = ep.state.said;
    if (said.length === 0) return {tool_calls: [{id: "call_0", name: "say", arguments: {text: "hello"}}]};
    return said.join(" ");
  },
};
