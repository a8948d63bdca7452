package plugins

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
)

// DefaultStartTimeout bounds a plugin's start when the context has no
// earlier deadline. Python plugins that import gRPC take about a second.
const DefaultStartTimeout = time.Minute

// Config says how to start a plugin process.
type Config struct {
	// Path is the plugin executable (a binary, or a script with a #! line).
	Path string
	// Args are its arguments.
	Args []string
	// SHA256, when set, is the executable's expected SHA-256: a plugin whose
	// file differs is not started (ErrChecksum). Set it when the executable
	// comes from somewhere less trusted than the host.
	SHA256 []byte
	// Log receives what the plugin writes to stdout and stderr, and the
	// host's reports about the plugin's process; nil discards them. Writes
	// to it are serialized.
	Log io.Writer
}

// Client is a running plugin process.
//
// # Notes
//
//   - Close it: it stops the process (after giving it a moment to exit
//     cleanly). If the host dies first, the process dies with it on Linux.
//   - A Client is safe for concurrent use.
type Client struct {
	name string
	pc   *plugin.Client
	rpc  plugin.ClientProtocol
	once sync.Once
	// abandon releases the process's kill context once it is stopped.
	abandon context.CancelFunc
}

// Start starts the plugin at cfg.Path, checks its handshake and connects to
// it. ctx bounds the start only (DefaultStartTimeout when it has no
// deadline); the process runs until Close.
func Start(ctx context.Context, cfg Config) (*Client, error) {
	name := filepath.Base(cfg.Path)
	fail := func(err error) (*Client, error) { return nil, fmt.Errorf("start plugin %s: %w", cfg.Path, err) }
	if cfg.Path == "" {
		return fail(errors.New("no executable path"))
	}
	timeout := DefaultStartTimeout
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	var log io.Writer = io.Discard
	if cfg.Log != nil {
		// go-plugin writes from several goroutines (stderr reader, stdio
		// stream, logger); Log need not be safe for that.
		log = &lockedWriter{w: cfg.Log}
	}
	// abandon kills a process whose start is given up: go-plugin's own
	// Kill would wait for the start to time out first.
	killCtx, abandon := context.WithCancel(context.Background())
	cmd := exec.CommandContext(killCtx, cfg.Path, cfg.Args...)
	// exec.Command leaves Err set when the path cannot be found or run;
	// go-plugin would report only that the process exited.
	if cmd.Err != nil {
		abandon()
		return fail(cmd.Err)
	}
	setParentDeathSignal(cmd)
	pcfg := &plugin.ClientConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{ProtocolVersion: {policyName: &PolicyPlugin{}, backendName: &BackendPlugin{}}},
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		StartTimeout:     timeout,
		// The plugin's own stderr is its log; what a Go plugin prints to
		// os.Stdout/os.Stderr after serving arrives through go-plugin's
		// stdio stream. Both go to Log.
		Stderr:     log,
		SyncStdout: log,
		SyncStderr: log,
		// go-plugin also parses the plugin's stderr into this logger; at
		// Error level it adds only what Stderr does not show: why the host
		// lost the plugin.
		Logger: hclog.New(&hclog.LoggerOptions{Name: "plugin", Output: log, Level: hclog.Error}),
	}
	if cfg.SHA256 != nil {
		pcfg.SecureConfig = &plugin.SecureConfig{Checksum: cfg.SHA256, Hash: sha256.New()}
	}
	pc := plugin.NewClient(pcfg)

	type result struct {
		rpc plugin.ClientProtocol
		err error
	}
	done := make(chan result, 1)
	go func() {
		rpc, err := pc.Client() // starts the process and connects
		if err == nil {
			// A plugin that cannot answer its health check is better
			// refused now than found broken by the first episode.
			if perr := rpc.Ping(); perr != nil {
				err = fmt.Errorf("health check: %w", fromStatus(perr))
			}
		}
		done <- result{rpc, err}
	}()
	select {
	case <-ctx.Done():
		abandon()
		<-done
		pc.Kill()
		return fail(ctx.Err())
	case r := <-done:
		if r.err != nil {
			// The process first: go-plugin's Kill would give a plugin that
			// failed its start two seconds to exit by itself.
			abandon()
			pc.Kill()
			if errors.Is(r.err, plugin.ErrChecksumsDoNotMatch) {
				return fail(ErrChecksum)
			}
			return fail(r.err)
		}
		return &Client{name: name, pc: pc, rpc: r.rpc, abandon: abandon}, nil
	}
}

// Name is the executable's base name, for messages.
func (c *Client) Name() string { return c.name }

// PID is the plugin's process ID.
func (c *Client) PID() string { return c.pc.ID() }

// Exited reports whether the plugin process has exited.
func (c *Client) Exited() bool { return c.pc.Exited() }

// Ping checks that the plugin answers its gRPC health service.
func (c *Client) Ping() error {
	if err := c.rpc.Ping(); err != nil {
		return fmt.Errorf("plugin %s: %w", c.name, fromStatus(err))
	}
	return nil
}

// Policy returns the plugin's Policy. It fails with ErrProtocol when the
// plugin serves no policy.
func (c *Client) Policy() (Policy, error) {
	raw, err := c.rpc.Dispense(policyName)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w: %w", c.name, ErrProtocol, err)
	}
	p, ok := raw.(*policyClient)
	if !ok {
		return nil, fmt.Errorf("plugin %s: %w: dispensed %T", c.name, ErrProtocol, raw)
	}
	p.exited = c.pc.Exited
	return p, nil
}

// Close stops the plugin: it asks it to exit, waits a moment, then kills it.
// Calls in flight fail with ErrUnavailable. Close is idempotent.
func (c *Client) Close() error {
	c.once.Do(func() {
		c.pc.Kill()
		c.abandon()
	})
	return nil
}

// lockedWriter serializes writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
