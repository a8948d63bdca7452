//go:build unix

package plugins_test

// These tests start real plugin processes: the example Go plugin, built once
// per test binary, and this test binary itself in the role of a host that
// gets killed.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/terrarium-rl/terrarium/internal/testenv/echotest"
	"github.com/terrarium-rl/terrarium/plugins"
	trt "github.com/terrarium-rl/terrarium/runtime"
	"github.com/terrarium-rl/terrarium/trainer"
)

// hostEnv, when set in the environment, makes this test binary act as a
// plugin host instead of running tests: it starts the plugin at the path
// the variable names, prints the plugin's PID and waits to be killed.
const hostEnv = "TERRARIUM_PLUGINS_TEST_HOST"

var binDir string

func TestMain(m *testing.M) {
	if path := os.Getenv(hostEnv); path != "" {
		c, err := plugins.Start(context.Background(), plugins.Config{Path: path})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(c.PID())
		select {}
	}
	dir, err := os.MkdirTemp("", "terrarium-plugins-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var example struct {
	once sync.Once
	path string
	err  error
}

// examplePlugin builds plugins/examples/policy-go once per test binary.
func examplePlugin(t *testing.T) string {
	t.Helper()
	example.once.Do(func() {
		example.path = filepath.Join(binDir, "policy-go")
		cmd := exec.Command("go", "build", "-o", example.path, "./examples/policy-go")
		out, err := cmd.CombinedOutput()
		if err != nil {
			example.err = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if example.err != nil {
		t.Fatalf("build example plugin: %v", example.err)
	}
	return example.path
}

// loadEcho returns the runtime's test env, shared by the test binary.
func loadEcho(t *testing.T) *trt.Env { return echotest.Load(t) }

// syncBuffer collects a plugin's log, written from go-plugin's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func start(t *testing.T, cfg plugins.Config) *plugins.Client {
	t.Helper()
	c, err := plugins.Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func batcher(t *testing.T, c *plugins.Client) *plugins.Batcher {
	t.Helper()
	p, err := c.Policy()
	if err != nil {
		t.Fatalf("dispense policy: %v", err)
	}
	b, err := plugins.NewBatcher(context.Background(), p, plugins.BatchConfig{})
	if err != nil {
		t.Fatalf("new batcher: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func rollout(t *testing.T, pol trainer.Policy, episodes, conc int) ([]*trainer.Trajectory, trainer.Summary) {
	t.Helper()
	var recs []*trainer.Trajectory
	sum, err := trainer.Rollout(context.Background(), loadEcho(t), pol, trainer.Options{Episodes: episodes, Seed: 1, Concurrency: conc},
		func(tr *trainer.Trajectory) error { recs = append(recs, tr); return nil })
	if err != nil {
		t.Fatalf("rollout: %v", err)
	}
	return recs, sum
}

func TestRolloutThroughPluginProcess(t *testing.T) {
	var log syncBuffer
	c := start(t, plugins.Config{Path: examplePlugin(t), Log: &log})
	pol := batcher(t, c)
	if pol.Name() != "plugin:first-tool" {
		t.Fatalf("policy name %q, want plugin:first-tool", pol.Name())
	}
	recs, sum := rollout(t, pol, 16, 4)
	if sum.Episodes != 16 || sum.MeanReward != 1 || sum.Faults != 0 {
		t.Fatalf("summary %+v, want 16 episodes, reward 1, no faults", sum)
	}
	if recs[0].Policy != "plugin:first-tool" {
		t.Fatalf("trajectory policy %q", recs[0].Policy)
	}
	c.Close()
	// What the plugin printed reached the host's log.
	if !strings.Contains(log.String(), "policy-go: ready") {
		t.Fatalf("plugin log not captured; got:\n%s", log.String())
	}
	if !c.Exited() {
		t.Fatal("plugin process still running after Close")
	}
}

func TestPluginKilledMidRun(t *testing.T) {
	var log syncBuffer
	c := start(t, plugins.Config{Path: examplePlugin(t), Log: &log})
	pol := batcher(t, c)
	if _, sum := rollout(t, pol, 4, 2); sum.Faults != 0 {
		t.Fatalf("faults before the kill: %+v", sum)
	}
	pid, err := strconv.Atoi(c.PID())
	if err != nil {
		t.Fatalf("plugin pid %q: %v", c.PID(), err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// The host goes on: the episodes that needed the plugin fault with a
	// reason, and the rollout itself succeeds.
	recs, sum := rollout(t, pol, 4, 2)
	if sum.Faults != 4 {
		t.Fatalf("summary %+v, want every episode faulted", sum)
	}
	for _, r := range recs {
		f := r.Termination.Fault
		if f == nil || f.Kind != "policy" || !strings.Contains(f.Message, "plugin unavailable") {
			t.Fatalf("episode %d termination %+v, want a policy fault saying the plugin is unavailable", r.Episode, r.Termination)
		}
	}
	// go-plugin learns of the exit from a goroutine waiting on the
	// process, which may not have run yet: give it a bounded while.
	for deadline := time.Now().Add(10 * time.Second); !c.Exited(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("client does not know the plugin exited")
		}
	}
}

func TestPluginChecksum(t *testing.T) {
	path := examplePlugin(t)
	bin, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(bin)
	start(t, plugins.Config{Path: path, SHA256: sum[:]})

	sum[0] ^= 1
	_, err = plugins.Start(context.Background(), plugins.Config{Path: path, SHA256: sum[:]})
	if !errors.Is(err, plugins.ErrChecksum) {
		t.Fatalf("start with a wrong checksum: %v, want ErrChecksum", err)
	}
}

func TestStartFailures(t *testing.T) {
	dir := t.TempDir()
	script := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "nope"), "no such file"},
		{"not a plugin", script("chatty", "echo hello; exec sleep 60"), "Unrecognized remote plugin message"},
		{"exits", script("quits", "exit 3"), "Failed to read any lines"},
		{"nothing behind the handshake", script("liar", "echo '1|1|tcp|127.0.0.1:1|grpc'; exec sleep 60"), "health check"},
		{"wrong protocol version", script("v9", "echo '1|9|tcp|127.0.0.1:1|grpc'; exec sleep 60"), "incompatible API version"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := plugins.Start(context.Background(), plugins.Config{Path: c.path})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("start error = %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestStartCanceled(t *testing.T) {
	// A plugin that never completes its handshake is abandoned as soon as
	// the context ends, not when go-plugin's own timeout passes.
	p := filepath.Join(t.TempDir(), "silent")
	if err := os.WriteFile(p, []byte("#!/bin/sh\nexec sleep 600\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := plugins.Start(ctx, plugins.Config{Path: p})
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("start error = %v, want context.Canceled", err)
	}
}
