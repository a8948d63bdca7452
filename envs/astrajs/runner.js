// The ASTRA runner in JavaScript (docs/astra.md, "Output kinds").
//
// `terrarium import astra --kind js` writes one env.js: a header naming the
// import (SET), the compiled tasks (TASKS, one JSON text per task, parsed
// when an episode needs it), the Unicode tables of unicode.js and this
// runner. It is a port of the Go runner (envs/astra with package
// internal/astra/task) and agrees with it: the same tools in the same order,
// the same answers and tool errors, the same reward and the same oracle, for
// the same seed and actions. The Go tests of envs/astrajs check that, with
// the tables against Go's unicode package code point by code point.
//
// Edit the generated env.js freely (it is an ordinary JavaScript env); a
// pack pins its bytes.

// --- text, as Go's strings and unicode packages treat it -------------------

// inRanges reports whether code point c is in a flat [lo, hi, ...] table.
function inRanges(t, c) {
  let lo = 0, hi = t.length / 2 - 1;
  while (lo <= hi) {
    const m = (lo + hi) >> 1;
    if (c < t[2 * m]) hi = m - 1;
    else if (c > t[2 * m + 1]) lo = m + 1;
    else return true;
  }
  return false;
}

// lowerRune is Go's unicode.ToLower: Unicode's simple lower-case mapping.
function lowerRune(c) {
  if (c < 0x80) return c >= 0x41 && c <= 0x5a ? c + 32 : c;
  let lo = 0, hi = LOWER.length / 4 - 1, at = -1;
  while (lo <= hi) { // the last range starting at or before c
    const m = (lo + hi) >> 1;
    if (LOWER[4 * m] <= c) { at = m; lo = m + 1; } else hi = m - 1;
  }
  if (at >= 0 && c <= LOWER[4 * at + 1] && (c - LOWER[4 * at]) % LOWER[4 * at + 2] === 0) {
    return c + LOWER[4 * at + 3];
  }
  return c;
}

const isSpace = (c) => c < 0x80 ? c === 32 || (c >= 9 && c <= 13) : inRanges(SPACE, c);
const isLetter = (c) => c < 0x80 ? (c | 32) >= 0x61 && (c | 32) <= 0x7a : inRanges(LETTER, c);
const isDigit = (c) => c < 0x80 ? c >= 0x30 && c <= 0x39 : inRanges(DIGIT, c);
const isCJK = (c) => c >= 0x1100 && inRanges(CJK, c);

const ASCII = /^[\x00-\x7f]*$/;

// runes returns the code points of s, as Go's []rune(string) does: a lone
// surrogate (which Go's JSON decoder would have made U+FFFD) reads U+FFFD.
function runes(s) {
  const out = [];
  for (const ch of s) {
    const c = ch.codePointAt(0);
    out.push(c >= 0xd800 && c <= 0xdfff ? 0xfffd : c);
  }
  return out;
}

// trimLower is strings.ToLower(strings.TrimSpace(s)).
function trimLower(s) {
  if (ASCII.test(s)) return s.trim().toLowerCase(); // on ASCII, trim's white space is Go's
  const rs = runes(s);
  let i = 0, j = rs.length;
  while (i < j && isSpace(rs[i])) i++;
  while (j > i && isSpace(rs[j - 1])) j--;
  let out = "";
  for (let k = i; k < j; k++) out += String.fromCodePoint(lowerRune(rs[k]));
  return out;
}

// --- matching a call (task.Key) --------------------------------------------

const own = (o, k) => Object.prototype.hasOwnProperty.call(o, k);

// canon writes a decoded JSON value in a canonical text: object keys
// sorted, strings trimmed and lower-cased, numbers by value. (Plain loops:
// goja runs them faster than map, join and iterators.)
function canon(v) {
  if (v === null) return "null";
  switch (typeof v) {
    case "string":
      return JSON.stringify(trimLower(v));
    case "number":
      return Object.is(v, -0) ? "-0" : String(v);
    case "boolean":
      return v ? "true" : "false";
  }
  let out;
  if (Array.isArray(v)) {
    out = "[";
    for (let i = 0; i < v.length; i++) out += (i > 0 ? "," : "") + canon(v[i]);
    return out + "]";
  }
  const keys = Object.keys(v).sort();
  out = "{";
  for (let i = 0; i < keys.length; i++) {
    out += (i > 0 ? "," : "") + JSON.stringify(keys[i]) + ":" + canon(v[keys[i]]);
  }
  return out + "}";
}

// defaults returns the "default" of each top-level property of a schema.
function defaults(schema) {
  const out = Object.create(null);
  const props = schema && typeof schema.properties === "object" && schema.properties;
  for (const k of Object.keys(props || {})) {
    const p = props[k];
    if (p !== null && typeof p === "object" && !Array.isArray(p) && own(p, "default")) out[k] = p.default;
  }
  return out;
}

// key is the canonical key of a call of a tool with (parsed) arguments.
// Objects made here have no prototype, so that an argument named
// "__proto__" is a key like any other.
function key(args, dflt) {
  const m = Object.create(null);
  let ks = Object.keys(args);
  for (let i = 0; i < ks.length; i++) m[ks[i]] = args[ks[i]];
  ks = Object.keys(dflt);
  for (let i = 0; i < ks.length; i++) if (!own(m, ks[i])) m[ks[i]] = dflt[ks[i]];
  return canon(m);
}

// --- the task set ----------------------------------------------------------

// task parses and checks task i.
function task(i) {
  if (!(i >= 0 && i < TASKS.length)) throw new Error(`task ${i} out of range [0,${TASKS.length})`);
  const t = JSON.parse(TASKS[i]);
  t.tools = t.tools || [];
  t.calls = t.calls || [];
  t.subs = t.subs || [];
  const bad = (why) => new Error(`task ${i} (${t.uuid}): not an ASTRA task: ${why}`);
  if (!t.uuid || t.calls.length === 0) throw bad("no uuid or no verified calls");
  const names = new Set();
  for (const tl of t.tools) {
    if (!tl.name || names.has(tl.name)) throw bad(`tool name ${JSON.stringify(tl.name)} empty or repeated`);
    names.add(tl.name);
  }
  t.calls.forEach((c, j) => {
    if (!names.has(c.tool)) throw bad(`call ${j} names unknown tool ${JSON.stringify(c.tool)}`);
  });
  for (const sq of t.subs) {
    if (!(sq.call >= -1 && sq.call < t.calls.length)) throw bad(`sub-question ${sq.id}: call ${sq.call} out of range`);
  }
  return t;
}

// table indexes a task's verified calls by tool and canonical key; the
// first of two calls with one key wins.
function table(t) {
  const dflt = {}, answers = new Map();
  for (const tl of t.tools) dflt[tl.name] = defaults(tl.parameters);
  t.calls.forEach((c, j) => {
    const k = c.tool + "\u0000" + key(JSON.parse(c.arguments), dflt[c.tool]);
    if (!answers.has(k)) answers.set(k, j);
  });
  return {lookup: (tool, args) => answers.get(tool + "\u0000" + key(args, dflt[tool])) ?? -1};
}

// NO_RECORD is the tool error for a well-formed call that matches no
// verified call. It does not repeat the arguments, so that no call can put
// a sub-answer into its own result.
const NO_RECORD = "no record for these arguments";

// offer makes the tools of task t, answering from its verified calls; hit
// (when given) is told which call answered.
function offer(t, hit) {
  const tb = table(t);
  return t.tools.map((tl) => ({
    name: tl.name,
    description: tl.description,
    parameters: tl.parameters,
    handler(args) {
      const j = tb.lookup(tl.name, args);
      if (j < 0) throw new Error(NO_RECORD);
      if (hit) hit(j);
      return t.calls[j].answer;
    },
  }));
}

// intn draws a uniform int in [0, n) from the episode's stream, as the Go
// runner does (floor(Float64()·n)), so both draw the same distractors.
const intn = (n) => Math.min(Math.floor(Math.random() * n), n - 1);

// distractors picks k tools of other tasks from t's candidate bands,
// visited round-robin (near, mid, far, near, ...), one uniformly drawn
// candidate per visit, passing over names already offered.
function distractors(t, k) {
  const taken = new Set(t.tools.map((tl) => tl.name));
  const bands = (t.distractors || []).map((b) => (b || []).slice());
  const loaded = new Map();
  const out = [];
  for (let progress = true; out.length < k && progress;) {
    progress = false;
    for (const band of bands) {
      while (out.length < k && band.length > 0) {
        const ref = band.splice(intn(band.length), 1)[0];
        if (!loaded.has(ref.task)) loaded.set(ref.task, task(ref.task));
        const other = loaded.get(ref.task);
        if (!(ref.tool >= 0 && ref.tool < other.tools.length)) throw new Error(`task ${ref.task} has no tool ${ref.tool}`);
        const name = other.tools[ref.tool].name;
        if (taken.has(name)) continue;
        taken.add(name);
        out.push(offer(other, null)[ref.tool]);
        progress = true;
        break;
      }
    }
  }
  return out;
}

// --- reward (task.Reward) --------------------------------------------------

const EPSILON = 1e-9;

// normalize splits s into the tokens finalMatch compares (task.Normalize).
function normalize(s) {
  const rs = runes(s).map((c) => lowerRune(c >= 0xff01 && c <= 0xff5e ? c - 0xfee0 : c));
  const toks = [];
  let cur = "";
  const flush = () => {
    if (cur !== "") {
      if (cur !== "a" && cur !== "an" && cur !== "the") toks.push(cur);
      cur = "";
    }
  };
  rs.forEach((c, i) => {
    if (isCJK(c)) {
      flush();
      toks.push(String.fromCodePoint(c));
    } else if (isLetter(c) || isDigit(c)) {
      cur += String.fromCodePoint(c);
    } else if ((c === 0x2e || c === 0x2c) && i > 0 && i + 1 < rs.length &&
               isDigit(rs[i - 1]) && isDigit(rs[i + 1]) && cur !== "") {
      if (c === 0x2e) cur += ".";
    } else {
      flush();
    }
  });
  flush();
  return toks;
}

// finalMatch: the gold's tokens occur as a contiguous run of the answer's.
function finalMatch(answer, gold) {
  const g = normalize(gold);
  if (g.length === 0) return false;
  const a = normalize(answer);
  for (let i = 0; i + g.length <= a.length; i++) {
    if (g.every((w, j) => a[i + j] === w)) return true;
  }
  return false;
}

function reward(t, mode, results, calls, final) {
  let n = 0, solved = 0;
  for (const sq of t.subs) {
    if (sq.call < 0) continue;
    n++;
    if (results.some((r) => r.includes(sq.answer))) solved++;
  }
  const recall = n > 0 ? solved / n : 0;
  const precision = Math.min(1, solved / (calls + EPSILON));
  const f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0;
  const fm = final !== null && finalMatch(final, t.final_answer) ? 1 : 0;
  const r = mode === "f1*final" ? f1 * fm : mode === "final" ? fm : f1;
  return {reward: r, components: {recall, precision, f1, n, solved, calls, final_match: fm}};
}

// --- oracle (task.Plan, task.Next) -----------------------------------------

// plan groups the verified calls of tool-backed sub-questions by level, a
// call shared by several sub-questions once, at the lowest level.
function plan(t) {
  const subs = t.subs.map((sq, i) => ({sq, i}));
  subs.sort((x, y) => x.sq.level - y.sq.level || x.i - y.i);
  const byLevel = new Map(), seen = new Set();
  for (const {sq} of subs) {
    if (sq.call < 0 || seen.has(sq.call)) continue;
    seen.add(sq.call);
    if (!byLevel.has(sq.level)) byLevel.set(sq.level, []);
    byLevel.get(sq.level).push(sq.call);
  }
  return [...byLevel.keys()].sort((x, y) => x - y).map((l) => byLevel.get(l));
}

function next(groups, answered) {
  for (const g of groups) {
    const todo = g.filter((c) => !answered[c]);
    if (todo.length > 0) return todo;
  }
  return null;
}

// --- the environment -------------------------------------------------------

const env = {
  spec: {
    name: SET.name,
    version: SET.version,
    description: SET.description,
    tasks: TASKS.length,
    max_turns: SET.max_turns,
  },

  reset(ep) {
    const t = task(ep.task);
    const s = {t, plan: plan(t), answered: t.calls.map(() => false)};
    ep.state = s;
    const tools = offer(t, (j) => { s.answered[j] = true; });
    if (SET.distractors > 0) {
      tools.push(...distractors(t, SET.distractors));
      for (let i = tools.length - 1; i > 0; i--) {
        const j = intn(i + 1);
        [tools[i], tools[j]] = [tools[j], tools[i]];
      }
    }
    return {messages: [{role: "user", content: t.question}], tools};
  },

  score(ep) {
    return reward(ep.state.t, SET.mode, ep.toolResults, ep.calls, ep.finalAnswer);
  },

  oracle(ep) {
    const {t, plan: groups, answered} = ep.state;
    const todo = next(groups, answered);
    if (todo === null) return t.final_answer;
    return {tool_calls: todo.map((j) => ({
      id: `oracle_${ep.turn + 1}_${j}`,
      type: "function",
      function: {name: t.calls[j].tool, arguments: t.calls[j].arguments},
    }))};
  },
};
