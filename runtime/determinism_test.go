package runtime_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	trt "github.com/terrarium-rl/terrarium/runtime"
)

// virtualEpoch is what the guest's clock reads at instantiation
// (docs/abi.md, "The sandbox").
var virtualEpoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// transcript plays a fixed sequence of actions that expose the guest's clock
// and randomness (the echo env's observation holds a clock reading and an
// ep.Rand draw; "entropy" reads the clock and crypto/rand) and returns
// every reply as JSON, one per line.
func transcript(t *testing.T, env *trt.Env, seed uint64, task int) []string {
	t.Helper()
	ctx := context.Background()
	ep, obs, err := env.Start(ctx, seed, task)
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close(ctx)
	var lines []string
	add := func(v any) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(b))
	}
	add(obs)
	for _, act := range []struct{ name, args string }{
		{"entropy", "{}"},
		{"sleep", `{"duration":"1h"}`},
		{"entropy", "{}"},
		{"say", `{"text":"hi"}`},
	} {
		res, err := ep.Step(ctx, call("c", act.name, act.args))
		if err != nil {
			t.Fatal(err)
		}
		add(res)
	}
	s, err := ep.Score(ctx)
	if err != nil {
		t.Fatal(err)
	}
	add(s)
	return lines
}

func TestDeterminism(t *testing.T) {
	// Two hosts share nothing but the module bytes.
	envA := loadEcho(t, newHost(t, patientConfig()))
	envB := loadEcho(t, newHost(t, patientConfig()))
	base := transcript(t, envA, 7, 1)

	t.Run("same seed and task", func(t *testing.T) {
		for _, env := range []*trt.Env{envA, envB} {
			if got := transcript(t, env, 7, 1); strings.Join(got, "\n") != strings.Join(base, "\n") {
				t.Fatalf("transcripts differ:\n%s\nvs\n%s", strings.Join(got, "\n"), strings.Join(base, "\n"))
			}
		}
	})
	// The observation (ep.Rand, seeded by the SDK) and the entropy tool's
	// crypto/rand bytes (random_get, seeded by the host at reset) must both
	// follow the seed and the task.
	for _, c := range []struct {
		name string
		seed uint64
		task int
	}{
		{"other seed", 8, 1},
		{"other task", 7, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := transcript(t, envA, c.seed, c.task)
			if got[0] == base[0] {
				t.Errorf("observation did not change: %s", got[0])
			}
			if randomBytes(t, got[1]) == randomBytes(t, base[1]) {
				t.Errorf("crypto/rand bytes did not change: %s", got[1])
			}
		})
	}
	t.Run("virtual clock", func(t *testing.T) {
		m := regexp.MustCompile(`time (\d+)`).FindStringSubmatch(base[0])
		if m == nil {
			t.Fatalf("no time in the observation %s", base[0])
		}
		ns, _ := strconv.ParseInt(m[1], 10, 64)
		if d := time.Unix(0, ns).Sub(virtualEpoch); d < 0 || d > time.Second {
			t.Errorf("guest clock at reset reads %v, %v after the virtual epoch", time.Unix(0, ns).UTC(), d)
		}
		var sleep struct {
			Messages []struct{ Content string }
		}
		if err := json.Unmarshal([]byte(base[2]), &sleep); err != nil || len(sleep.Messages) != 1 {
			t.Fatalf("sleep reply %s: %v", base[2], err)
		}
		var times struct{ Before, After time.Time }
		if err := json.Unmarshal([]byte(sleep.Messages[0].Content), &times); err != nil {
			t.Fatal(err)
		}
		// A sleep advances the virtual clock by the time asked, at once.
		if d := times.After.Sub(times.Before); d < time.Hour || d > time.Hour+time.Second {
			t.Errorf("sleep(1h) moved the clock by %v", d)
		}
	})
}

// randomBytes picks the "random" field of the entropy tool's reply.
func randomBytes(t *testing.T, stepJSON string) string {
	t.Helper()
	var res struct {
		Messages []struct{ Content string }
	}
	var e struct{ Random string }
	if err := json.Unmarshal([]byte(stepJSON), &res); err != nil || len(res.Messages) != 1 {
		t.Fatalf("entropy reply %s: %v", stepJSON, err)
	}
	if err := json.Unmarshal([]byte(res.Messages[0].Content), &e); err != nil || len(e.Random) != 32 {
		t.Fatalf("entropy content %s: %v", res.Messages[0].Content, err)
	}
	return e.Random
}
