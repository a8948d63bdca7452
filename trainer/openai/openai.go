// Package openai is a trainer.Policy that asks a model served over the
// OpenAI chat-completions API, as vLLM, SGLang, llama.cpp's server, Ollama
// and OpenAI serve it. It speaks the API with net/http and encoding/json
// only.
//
//	pol, err := openai.New(openai.NewConfig("http://localhost:8000/v1", "Qwen/Qwen3-8B").WithTemperature(0.7))
//	if err != nil { ... }
//	sum, err := trainer.Rollout(ctx, env, pol, opts, emit)
//
// Each turn POSTs {base}/chat/completions with the conversation so far
// (abi.Message is the API's message format), the episode's tools with
// tool_choice "auto" and parallel tool calls allowed, the sampling options
// that were set, and a seed (see Reproducibility).
//
// # What the model's answer becomes
//
//   - Tool calls become the action's tool calls, in order. Their arguments
//     are passed on as the model wrote them, even when they are not valid
//     JSON, and so is a call of a tool the episode does not offer: the
//     environment answers both with a tool error that the model sees next
//     turn, which is what training on such mistakes needs. Arguments sent as
//     a JSON object rather than a string (some servers do) are passed on as
//     that object's text; absent arguments as "{}". A call without an ID is
//     given "call_T_I" (turn T, call I), since tool results must name it.
//   - Text without tool calls is the final answer, also when generation was
//     cut by max_tokens.
//   - A 429 or 5xx status, a connection error, a timeout, and a 2xx reply
//     that is not a chat completion with at least one choice (servers under
//     load send such) are retried with exponential backoff, WithRetries
//     times. When the retries are spent, the episode ends with a fault of
//     kind "policy" whose message is the last error.
//   - Any other status (400 for a conversation longer than the context, 404
//     for an unknown model...) faults the episode at once: asking again
//     would get the same answer.
//
// # Reproducibility
//
// Turn T (counted from 0) of episode I with seed S is sampled with seed
// SplitMix64((S ⊕ I·0xD1B54A32D192ED03) + (T+1)·0x9E3779B97F4A7C15) mod 2³¹:
// the same episode asks for the same samples, no two turns share a seed, and
// the episodes of a group (trainer.Options.GroupSize: same seed and task,
// different index) sample differently, as GRPO needs. It is cut to 31 bits
// because llama.cpp reads the seed as a 32-bit number. Whether the answer is
// then the same depends on the server: vLLM is reproducible per request with
// a seed; batching and GPU kernels may still vary it elsewhere.
//
// # Notes
//
//   - A Policy is safe for concurrent use, and its request cap
//     (WithMaxRequests) is shared by all the episodes it plays.
//   - The context passed to an agent's Act bounds all of its attempts and
//     waits; each attempt is also bounded by WithRequestTimeout.
package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/terrarium-rl/terrarium/abi"
	"github.com/terrarium-rl/terrarium/trainer"
)

// Errors of the policy, for errors.Is. Every error an agent returns also
// wraps trainer.ErrPolicy.
var (
	// ErrBadResponse: the server answered with a success status but not
	// with a usable chat completion (not JSON, or no choices).
	ErrBadResponse = errors.New("unusable chat completion")
)

// StatusError is an HTTP error status from the server.
type StatusError struct {
	StatusCode int
	// Message is the server's error message (error.message of an OpenAI
	// error body), or the start of the body.
	Message string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("HTTP %d %s: %s", e.StatusCode, http.StatusText(e.StatusCode), e.Message)
}

// maxBody bounds a reply read into memory: a chat completion is a few
// kilobytes, and a misbehaving server must not exhaust the host.
const maxBody = 32 << 20

// Policy asks a chat-completions server for each action. Make one with New.
type Policy struct {
	cfg      Config
	endpoint string
	apiKey   string
	retries  int
	sem      chan struct{}
	client   *http.Client
}

// New validates cfg and returns the Policy.
func New(cfg Config) (*Policy, error) {
	fail := func(format string, args ...any) (*Policy, error) {
		return nil, fmt.Errorf("openai policy: "+format, args...)
	}
	u, err := url.Parse(cfg.baseURL)
	if err != nil {
		return fail("base URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fail("base URL %q: want http://HOST[:PORT]/PATH or https://...", cfg.baseURL)
	}
	switch {
	case cfg.model == "":
		return fail("no model named")
	case cfg.temperature != nil && (*cfg.temperature < 0 || *cfg.temperature != *cfg.temperature):
		return fail("temperature %v is not a number from 0 up", *cfg.temperature)
	case cfg.topP != nil && !(*cfg.topP > 0 && *cfg.topP <= 1):
		return fail("top_p %v is not in (0,1]", *cfg.topP)
	case cfg.maxTokens < 0:
		return fail("max tokens %d is negative", cfg.maxTokens)
	case cfg.maxRequests < 0:
		return fail("request cap %d is negative", cfg.maxRequests)
	case cfg.timeout < 0:
		return fail("request timeout %v is negative", cfg.timeout)
	case cfg.retries != nil && *cfg.retries < 0:
		return fail("retries %d is negative", *cfg.retries)
	case cfg.backoff < 0 || cfg.maxBackoff < 0:
		return fail("backoff is negative")
	}
	if cfg.maxRequests == 0 {
		cfg.maxRequests = DefaultMaxRequests
	}
	if cfg.timeout == 0 {
		cfg.timeout = DefaultRequestTimeout
	}
	if cfg.backoff == 0 {
		cfg.backoff = DefaultBackoff
	}
	if cfg.maxBackoff == 0 {
		cfg.maxBackoff = max(DefaultMaxBackoff, cfg.backoff)
	}
	p := &Policy{
		cfg:      cfg,
		endpoint: strings.TrimRight(cfg.baseURL, "/") + "/chat/completions",
		retries:  DefaultRetries,
		sem:      make(chan struct{}, cfg.maxRequests),
		client:   cfg.client,
	}
	if cfg.retries != nil {
		p.retries = *cfg.retries
	}
	if cfg.apiKey != nil {
		p.apiKey = *cfg.apiKey
	} else {
		p.apiKey = os.Getenv(APIKeyEnv)
	}
	if p.client == nil {
		// The default transport keeps 2 idle connections per host: with more
		// requests in flight, each would dial anew.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = cfg.maxRequests
		p.client = &http.Client{Transport: t}
	}
	return p, nil
}

// Name is "openai:MODEL".
func (p *Policy) Name() string { return "openai:" + p.cfg.model }

// Start returns the agent of one episode.
func (p *Policy) Start(_ context.Context, ep trainer.EpisodeInfo) (trainer.Agent, error) {
	tools := make([]abi.Tool, len(ep.Tools))
	for i, t := range ep.Tools {
		if t.Type == "" {
			t.Type = "function"
		}
		// OpenAI rejects a null schema; a tool without one takes no arguments.
		if len(t.Function.Parameters) == 0 {
			t.Function.Parameters = abi.RawJSON(`{"type":"object","properties":{}}`)
		}
		tools[i] = t
	}
	return trainer.AgentFunc(func(ctx context.Context, msgs []abi.Message) (abi.Message, error) {
		m, err := p.act(ctx, ep, tools, msgs)
		if err != nil {
			return abi.Message{}, fmt.Errorf("%w: %s: %w", trainer.ErrPolicy, p.Name(), err)
		}
		return m, nil
	}), nil
}

// seedFor returns the sampling seed of turn turn (from 0) of episode index
// with seed episodeSeed; see Reproducibility in the package documentation.
func seedFor(episodeSeed uint64, index, turn int) int64 {
	z := (episodeSeed ^ uint64(index)*0xd1b54a32d192ed03) + uint64(turn+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return int64(z & 0x7fffffff)
}

// chatRequest is the body of POST /chat/completions.
type chatRequest struct {
	Model             string        `json:"model"`
	Messages          []wireMessage `json:"messages"`
	Tools             []abi.Tool    `json:"tools,omitempty"`
	ToolChoice        string        `json:"tool_choice,omitempty"`
	ParallelToolCalls *bool         `json:"parallel_tool_calls,omitempty"`
	Temperature       *float64      `json:"temperature,omitempty"`
	TopP              *float64      `json:"top_p,omitempty"`
	MaxTokens         int           `json:"max_tokens,omitempty"`
	Seed              int64         `json:"seed"`
}

// wireMessage is abi.Message as the API wants it: an assistant message
// that only calls tools has null content, which some chat templates require.
type wireMessage struct {
	Role       string         `json:"role"`
	Content    *string        `json:"content"`
	Name       string         `json:"name,omitempty"`
	ToolCalls  []abi.ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string         `json:"tool_call_id,omitempty"`
}

func (p *Policy) act(ctx context.Context, ep trainer.EpisodeInfo, tools []abi.Tool, msgs []abi.Message) (abi.Message, error) {
	// The turn is counted from the conversation rather than kept in the
	// agent, so that the seed depends on nothing but the episode's history.
	turn := 0
	for _, m := range msgs {
		if m.Role == abi.RoleAssistant {
			turn++
		}
	}
	req := chatRequest{Model: p.cfg.model, Messages: make([]wireMessage, len(msgs)),
		Temperature: p.cfg.temperature, TopP: p.cfg.topP, MaxTokens: p.cfg.maxTokens, Seed: seedFor(ep.Seed, ep.Index, turn)}
	for i, m := range msgs {
		w := wireMessage{Role: m.Role, Name: m.Name, ToolCalls: m.ToolCalls, ToolCallID: m.ToolCallID}
		if m.Content != "" || len(m.ToolCalls) == 0 {
			w.Content = &msgs[i].Content
		}
		req.Messages[i] = w
	}
	if len(tools) > 0 {
		parallel := !p.cfg.noParallel
		req.Tools, req.ToolChoice, req.ParallelToolCalls = tools, "auto", &parallel
	}
	body, err := json.Marshal(req)
	if err != nil {
		return abi.Message{}, fmt.Errorf("encode request: %w", err)
	}

	for attempt := 0; ; attempt++ {
		m, retryAfter, err := p.attempt(ctx, body, turn)
		if err == nil {
			return m, nil
		}
		if retryAfter < 0 || attempt >= p.retries || ctx.Err() != nil {
			if attempt > 0 {
				err = fmt.Errorf("after %d attempts: %w", attempt+1, err)
			}
			return abi.Message{}, err
		}
		if !sleep(ctx, p.wait(attempt, retryAfter)) {
			return abi.Message{}, fmt.Errorf("waiting to retry: %w; last attempt: %w", ctx.Err(), err)
		}
	}
}

// wait is how long to wait before retry attempt+1: the server's
// Retry-After when it sent one, else exponential backoff with jitter, both
// capped.
func (p *Policy) wait(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, p.cfg.maxBackoff)
	}
	d := p.cfg.backoff
	for i := 0; i < attempt && d < p.cfg.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, p.cfg.maxBackoff)
	// Half fixed, half random: episodes that failed together spread out.
	return d/2 + rand.N(d/2+1)
}

// sleep waits d and reports whether it did, or false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// attempt makes one request. retryAfter is negative when the error is not
// worth retrying, positive when the server said how long to wait.
func (p *Policy) attempt(ctx context.Context, body []byte, turn int) (m abi.Message, retryAfter time.Duration, err error) {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return abi.Message{}, -1, fmt.Errorf("waiting for a request slot: %w", ctx.Err())
	}
	defer func() { <-p.sem }()

	rctx, cancel := context.WithTimeout(ctx, p.cfg.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, p.endpoint, bytes.NewReader(body))
	if err != nil {
		return abi.Message{}, -1, fmt.Errorf("POST %s: %w", p.endpoint, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if p.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+p.apiKey)
	}
	resp, err := p.client.Do(req)
	var data []byte
	if err == nil {
		data, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
	}
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return abi.Message{}, -1, fmt.Errorf("POST %s: %w", p.endpoint, ctx.Err())
		case rctx.Err() != nil:
			return abi.Message{}, 0, fmt.Errorf("POST %s: no complete reply within %v: %w", p.endpoint, p.cfg.timeout, rctx.Err())
		}
		return abi.Message{}, 0, fmt.Errorf("POST %s: %w", p.endpoint, err)
	}
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		m, err := parseResponse(data, turn)
		if err != nil {
			return abi.Message{}, 0, err
		}
		return m, 0, nil
	case code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500:
		return abi.Message{}, parseRetryAfter(resp.Header.Get("Retry-After")), statusError(code, data)
	default:
		return abi.Message{}, -1, statusError(code, data)
	}
}

func statusError(code int, body []byte) *StatusError {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	msg := ""
	if json.Unmarshal(body, &e) == nil && len(e.Error) > 0 {
		// OpenAI and vLLM send {"error":{"message":...}}; some servers
		// {"error":"..."}.
		var obj struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(e.Error, &obj) == nil && obj.Message != "" {
			msg = obj.Message
		} else if json.Unmarshal(e.Error, &msg) != nil {
			msg = ""
		}
	}
	if msg == "" {
		msg = strings.TrimSpace(string(body))
	}
	if len(msg) > 500 {
		msg = msg[:500] + "..."
	}
	return &StatusError{StatusCode: code, Message: msg}
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date.
func parseRetryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(h); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// chatResponse is the part of a chat completion the policy reads.
type chatResponse struct {
	Choices []struct {
		Message struct {
			Content   json.RawMessage `json:"content"`
			ToolCalls []struct {
				ID       string `json:"id"`
				Type     string `json:"type"`
				Function struct {
					Name      string          `json:"name"`
					Arguments json.RawMessage `json:"arguments"`
				} `json:"function"`
			} `json:"tool_calls"`
		} `json:"message"`
	} `json:"choices"`
}

// parseResponse turns a chat completion into an action; see the package
// documentation for what becomes what. turn names generated call IDs.
func parseResponse(data []byte, turn int) (abi.Message, error) {
	var r chatResponse
	if err := json.Unmarshal(data, &r); err != nil {
		return abi.Message{}, fmt.Errorf("%w: %w", ErrBadResponse, err)
	}
	if len(r.Choices) == 0 {
		return abi.Message{}, fmt.Errorf("%w: no choices in %s", ErrBadResponse, excerpt(data))
	}
	c := r.Choices[0].Message
	content, err := contentText(c.Content)
	if err != nil {
		return abi.Message{}, fmt.Errorf("%w: content: %w", ErrBadResponse, err)
	}
	m := abi.Message{Role: abi.RoleAssistant, Content: content}
	for i, tc := range c.ToolCalls {
		call := abi.ToolCall{ID: tc.ID, Type: tc.Type, Function: abi.FunctionCall{Name: tc.Function.Name, Arguments: argumentsText(tc.Function.Arguments)}}
		if call.ID == "" {
			call.ID = fmt.Sprintf("call_%d_%d", turn, i)
		}
		if call.Type == "" {
			call.Type = "function"
		}
		m.ToolCalls = append(m.ToolCalls, call)
	}
	return m, nil
}

// contentText reads a message's content: a string, null, or (from some
// servers) a list of parts whose text parts are joined.
func contentText(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", fmt.Errorf("neither text nor a list of parts: %s", excerpt(raw))
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" || p.Type == "" {
			b.WriteString(p.Text)
		}
	}
	return b.String(), nil
}

// argumentsText returns a tool call's arguments as the text the
// environment expects: a JSON string as its contents, anything else (an
// object some servers send) as its JSON text, nothing as "{}".
func argumentsText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return "{}"
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

func excerpt(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return strconv.Quote(s)
}
