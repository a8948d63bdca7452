package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"github.com/terrarium-rl/terrarium/plugins"
	"github.com/terrarium-rl/terrarium/trainer"
	"github.com/terrarium-rl/terrarium/trainer/openai"
)

// remoteFlags configure the policies that live outside the process: a model
// behind an OpenAI-compatible server (openai:URL) and policy plugins
// (plugin:PATH).
type remoteFlags struct {
	model          string
	temperature    optFloat
	topP           optFloat
	maxTokens      int
	maxRequests    int
	requestTimeout time.Duration
	retries        int
	pluginSHA256   string
}

func (r *remoteFlags) register(fs *pflag.FlagSet) {
	// fs.Var keeps a value's state, so an earlier Main's must go.
	r.temperature, r.topP = optFloat{}, optFloat{}
	fs.StringVar(&r.model, "model", "", "model to ask (openai: policies)")
	fs.Var(&r.temperature, "temperature", "sampling temperature (openai:; default: the server's)")
	fs.Var(&r.topP, "top-p", "nucleus sampling mass in (0,1] (openai:; default: the server's)")
	fs.IntVar(&r.maxTokens, "max-tokens", 0, "tokens generated per turn at most (openai:; default: the server's)")
	fs.IntVar(&r.maxRequests, "max-requests", 0, "requests in flight at most (openai:; default: --concurrency)")
	fs.DurationVar(&r.requestTimeout, "request-timeout", openai.DefaultRequestTimeout, "time limit of one request (openai:)")
	fs.IntVar(&r.retries, "retries", openai.DefaultRetries, "retries of a request after 429, 5xx or a timeout (openai:)")
	fs.StringVar(&r.pluginSHA256, "plugin-sha256", "", "expected SHA-256 of the plugin executable, in hex (plugin:)")
}

// openaiPolicy makes the policy of --policy openai:URL.
func (r *remoteFlags) openaiPolicy(baseURL string, concurrency int) (trainer.Policy, error) {
	if r.model == "" {
		return nil, errors.New("--policy openai:URL needs --model")
	}
	cfg := openai.NewConfig(baseURL, r.model).WithMaxTokens(r.maxTokens).
		WithRequestTimeout(r.requestTimeout).WithRetries(r.retries).WithMaxRequests(r.maxRequests)
	if r.maxRequests == 0 {
		cfg = cfg.WithMaxRequests(concurrency)
	}
	if r.temperature.set {
		cfg = cfg.WithTemperature(r.temperature.v)
	}
	if r.topP.set {
		cfg = cfg.WithTopP(r.topP.v)
	}
	return openai.New(cfg)
}

// pluginPolicy starts the plugin of --policy plugin:PATH. Its output goes to
// log. The policy it returns must be closed, which stops the plugin.
func (r *remoteFlags) pluginPolicy(ctx context.Context, path string, log io.Writer) (trainer.Policy, error) {
	cfg := plugins.Config{Path: path, Log: log}
	if r.pluginSHA256 != "" {
		sum, err := hex.DecodeString(r.pluginSHA256)
		if err != nil || len(sum) != 32 {
			return nil, fmt.Errorf("--plugin-sha256 %q is not a hex SHA-256", r.pluginSHA256)
		}
		cfg.SHA256 = sum
	}
	c, err := plugins.Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	p, err := c.Policy()
	if err != nil {
		c.Close()
		return nil, err
	}
	b, err := plugins.NewBatcher(ctx, p, plugins.BatchConfig{})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("plugin %s: %w", path, err)
	}
	return &pluginPolicy{b, c}, nil
}

// pluginPolicy is a Batcher that also stops its plugin when closed.
type pluginPolicy struct {
	*plugins.Batcher
	client *plugins.Client
}

func (p *pluginPolicy) Close() error {
	p.Batcher.Close()
	return p.client.Close()
}

// optFloat is a float flag that knows whether it was given, so that an
// unset sampling option is left to the server rather than sent as 0.
type optFloat struct {
	v   float64
	set bool
}

func (f *optFloat) String() string {
	if !f.set {
		return ""
	}
	return strconv.FormatFloat(f.v, 'g', -1, 64)
}

func (f *optFloat) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return err
	}
	f.v, f.set = v, true
	return nil
}

func (f *optFloat) Type() string { return "float" }
