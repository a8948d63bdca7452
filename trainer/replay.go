package trainer

import (
	"context"
	"fmt"
	"strings"

	"github.com/terrarium-rl/terrarium/abi"
	trt "github.com/terrarium-rl/terrarium/runtime"
)

// Divergence is the error Replay returns when re-execution does not
// reproduce a record.
type Divergence struct {
	Episode int
	// Turn is the turn whose observation differs (0 = reset's), or -1 when
	// the difference is not tied to a turn (module, score, digest).
	Turn int
	// What names the part that differs: "module", "fuel", "tools",
	// "observation", "termination", "score", "digest".
	What string
	// Offset is the first differing byte in the canonical encodings of
	// Recorded and Replayed (-1 when not a byte comparison).
	Offset             int
	Recorded, Replayed string
}

func (d *Divergence) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "episode %d", d.Episode)
	if d.Turn >= 0 {
		fmt.Fprintf(&b, " turn %d", d.Turn)
	}
	fmt.Fprintf(&b, ": %s differs", d.What)
	if d.Offset >= 0 {
		fmt.Fprintf(&b, " at byte %d:\n  recorded: %s\n  replayed: %s", d.Offset,
			window(d.Recorded, d.Offset), window(d.Replayed, d.Offset))
	} else {
		fmt.Fprintf(&b, ": recorded %s, replayed %s", d.Recorded, d.Replayed)
	}
	return b.String()
}

// window shows s around offset, quoted, with ellipses where cut.
func window(s string, off int) string {
	const ctx = 40
	lo, hi := max(off-ctx, 0), min(off+ctx, len(s))
	if lo > len(s) {
		lo = len(s)
	}
	out := fmt.Sprintf("%q", s[lo:hi])
	if lo > 0 {
		out = "…" + out
	}
	if hi < len(s) {
		out += "…"
	}
	return out
}

func firstDiff(a, b []byte) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return n
	}
	return -1
}

// compare returns a Divergence when the canonical encodings of rec and got
// differ.
func compare(ep, turn int, what string, rec, got any) *Divergence {
	a, err1 := canonical(rec)
	b, err2 := canonical(got)
	if err1 != nil || err2 != nil {
		return &Divergence{Episode: ep, Turn: turn, What: what, Offset: -1, Recorded: "unencodable", Replayed: "unencodable"}
	}
	if off := firstDiff(a, b); off >= 0 {
		return &Divergence{Episode: ep, Turn: turn, What: what, Offset: off, Recorded: string(a), Replayed: string(b)}
	}
	return nil
}

// Replay re-executes a recorded episode's actions against env and checks
// every observation, the termination, the score and the digest byte for
// byte. It returns nil when everything matches, a *Divergence when something
// differs, and another error when the replay could not run.
func Replay(ctx context.Context, env *trt.Env, rec *Trajectory) error {
	div := func(turn int, what, recorded, replayed string) error {
		return &Divergence{Episode: rec.Episode, Turn: turn, What: what, Offset: -1, Recorded: recorded, Replayed: replayed}
	}
	if rec.Env.SHA256 != env.SHA256() {
		return div(-1, "module", "sha256 "+rec.Env.SHA256, "sha256 "+env.SHA256())
	}
	if rec.Env.ConfigSHA256 != env.ConfigSHA256() {
		return div(-1, "module", "config sha256 "+rec.Env.ConfigSHA256, "config sha256 "+env.ConfigSHA256())
	}
	if fuel, _ := env.Fuel(); fuel != rec.FuelPerStep {
		return div(-1, "fuel", fmt.Sprintf("fuel_per_step %d", rec.FuelPerStep), fmt.Sprintf("fuel_per_step %d (replay with the recorded budget)", fuel))
	}
	rp := newReplayer(rec)
	err := replaySteps(ctx, env, rec, div, rp.options())
	// A record of a failed start holds no backend calls (the episode never
	// existed), so its reset's calls cannot match; it only has to fail again.
	startFailed := rec.Termination.Fault != nil && rec.Termination.Fault.Op == "start"
	if d := rp.mismatch(); d != nil && !startFailed {
		return d // the first difference, whatever it caused later
	}
	if err != nil {
		return err
	}
	if d := rp.finish(); d != nil {
		return d
	}
	// Everything re-executed matches; a record edited where re-execution
	// cannot see (its seed or turn limit, say) still fails here.
	if got := rec.ComputeDigest(); got != rec.Digest {
		return div(-1, "digest", rec.Digest, got+" (the record was edited after it was written)")
	}
	return nil
}

func replaySteps(ctx context.Context, env *trt.Env, rec *Trajectory, div func(turn int, what, recorded, replayed string) error, start []trt.StartOption) error {
	fault := rec.Termination.Fault
	ep, obs, err := env.Start(ctx, rec.Seed, rec.Task, start...)
	if err != nil {
		if fault != nil && fault.Op == "start" {
			return nil // recorded as failing to start; it still does
		}
		return div(0, "termination", "a started episode", "start failed: "+err.Error())
	}
	defer ep.Close(ctx)
	if d := compare(rec.Episode, 0, "tools", rec.Tools, obs.Tools); d != nil {
		return d
	}
	msgs := rec.Messages
	i := 0
	for i < len(msgs) && msgs[i].Role != abi.RoleAssistant {
		i++
	}
	if d := compare(rec.Episode, 0, "observation", msgs[:i], obs.Messages); d != nil {
		return d
	}
	turn, done := 0, false
	for i < len(msgs) {
		act := msgs[i]
		i++
		turn++
		j := i
		for j < len(msgs) && msgs[j].Role != abi.RoleAssistant {
			j++
		}
		res, err := ep.Step(ctx, act)
		if err != nil {
			if fault != nil && fault.Turn == turn && fault.Op == "step" && j == len(msgs) && i == j {
				return checkFault(rec, turn, err)
			}
			return div(turn, "observation", "tool messages", "step failed: "+err.Error())
		}
		if d := compare(rec.Episode, turn, "observation", msgs[i:j], res.Messages); d != nil {
			return d
		}
		done = res.Done
		i = j
	}
	if turn != rec.Turns {
		return div(-1, "termination", fmt.Sprintf("%d turns", rec.Turns), fmt.Sprintf("%d turns", turn))
	}
	if fault != nil {
		if fault.Op == "act" {
			return nil // the policy failed; the env had nothing more to say
		}
		if fault.Op != "score" {
			return div(turn, "termination", "fault: "+fault.Message, "no fault")
		}
	}
	wantReason := ReasonMaxTurns
	if done {
		wantReason = ReasonDone
	}
	if fault == nil && rec.Termination.Reason != wantReason {
		return div(turn, "termination", rec.Termination.Reason, wantReason)
	}
	score, err := ep.Score(ctx)
	if err != nil {
		if fault != nil {
			return checkFault(rec, turn, err)
		}
		return div(-1, "score", fmt.Sprintf("reward %v", rec.Reward), "score failed: "+err.Error())
	}
	if fault != nil {
		return div(-1, "score", "fault: "+fault.Message, fmt.Sprintf("reward %v", score.Reward))
	}
	return compare(rec.Episode, -1, "score",
		abi.Score{Reward: rec.Reward, Components: rec.Components}, *score).asError()
}

func (d *Divergence) asError() error {
	if d == nil {
		return nil
	}
	return d
}

// checkFault compares a fault met during replay with the recorded one: the
// kind must match (the message may carry timings).
func checkFault(rec *Trajectory, turn int, err error) error {
	probe := &Trajectory{Turns: turn}
	probe.fault(rec.Termination.Fault.Op, err)
	if probe.Termination.Fault.Kind != rec.Termination.Fault.Kind {
		return &Divergence{Episode: rec.Episode, Turn: turn, What: "termination", Offset: -1,
			Recorded: rec.Termination.Fault.Kind + " fault", Replayed: probe.Termination.Fault.Kind + " fault: " + probe.Termination.Fault.Message}
	}
	return nil
}
