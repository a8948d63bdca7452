package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/trainer"
)

// reply is one scripted answer of the test server.
type reply struct {
	status int
	header map[string]string
	body   string
	hang   bool // wait until the client gives up
	hangup bool // close the connection without answering
}

func ok(body string) reply { return reply{status: 200, body: body} }

// server is a chat-completions server on 127.0.0.1 that checks every
// request's shape, records it, and answers from a script.
type server struct {
	t      *testing.T
	url    string
	mu     sync.Mutex
	script []reply // answered in order; the last one repeats
	// answer, when set, replaces script and may look at the request.
	answer   func(req map[string]any) reply
	requests []map[string]any
	headers  []http.Header
	arrived  chan struct{} // when set, receives a value as each request arrives
}

func newServer(t *testing.T, script ...reply) *server {
	s := &server{t: t, script: script}
	hs := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(hs.Close)
	s.url = hs.URL + "/v1"
	return s
}

func (s *server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		s.t.Errorf("request %s %s, want POST /v1/chat/completions", r.Method, r.URL.Path)
		http.Error(w, "wrong endpoint", http.StatusNotFound)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		s.t.Errorf("content type %q", ct)
	}
	var req map[string]any
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		s.t.Errorf("request body: %v", err)
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	// Every request names the model and carries a seed that llama.cpp can
	// read as a 32-bit number.
	if req["model"] != "test-model" {
		s.t.Errorf("model %v, want test-model", req["model"])
	}
	if seed, ok := req["seed"].(float64); !ok || seed < 0 || seed >= 1<<31 || seed != float64(int64(seed)) {
		s.t.Errorf("seed %v, want an integer in [0, 2^31)", req["seed"])
	}
	s.mu.Lock()
	n := len(s.requests)
	s.requests = append(s.requests, req)
	s.headers = append(s.headers, r.Header.Clone())
	var rep reply
	if s.answer != nil {
		rep = s.answer(req)
	} else {
		rep = s.script[min(n, len(s.script)-1)]
	}
	s.mu.Unlock()
	if s.arrived != nil {
		s.arrived <- struct{}{}
	}
	switch {
	case rep.hang:
		<-r.Context().Done()
		return
	case rep.hangup:
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			s.t.Errorf("hijack: %v", err)
			return
		}
		conn.Close()
		return
	}
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.status)
	fmt.Fprint(w, rep.body)
}

func (s *server) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

func (s *server) header(i int) http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.headers[i]
}

func (s *server) request(i int) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[i]
}

// testConfig retries quickly, so that tests of retries take no time.
func (s *server) config() Config {
	return NewConfig(s.url, "test-model").WithBackoff(time.Millisecond, 2*time.Millisecond).WithAPIKey("")
}

func newPolicy(t *testing.T, cfg Config) *Policy {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	return p
}

var sayTool = abi.Tool{Type: "function", Function: abi.Function{Name: "say", Description: "Say something.",
	Parameters: abi.RawJSON(`{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}`)}}

func act(t *testing.T, p *Policy, ep trainer.EpisodeInfo, msgs []abi.Message) (abi.Message, error) {
	t.Helper()
	a, err := p.Start(context.Background(), ep)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	return a.Act(context.Background(), msgs)
}

func completion(message string) string {
	return `{"id":"x","object":"chat.completion","choices":[{"index":0,"finish_reason":"stop","message":` + message + `}]}`
}

// asJSON decodes a JSON literal for comparison with a decoded request.
func asJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad JSON in test: %v\n%s", err, s)
	}
	return v
}

func TestRequest(t *testing.T) {
	s := newServer(t, ok(completion(`{"role":"assistant","content":null,"tool_calls":[
		{"id":"call_a","type":"function","function":{"name":"say","arguments":"{\"text\":\"a\"}"}},
		{"id":"call_b","type":"function","function":{"name":"say","arguments":"{\"text\":\"b\"}"}}]}`)))
	p := newPolicy(t, s.config().WithAPIKey("sk-test").WithTemperature(0).WithTopP(0.9).WithMaxTokens(64))
	if p.Name() != "openai:test-model" {
		t.Fatalf("name %q", p.Name())
	}
	msgs := []abi.Message{
		{Role: abi.RoleSystem, Content: "Be brief."},
		{Role: abi.RoleUser, Content: "Say a, then b."},
		{Role: abi.RoleAssistant, ToolCalls: []abi.ToolCall{{ID: "c0", Type: "function", Function: abi.FunctionCall{Name: "say", Arguments: `{"text":"x"}`}}}},
		{Role: abi.RoleTool, ToolCallID: "c0", Content: `{"echo":"x"}`},
	}
	m, err := act(t, p, trainer.EpisodeInfo{Seed: 42, Tools: []abi.Tool{sayTool}}, msgs)
	if err != nil {
		t.Fatalf("act: %v", err)
	}

	req := s.request(0)
	if got := s.header(0).Get("Authorization"); got != "Bearer sk-test" {
		t.Errorf("authorization %q, want Bearer sk-test", got)
	}
	want := asJSON(t, `[
		{"role":"system","content":"Be brief."},
		{"role":"user","content":"Say a, then b."},
		{"role":"assistant","content":null,"tool_calls":[{"id":"c0","type":"function","function":{"name":"say","arguments":"{\"text\":\"x\"}"}}]},
		{"role":"tool","content":"{\"echo\":\"x\"}","tool_call_id":"c0"}]`)
	if !reflect.DeepEqual(req["messages"], want) {
		t.Errorf("messages\n%v\nwant\n%v", req["messages"], want)
	}
	wantTools := asJSON(t, `[{"type":"function","function":{"name":"say","description":"Say something.",
		"parameters":{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}}}]`)
	if !reflect.DeepEqual(req["tools"], wantTools) {
		t.Errorf("tools\n%v\nwant\n%v", req["tools"], wantTools)
	}
	for k, v := range map[string]any{"tool_choice": "auto", "parallel_tool_calls": true, "temperature": 0.0, "top_p": 0.9,
		"max_tokens": 64.0, "seed": float64(seedFor(42, 0, 1))} {
		if req[k] != v {
			t.Errorf("%s = %v, want %v", k, req[k], v)
		}
	}

	wantMsg := abi.Message{Role: abi.RoleAssistant, ToolCalls: []abi.ToolCall{
		{ID: "call_a", Type: "function", Function: abi.FunctionCall{Name: "say", Arguments: `{"text":"a"}`}},
		{ID: "call_b", Type: "function", Function: abi.FunctionCall{Name: "say", Arguments: `{"text":"b"}`}},
	}}
	if !reflect.DeepEqual(m, wantMsg) {
		t.Fatalf("action %+v, want %+v", m, wantMsg)
	}
}

func TestRequestWithoutTools(t *testing.T) {
	// OpenAI refuses tool_choice without tools.
	s := newServer(t, ok(completion(`{"role":"assistant","content":"hi"}`)))
	p := newPolicy(t, s.config().WithParallelToolCalls(false))
	if _, err := act(t, p, trainer.EpisodeInfo{}, []abi.Message{{Role: abi.RoleUser, Content: "hi"}}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"tools", "tool_choice", "parallel_tool_calls", "temperature", "top_p", "max_tokens"} {
		if v, ok := s.request(0)[k]; ok {
			t.Errorf("request has %s = %v, want it left to the server", k, v)
		}
	}
	if got := s.header(0).Get("Authorization"); got != "" {
		t.Errorf("authorization %q sent without a key", got)
	}
}

func TestAPIKeyFromEnvironment(t *testing.T) {
	t.Setenv(APIKeyEnv, "sk-env")
	s := newServer(t, ok(completion(`{"role":"assistant","content":"hi"}`)))
	p := newPolicy(t, NewConfig(s.url, "test-model"))
	if _, err := act(t, p, trainer.EpisodeInfo{}, nil); err != nil {
		t.Fatal(err)
	}
	if got := s.header(0).Get("Authorization"); got != "Bearer sk-env" {
		t.Fatalf("authorization %q, want Bearer sk-env", got)
	}
}

func TestParallelToolCallsFlag(t *testing.T) {
	s := newServer(t, ok(completion(`{"role":"assistant","content":"hi"}`)))
	p := newPolicy(t, s.config().WithParallelToolCalls(false))
	if _, err := act(t, p, trainer.EpisodeInfo{Tools: []abi.Tool{sayTool}}, nil); err != nil {
		t.Fatal(err)
	}
	if v := s.request(0)["parallel_tool_calls"]; v != false {
		t.Fatalf("parallel_tool_calls = %v, want false", v)
	}
}

func call(id, name, args string) abi.ToolCall {
	return abi.ToolCall{ID: id, Type: "function", Function: abi.FunctionCall{Name: name, Arguments: args}}
}

func TestResponses(t *testing.T) {
	// Whatever the model says becomes an action; what is wrong with it is
	// for the environment to answer.
	for _, c := range []struct {
		name, message string
		want          abi.Message
	}{
		{"final answer", `{"role":"assistant","content":"hello"}`, abi.Message{Content: "hello"}},
		{"parallel calls", `{"role":"assistant","content":"","tool_calls":[
			{"id":"a","type":"function","function":{"name":"say","arguments":"{\"text\":\"1\"}"}},
			{"id":"b","type":"function","function":{"name":"say","arguments":"{\"text\":\"2\"}"}},
			{"id":"c","type":"function","function":{"name":"say","arguments":"{\"text\":\"3\"}"}}]}`,
			abi.Message{ToolCalls: []abi.ToolCall{call("a", "say", `{"text":"1"}`), call("b", "say", `{"text":"2"}`), call("c", "say", `{"text":"3"}`)}}},
		{"malformed arguments", `{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"say","arguments":"{\"text\": \"unterminated"}}]}`,
			abi.Message{ToolCalls: []abi.ToolCall{call("a", "say", `{"text": "unterminated`)}}},
		{"unknown tool", `{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"launch_missiles","arguments":"{}"}}]}`,
			abi.Message{ToolCalls: []abi.ToolCall{call("a", "launch_missiles", `{}`)}}},
		{"arguments as an object", `{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"say","arguments":{"text":"o"}}}]}`,
			abi.Message{ToolCalls: []abi.ToolCall{call("a", "say", `{"text":"o"}`)}}},
		{"no arguments, id or type", `{"role":"assistant","tool_calls":[{"function":{"name":"say"}},{"function":{"name":"say","arguments":null}}]}`,
			abi.Message{ToolCalls: []abi.ToolCall{call("call_0_0", "say", `{}`), call("call_0_1", "say", `{}`)}}},
		{"text with calls", `{"role":"assistant","content":"Let me say it.","tool_calls":[{"id":"a","type":"function","function":{"name":"say","arguments":"{}"}}]}`,
			abi.Message{Content: "Let me say it.", ToolCalls: []abi.ToolCall{call("a", "say", `{}`)}}},
		{"content parts", `{"role":"assistant","content":[{"type":"text","text":"hel"},{"type":"image_url"},{"type":"text","text":"lo"}]}`,
			abi.Message{Content: "hello"}},
		{"null content, no calls", `{"role":"assistant","content":null}`, abi.Message{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newServer(t, ok(completion(c.message)))
			m, err := act(t, newPolicy(t, s.config()), trainer.EpisodeInfo{Tools: []abi.Tool{sayTool}}, nil)
			if err != nil {
				t.Fatalf("act: %v", err)
			}
			c.want.Role = abi.RoleAssistant
			if !reflect.DeepEqual(m, c.want) {
				t.Fatalf("action\n%+v\nwant\n%+v", m, c.want)
			}
		})
	}
}

func TestRetries(t *testing.T) {
	good := ok(completion(`{"role":"assistant","content":"done"}`))
	for _, c := range []struct {
		name   string
		script []reply
	}{
		{"500 then success", []reply{{status: 500, body: `{"error":{"message":"engine overloaded"}}`}, good}},
		{"429 with Retry-After", []reply{{status: 429, header: map[string]string{"Retry-After": "1"}, body: "slow down"}, good}},
		{"502 503 504", []reply{{status: 502}, {status: 503}, {status: 504}, good}},
		{"garbage body", []reply{ok("<html>gateway</html>"), good}},
		{"no choices", []reply{ok(`{"choices":[]}`), good}},
		{"connection dropped", []reply{{hangup: true}, good}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newServer(t, c.script...)
			// The cap keeps the Retry-After of one second from slowing the test.
			p := newPolicy(t, s.config().WithBackoff(time.Millisecond, time.Millisecond))
			m, err := act(t, p, trainer.EpisodeInfo{}, nil)
			if err != nil || m.Content != "done" {
				t.Fatalf("act = %+v, %v; want the final answer done", m, err)
			}
			if n := s.count(); n != len(c.script) {
				t.Fatalf("%d requests, want %d", n, len(c.script))
			}
			// A retry asks for the same sample.
			for i := 1; i < s.count(); i++ {
				if !reflect.DeepEqual(s.request(i), s.request(0)) {
					t.Fatalf("retry %d differs from the first request", i)
				}
			}
		})
	}
}

func TestFailures(t *testing.T) {
	for _, c := range []struct {
		name     string
		rep      reply
		requests int // with 2 retries
		want     error
		status   int
		message  string
	}{
		{"5xx every time", reply{status: 500, body: `{"error":{"message":"CUDA out of memory"}}`}, 3, nil, 500, "CUDA out of memory"},
		{"429 every time", reply{status: 429, body: `{"error":"rate limited"}`}, 3, nil, 429, "rate limited"},
		{"garbage every time", ok("not json"), 3, ErrBadResponse, 0, "invalid character"},
		{"no choices every time", ok(`{"object":"chat.completion"}`), 3, ErrBadResponse, 0, "no choices"},
		{"bad content", ok(completion(`{"content":42}`)), 3, ErrBadResponse, 0, "content"},
		{"400 is not retried", reply{status: 400, body: `{"error":{"message":"context length exceeded"}}`}, 1, nil, 400, "context length exceeded"},
		{"404 is not retried", reply{status: 404, body: "no such model"}, 1, nil, 404, "no such model"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newServer(t, c.rep)
			_, err := act(t, newPolicy(t, s.config().WithRetries(2)), trainer.EpisodeInfo{}, nil)
			if !errors.Is(err, trainer.ErrPolicy) || !strings.Contains(err.Error(), c.message) {
				t.Fatalf("error %v, want a policy error containing %q", err, c.message)
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("error %v, want %v", err, c.want)
			}
			var se *StatusError
			if c.status != 0 && (!errors.As(err, &se) || se.StatusCode != c.status) {
				t.Fatalf("error %v, want HTTP status %d", err, c.status)
			}
			if n := s.count(); n != c.requests {
				t.Fatalf("%d requests, want %d", n, c.requests)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	// A server that never answers costs one timeout per attempt, then the
	// episode fails.
	s := newServer(t, reply{hang: true})
	p := newPolicy(t, s.config().WithRequestTimeout(20*time.Millisecond).WithRetries(1))
	_, err := act(t, p, trainer.EpisodeInfo{}, nil)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, trainer.ErrPolicy) {
		t.Fatalf("error %v, want a policy error wrapping context.DeadlineExceeded", err)
	}
	if n := s.count(); n != 2 {
		t.Fatalf("%d requests, want 2", n)
	}
}

func TestCanceled(t *testing.T) {
	s := newServer(t, reply{hang: true})
	s.arrived = make(chan struct{}, 1)
	p := newPolicy(t, s.config())
	a, err := p.Start(context.Background(), trainer.EpisodeInfo{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := a.Act(ctx, nil)
		errc <- err
	}()
	<-s.arrived
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if n := s.count(); n != 1 {
		t.Fatalf("%d requests, want 1: a canceled act is not retried", n)
	}
}

func TestCanceledWhileWaitingToRetry(t *testing.T) {
	s := newServer(t, reply{status: 503, body: "busy"})
	s.arrived = make(chan struct{}, 1)
	p := newPolicy(t, s.config().WithBackoff(time.Hour, time.Hour))
	a, err := p.Start(context.Background(), trainer.EpisodeInfo{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := a.Act(ctx, nil)
		errc <- err
	}()
	<-s.arrived
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

func TestMaxRequests(t *testing.T) {
	// Six episodes act at once through a policy capped at two requests. The
	// server holds every request until the end: two arrive, and they hold
	// both slots of the cap, so the other four wait for a slot.
	const episodes, limit = 6, 2
	release := make(chan struct{})
	var inFlight, most atomic.Int32
	s := newServer(t)
	s.arrived = make(chan struct{}, episodes)
	s.answer = func(map[string]any) reply {
		n := inFlight.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		return ok(completion(`{"role":"assistant","content":"ok"}`))
	}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		s.serve(rec, r)
		<-release
		inFlight.Add(-1)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}))
	defer hs.Close()
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	defer unblock() // before hs.Close, which waits for the held handlers
	p := newPolicy(t, NewConfig(hs.URL+"/v1", "test-model").WithAPIKey("").WithMaxRequests(limit))

	var wg sync.WaitGroup
	errs := make(chan error, episodes)
	for i := 0; i < episodes; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, _ := p.Start(context.Background(), trainer.EpisodeInfo{Seed: uint64(i)})
			if _, err := a.Act(context.Background(), nil); err != nil {
				errs <- err
			}
		}()
	}
	for i := 0; i < limit; i++ {
		<-s.arrived
	}
	if len(p.sem) != limit || cap(p.sem) != limit {
		t.Fatalf("with %d requests held, %d of %d slots taken; want all %d", limit, len(p.sem), cap(p.sem), limit)
	}
	unblock()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := s.count(); n != episodes {
		t.Fatalf("%d requests, want %d", n, episodes)
	}
	if m := most.Load(); m > limit {
		t.Fatalf("%d requests in flight at once, over the cap %d", m, limit)
	}
}

func TestSeeds(t *testing.T) {
	// Reproducible: the same episode and turn ask for the same seed.
	// Varied: turns, seeds and episode indexes (the members of a group share
	// a seed) do not share sampling seeds.
	seen := map[int64]string{}
	for seed := uint64(0); seed < 10; seed++ {
		for index := 0; index < 10; index++ {
			for turn := 0; turn < 20; turn++ {
				s := seedFor(seed, index, turn)
				where := fmt.Sprintf("seed %d episode %d turn %d", seed, index, turn)
				if s != seedFor(seed, index, turn) {
					t.Fatalf("%s: seed not stable", where)
				}
				if s < 0 || s >= 1<<31 {
					t.Fatalf("%s: seed %d out of [0, 2^31)", where, s)
				}
				if prev, dup := seen[s]; dup {
					t.Fatalf("%s: seed %d, as for %s", where, s, prev)
				}
				seen[s] = where
			}
		}
	}

	// The turn is read from the conversation: the seed follows the episode's
	// history, not how many times an agent was asked.
	s := newServer(t, ok(completion(`{"role":"assistant","content":"x"}`)))
	p := newPolicy(t, s.config())
	history := []abi.Message{{Role: abi.RoleUser}, {Role: abi.RoleAssistant, Content: "a"}, {Role: abi.RoleUser}, {Role: abi.RoleAssistant, Content: "b"}}
	for i := 0; i < 2; i++ {
		if _, err := act(t, p, trainer.EpisodeInfo{Seed: 9, Index: 4}, history); err != nil {
			t.Fatal(err)
		}
		if got := s.request(i)["seed"]; got != float64(seedFor(9, 4, 2)) {
			t.Fatalf("seed %v, want seedFor(9, 4, 2) = %d", got, seedFor(9, 4, 2))
		}
	}
}

func TestNewValidates(t *testing.T) {
	base := NewConfig("http://127.0.0.1:1/v1", "m")
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no scheme", NewConfig("localhost:8000", "m"), "base URL"},
		{"ftp", NewConfig("ftp://host/v1", "m"), "base URL"},
		{"no model", NewConfig("http://h/v1", ""), "no model"},
		{"negative temperature", base.WithTemperature(-1), "temperature"},
		{"top_p 0", base.WithTopP(0), "top_p"},
		{"top_p over 1", base.WithTopP(1.5), "top_p"},
		{"negative max tokens", base.WithMaxTokens(-1), "max tokens"},
		{"negative cap", base.WithMaxRequests(-1), "request cap"},
		{"negative retries", base.WithRetries(-1), "retries"},
		{"negative timeout", base.WithRequestTimeout(-time.Second), "timeout"},
		{"negative backoff", base.WithBackoff(-1, 0), "backoff"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New error = %v, want one about %q", err, c.want)
			}
		})
	}
	if _, err := New(base); err != nil {
		t.Fatalf("New(valid config) = %v", err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	for _, c := range []struct {
		h    string
		want time.Duration
	}{
		{"", 0}, {"3", 3 * time.Second}, {"0", 0}, {"-1", 0}, {"soon", 0},
		{time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat), 0},
	} {
		if got := parseRetryAfter(c.h); got != c.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", c.h, got, c.want)
		}
	}
	future := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	if got := parseRetryAfter(future); got <= 0 || got > time.Hour {
		t.Errorf("parseRetryAfter(an hour from now) = %v", got)
	}
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	p := newPolicy(t, NewConfig("http://h/v1", "m").WithBackoff(100*time.Millisecond, time.Second))
	for attempt, lo := range []time.Duration{50, 100, 200, 400, 500, 500} {
		lo *= time.Millisecond
		for i := 0; i < 20; i++ {
			if d := p.wait(attempt, 0); d < lo || d > 2*lo {
				t.Fatalf("wait before retry %d = %v, want in [%v, %v]", attempt+1, d, lo, 2*lo)
			}
		}
	}
	if d := p.wait(0, time.Hour); d != time.Second {
		t.Fatalf("Retry-After of an hour waits %v, want the cap 1s", d)
	}
}

func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{
		completion(`{"role":"assistant","content":"hi"}`),
		completion(`{"tool_calls":[{"function":{"name":"x","arguments":{"a":1}}}]}`),
		completion(`{"content":[{"type":"text","text":"a"}]}`),
		`{"choices":[]}`, `{}`, `null`, `[]`, `{"choices":[{"message":null}]}`, "\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseResponse(data, 3)
		if err != nil {
			if !errors.Is(err, ErrBadResponse) {
				t.Fatalf("error %v does not wrap ErrBadResponse", err)
			}
			return
		}
		if m.Role != abi.RoleAssistant {
			t.Fatalf("role %q", m.Role)
		}
		for _, c := range m.ToolCalls {
			if c.ID == "" || c.Type == "" {
				t.Fatalf("call without id or type: %+v", c)
			}
		}
		// An action must survive the trip to the environment.
		if _, err := json.Marshal(m); err != nil {
			t.Fatalf("action does not encode: %v", err)
		}
	})
}
