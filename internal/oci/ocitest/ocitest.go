// Package ocitest starts a real OCI registry for tests: Debian's
// docker-registry (CNCF Distribution) on a loopback port, with its storage
// in a test's temporary directory.
package ocitest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Binary is where Debian's docker-registry package installs the registry.
const Binary = "/usr/bin/docker-registry"

// readyWait bounds how long the registry may take to answer; it is a
// setup deadline, not a measurement.
const readyWait = 30 * time.Second

// Registry is a running registry.
type Registry struct {
	// Host is "127.0.0.1:PORT".
	Host string
	// Dir is the registry's storage directory.
	Dir string
	log *syncBuffer
}

// Start starts a registry for the test and stops it at cleanup. It fails
// the test, saying what to install, when the registry binary is missing:
// the registry tests are part of the suite, not optional.
func Start(t testing.TB) *Registry {
	t.Helper()
	bin := Binary
	if p := os.Getenv("TERRARIUM_TEST_REGISTRY"); p != "" {
		bin = p
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("OCI registry tests need %s: install the Debian package docker-registry (apt-get install -y docker-registry): %v", bin, err)
	}
	for attempt := 0; ; attempt++ {
		r, err := start(t, bin)
		if err == nil {
			return r
		}
		if attempt == 2 {
			t.Fatalf("start %s: %v", bin, err)
		}
	}
}

func start(t testing.TB, bin string) (*Registry, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	host := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	storage := filepath.Join(dir, "storage")
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, storage, host)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "serve", cfgPath)
	log := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		cancel()
		<-exited
	}
	deadline := time.Now().Add(readyWait)
	for {
		resp, err := http.Get("http://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-exited:
			exited <- err
			stop()
			return nil, fmt.Errorf("registry exited: %v\n%s", err, log.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("registry not ready after %s\n%s", readyWait, log.String())
		}
	}
	t.Cleanup(stop)
	return &Registry{Host: host, Dir: storage, log: log}, nil
}

// Log returns what the registry printed.
func (r *Registry) Log() string { return r.log.String() }

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
