//go:build unix

package plugins_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/terrarium-rl/terrarium/plugins"
)

// pythonPlugin is the example Python plugin. Its #! line names Debian's
// interpreter, for which python3-grpcio and python3-protobuf install.
const pythonPlugin = "examples/policy-python/plugin.py"

// requirePython fails (not skips) the test when Debian's Python lacks gRPC:
// CI must install it, and a skipped test would hide that it did not.
func requirePython(t *testing.T) {
	t.Helper()
	out, err := exec.Command("/usr/bin/python3", "-c", "import grpc, google.protobuf").CombinedOutput()
	if err != nil {
		t.Fatalf("the Python plugin needs Debian's python3-grpcio and python3-protobuf "+
			"(apt-get install python3-grpcio python3-protobuf): %v\n%s", err, out)
	}
}

func TestPythonPlugin(t *testing.T) {
	requirePython(t)
	var log syncBuffer
	c := start(t, plugins.Config{Path: pythonPlugin, Log: &log})
	if err := c.Ping(); err != nil {
		t.Fatalf("health check: %v", err)
	}
	pol := batcher(t, c)
	if pol.Name() != "plugin:first-tool-python" {
		t.Fatalf("policy name %q, want plugin:first-tool-python", pol.Name())
	}
	recs, sum := rollout(t, pol, 16, 4)
	if sum.Episodes != 16 || sum.MeanReward != 1 || sum.Faults != 0 {
		t.Fatalf("summary %+v, want 16 episodes, reward 1, no faults; first termination %+v", sum, recs[0].Termination)
	}
	pol.Close()
	c.Close()
	if !c.Exited() {
		t.Fatal("plugin process still running after Close")
	}
	// What the plugin printed reached the host's log, including that it
	// stopped by itself when asked (a killed plugin prints nothing).
	for _, want := range []string{"policy-python: ready", "policy-python: stopped"} {
		if !strings.Contains(log.String(), want) {
			t.Fatalf("plugin log has no %q; got:\n%s", want, log.String())
		}
	}
}

// The Go and the Python plugin play the same heuristic: given the same
// episodes, they must choose the same actions, which checks the Python
// side of the contract field by field against the Go one.
func TestPythonPluginMatchesGo(t *testing.T) {
	requirePython(t)
	py, _ := rollout(t, batcher(t, start(t, plugins.Config{Path: pythonPlugin})), 8, 2)
	gp, _ := rollout(t, batcher(t, start(t, plugins.Config{Path: examplePlugin(t)})), 8, 2)
	for i := range py {
		py[i].Policy, gp[i].Policy = "", ""
		py[i].Digest, gp[i].Digest = py[i].ComputeDigest(), gp[i].ComputeDigest()
		if py[i].Digest != gp[i].Digest {
			t.Fatalf("episode %d differs between the Python and the Go plugin:\n%+v\n%+v", i, py[i].Messages, gp[i].Messages)
		}
	}
}
