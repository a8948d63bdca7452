package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/terrarium-rl/terrarium/trainer"
)

// mainCall runs Main in-process and returns its exit code and outputs.
func mainCall(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

func parseTrajectories(t *testing.T, out string) []*trainer.Trajectory {
	t.Helper()
	recs, err := trainer.ReadAll(strings.NewReader(out), "stdout")
	if err != nil {
		t.Fatalf("read trajectories: %v\n%s", err, out)
	}
	return recs
}

func TestRunOpenAIPolicy(t *testing.T) {
	// A scripted model for the echo env: say hello, then answer hello. It
	// also checks that the flags reach the request.
	var mu sync.Mutex
	var seenTemperature []*float64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model       string            `json:"model"`
			Messages    []json.RawMessage `json:"messages"`
			Temperature *float64          `json:"temperature"`
			MaxTokens   int               `json:"max_tokens"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Model != "m1" || req.MaxTokens != 50 {
			http.Error(w, fmt.Sprintf("bad request %+v: %v", req, err), http.StatusBadRequest)
			return
		}
		mu.Lock()
		seenTemperature = append(seenTemperature, req.Temperature)
		mu.Unlock()
		msg := `{"role":"assistant","content":"hello"}`
		if len(req.Messages) == 1 {
			msg = `{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"say","arguments":"{\"text\":\"hello\"}"}}]}`
		}
		fmt.Fprintf(w, `{"choices":[{"message":%s}]}`, msg)
	}))
	defer srv.Close()

	code, out, errOut := mainCall("run", "--env", "../../runtime/testdata/echo", "--policy", "openai:"+srv.URL+"/v1",
		"--model", "m1", "--max-tokens", "50", "-n", "3", "-o", "-")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, r := range parseTrajectories(t, out) {
		if r.Reward != 1 || r.Policy != "openai:m1" {
			t.Fatalf("episode %d: reward %v, policy %q (%+v)", r.Episode, r.Reward, r.Policy, r.Termination)
		}
	}
	// --temperature not given: left to the server, not sent as 0.
	mu.Lock()
	defer mu.Unlock()
	if len(seenTemperature) == 0 {
		t.Fatal("the server saw no request")
	}
	for _, v := range seenTemperature {
		if v != nil {
			t.Fatalf("temperature %v sent without --temperature", v)
		}
	}
}

func TestRunPluginPolicy(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "policy-go")
	if out, err := exec.Command("go", "build", "-o", bin, "../../plugins/examples/policy-go").CombinedOutput(); err != nil {
		t.Fatalf("build example plugin: %v\n%s", err, out)
	}
	code, out, errOut := mainCall("run", "--env", "../../runtime/testdata/echo", "--policy", "plugin:"+bin, "-n", "4", "-j", "2", "-o", "-")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, r := range parseTrajectories(t, out) {
		if r.Reward != 1 || r.Policy != "plugin:first-tool" {
			t.Fatalf("episode %d: reward %v, policy %q (%+v)", r.Episode, r.Reward, r.Policy, r.Termination)
		}
	}
	if !strings.Contains(errOut, "policy-go: ready") {
		t.Fatalf("the plugin's output is not on stderr: %q", errOut)
	}

	bad := strings.Repeat("00", 32)
	code, _, errOut = mainCall("run", "--env", "../../runtime/testdata/echo", "--policy", "plugin:"+bin, "--plugin-sha256", bad)
	if code != exitUsage || !strings.Contains(errOut, "checksum") {
		t.Fatalf("wrong checksum: exit %d, stderr %q", code, errOut)
	}
}

func TestRunRemotePolicyUsage(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	for _, c := range []struct {
		name   string
		args   []string
		stderr string
	}{
		{"openai without model", []string{"--policy", "openai:http://127.0.0.1:1/v1"}, "needs --model"},
		{"openai bad url", []string{"--policy", "openai:localhost", "--model", "m"}, "base URL"},
		{"openai bad top-p", []string{"--policy", "openai:http://127.0.0.1:1/v1", "--model", "m", "--top-p", "2"}, "top_p"},
		{"plugin missing", []string{"--policy", "plugin:" + missing}, "no such file"},
		{"plugin bad checksum flag", []string{"--policy", "plugin:" + missing, "--plugin-sha256", "xyz"}, "not a hex SHA-256"},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"run", "--env", os.DevNull}, c.args...)
			code, _, errOut := mainCall(args...)
			if code != exitUsage || !strings.Contains(errOut, c.stderr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errOut, exitUsage, c.stderr)
			}
		})
	}
}
