package plugins_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPluginDiesWithHost kills a host with SIGKILL, which runs no cleanup,
// and checks that its plugin goes too.
func TestPluginDiesWithHost(t *testing.T) {
	t.Run("go", func(t *testing.T) { testDiesWithHost(t, examplePlugin(t)) })
	t.Run("python", func(t *testing.T) {
		requirePython(t)
		testDiesWithHost(t, pythonPlugin)
	})
}

func testDiesWithHost(t *testing.T, plugin string) {
	host := exec.Command(os.Args[0], "-test.run=^$")
	host.Env = append(os.Environ(), hostEnv+"="+plugin)
	host.Stderr = os.Stderr
	out, err := host.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		host.Process.Kill()
		host.Wait()
		t.Fatalf("read plugin pid from host: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("host printed %q, not a pid", line)
	}
	// The check below could pass on a pid that was never alive.
	if !alive(pid) {
		t.Fatalf("plugin %d not running before the host was killed", pid)
	}
	if err := host.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	host.Wait()
	go io.Copy(io.Discard, out)

	// Death is asynchronous: poll, within a bound generous enough for a
	// loaded machine.
	deadline := time.Now().Add(30 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("plugin %d still running 30s after its host was killed", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// alive reports whether pid is a running process: a zombie, dead but not yet
// reaped by whoever inherited it, is not.
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesized command name.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || (s[i+2] != 'Z' && s[i+2] != 'X')
}
