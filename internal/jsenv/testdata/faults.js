// A JavaScript environment that misbehaves on request, for the fault tests
// of package jsenv. Task 0 is well behaved apart from its tools; task 1
// fails in reset; task 2 fails in score.
let sink = [];

const env = {
  spec: {name: "js-faults", version: "0.1.0", tasks: 3},

  reset(ep) {
    if (ep.task === 1) throw new Error("reset refuses task 1");
    const tool = (name, handler) => ({name, description: name, handler});
    return {
      messages: [{role: "user", content: `misbehave ${Math.random()} at ${new Date().toISOString()}`}],
      tools: [
        tool("ok", () => "fine"),
        tool("loop", () => { for (;;) {} }),
        tool("alloc", () => { for (;;) sink.push(new Uint8Array(1 << 24)) }),
        tool("alloc_objects", () => { for (;;) sink.push({n: sink.length, s: "x" + sink.length}) }),
        tool("big_string", () => { let s = "x"; for (;;) s += s; }),
        tool("recurse", () => { const f = (n) => f(n + 1) + 1; return f(0) }),
        tool("recurse_native", () => { const f = (n) => "a".replace(/a/, () => f(n + 1)); return f(0) }),
        tool("throw", () => { throw new Error("thrown on purpose") }),
        tool("bug", () => { const o = undefined; return o.field }),
        tool("flood", () => { for (;;) console.log("x".repeat(1000)) }),
      ],
    };
  },

  score(ep) {
    if (ep.task === 2) throw new Error("score refuses task 2");
    return 0;
  },
};
