package openai

import (
	"net/http"
	"time"
)

// Defaults of Config, used when a setting is not given.
const (
	// DefaultMaxRequests caps requests in flight across all episodes.
	DefaultMaxRequests = 16
	// DefaultRequestTimeout bounds one request, generation included:
	// reasoning models can think for minutes.
	DefaultRequestTimeout = 5 * time.Minute
	// DefaultRetries is how many times a failed request is retried.
	DefaultRetries = 5
	// DefaultBackoff is the wait before the first retry; it doubles with
	// each retry up to DefaultMaxBackoff.
	DefaultBackoff    = 500 * time.Millisecond
	DefaultMaxBackoff = 30 * time.Second
)

// APIKeyEnv is the environment variable the API key is read from when
// Config.WithAPIKey is not used.
const APIKeyEnv = "OPENAI_API_KEY"

// Config configures a Policy. It is immutable: each With method returns a
// changed copy. Setters never fail; New validates.
type Config struct {
	baseURL, model string
	apiKey         *string
	temperature    *float64
	topP           *float64
	maxTokens      int
	noParallel     bool
	maxRequests    int
	timeout        time.Duration
	retries        *int
	backoff        time.Duration
	maxBackoff     time.Duration
	client         *http.Client
}

// NewConfig returns the configuration of a policy that asks model at
// baseURL, the API root that chat/completions is under (for vLLM and
// SGLang, "http://HOST:PORT/v1"; for Ollama, "http://localhost:11434/v1").
func NewConfig(baseURL, model string) Config { return Config{baseURL: baseURL, model: model} }

// WithAPIKey sets the bearer token sent with each request. By default it is
// the value of $OPENAI_API_KEY when New runs, and none is sent when that is
// empty (local servers need none).
func (c Config) WithAPIKey(key string) Config { c.apiKey = &key; return c }

// WithTemperature sets the sampling temperature. By default the server's
// default applies.
func (c Config) WithTemperature(t float64) Config { c.temperature = &t; return c }

// WithTopP sets nucleus sampling's probability mass, in (0,1]. By default
// the server's default applies.
func (c Config) WithTopP(p float64) Config { c.topP = &p; return c }

// WithMaxTokens caps the tokens generated per turn (max_tokens). By default
// (0) the server's limit applies.
func (c Config) WithMaxTokens(n int) Config { c.maxTokens = n; return c }

// WithParallelToolCalls says whether the model may call several tools in
// one turn (parallel_tool_calls). Default true: episodes are shorter.
func (c Config) WithParallelToolCalls(on bool) Config { c.noParallel = !on; return c }

// WithMaxRequests caps the requests in flight at once, across all episodes
// of all rollouts using the Policy. Default DefaultMaxRequests.
func (c Config) WithMaxRequests(n int) Config { c.maxRequests = n; return c }

// WithRequestTimeout bounds each request, from sending to the end of the
// reply. A request that times out is retried. Default
// DefaultRequestTimeout.
func (c Config) WithRequestTimeout(d time.Duration) Config { c.timeout = d; return c }

// WithRetries sets how many times a request is retried after a 429, a 5xx,
// a connection error, a timeout or an unusable reply. Default
// DefaultRetries; 0 never retries.
func (c Config) WithRetries(n int) Config { c.retries = &n; return c }

// WithBackoff sets the wait before the first retry and its cap; the wait
// doubles with each retry, with random jitter so that many episodes do not
// retry in step. A Retry-After header from the server takes precedence, up
// to the cap. Default DefaultBackoff and DefaultMaxBackoff.
func (c Config) WithBackoff(first, max time.Duration) Config {
	c.backoff, c.maxBackoff = first, max
	return c
}

// WithHTTPClient sets the HTTP client, for proxies or TLS settings. By
// default a client is made whose connection pool fits the request cap.
func (c Config) WithHTTPClient(h *http.Client) Config { c.client = h; return c }
