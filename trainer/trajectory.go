// Package trainer runs rollouts of environments with policies and records
// them as trajectories (docs/trajectory.md), replays trajectories bit for bit,
// and holds the building blocks of training loops.
//
//	env, _ := host.Load(ctx, src)
//	sum, err := trainer.Rollout(ctx, env, trainer.OraclePolicy(), trainer.Options{Episodes: 100, Seed: 1},
//		func(t *trainer.Trajectory) error { return w.Write(t) })
package trainer

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/terrarium-rl/terrarium/abi"
)

// Format is the trajectory format version written in every record.
const Format = "terrarium.trajectory/v1"

// Trajectory is one episode, one JSON line in a trajectory file. The zero
// value is not a valid record: Format, Env and Digest are always set.
type Trajectory struct {
	Format  string `json:"format"`
	Episode int    `json:"episode"`
	Env     EnvRef `json:"env"`
	Seed    uint64 `json:"seed"`
	Task    int    `json:"task"`
	Policy  string `json:"policy"`
	// MaxTurns is the turn limit the episode ran under.
	MaxTurns int `json:"max_turns"`
	// FuelPerStep is the compute budget of each guest call the episode ran
	// under (0: unmetered). A budget fault replays only under the same one.
	FuelPerStep uint64 `json:"fuel_per_step,omitempty"`
	// Tools are the tools offered by reset, as offered.
	Tools []abi.Tool `json:"tools"`
	// Messages is the whole conversation: reset's messages, then each
	// assistant action followed by the tool messages answering it.
	Messages    []abi.Message      `json:"messages"`
	Turns       int                `json:"turns"`
	Reward      float64            `json:"reward"`
	Components  map[string]float64 `json:"components,omitempty"`
	Termination Termination        `json:"termination"`
	// BackendCalls are the env's calls to backends (runtime.Backend), in
	// order; absent when it made none. Replay answers from them.
	BackendCalls []BackendCall `json:"backend_calls,omitempty"`
	// Digest is "sha256:" + the hex SHA-256 of the record's canonical
	// encoding without Episode, Policy, Env.Source and Digest: everything
	// needed to reproduce the episode and its outcome.
	Digest string `json:"digest"`
}

// EnvRef identifies the environment a trajectory was recorded against.
type EnvRef struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// SHA256 is the hex SHA-256 of the module's bytes.
	SHA256 string `json:"sha256"`
	// ConfigSHA256 is the hex SHA-256 of the configuration blob (JavaScript
	// script, compiled task set), when the env has one.
	ConfigSHA256 string `json:"config_sha256,omitempty"`
	// Source is where the env was loaded from; informational, not digested.
	Source string `json:"source,omitempty"`
}

// Termination reasons.
const (
	ReasonDone     = "done"      // the environment said the episode ended
	ReasonMaxTurns = "max_turns" // the turn limit was reached first
	ReasonFault    = "fault"     // the guest or the policy failed; see Fault
)

// Termination says how an episode ended.
type Termination struct {
	Reason string     `json:"reason"`
	Fault  *FaultInfo `json:"fault,omitempty"`
}

// FaultInfo describes a fault that ended an episode.
type FaultInfo struct {
	// Kind is a runtime.FaultKind ("trap", "timeout", "memory"...), or
	// "policy" when the policy failed, or "refused" when the guest refused
	// an action (bad request).
	Kind string `json:"kind"`
	// Op is the call that failed: "start", "step", "score", "act".
	Op string `json:"op"`
	// Turn is the turn during which it happened (0 = before the first action).
	Turn    int    `json:"turn"`
	Message string `json:"message"`
}

// digestView is what the digest covers.
type digestView struct {
	Format      string             `json:"format"`
	Env         EnvRef             `json:"env"`
	Seed        uint64             `json:"seed"`
	Task        int                `json:"task"`
	MaxTurns    int                `json:"max_turns"`
	FuelPerStep uint64             `json:"fuel_per_step,omitempty"`
	Tools       []abi.Tool         `json:"tools"`
	Messages    []abi.Message      `json:"messages"`
	Turns       int                `json:"turns"`
	Reward      float64            `json:"reward"`
	Components  map[string]float64 `json:"components,omitempty"`
	Termination Termination        `json:"termination"`
	// BackendCalls is last and omitted when empty, so that records of envs
	// without backends keep their digests.
	BackendCalls []BackendCall `json:"backend_calls,omitempty"`
}

// ComputeDigest returns the digest the record should carry.
func (t *Trajectory) ComputeDigest() string {
	env := t.Env
	env.Source = ""
	b, err := canonical(digestView{t.Format, env, t.Seed, t.Task, t.MaxTurns, t.FuelPerStep, t.Tools, t.Messages,
		t.Turns, t.Reward, t.Components, t.Termination, t.BackendCalls})
	if err != nil {
		// Every field is plain data; an encoding failure is a bug.
		panic(fmt.Sprintf("trainer: encode trajectory: %v", err))
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// canonical encodes v the one way trajectories are written: struct fields in
// declaration order, map keys sorted, no HTML escaping, compact.
func canonical(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Writer writes trajectories as JSON lines.
type Writer struct{ w *bufio.Writer }

// NewWriter returns a Writer on w. Call Flush when done.
func NewWriter(w io.Writer) *Writer { return &Writer{bufio.NewWriterSize(w, 64<<10)} }

// Write writes one record.
func (w *Writer) Write(t *Trajectory) error {
	b, err := canonical(t)
	if err != nil {
		return fmt.Errorf("write trajectory %d: %w", t.Episode, err)
	}
	w.w.Write(b)
	return w.w.WriteByte('\n')
}

// Flush flushes buffered records.
func (w *Writer) Flush() error { return w.w.Flush() }

// ErrBadRecord is wrapped by errors about malformed trajectory lines.
var ErrBadRecord = errors.New("malformed trajectory record")

// Reader reads trajectories from JSON lines.
type Reader struct {
	s    *bufio.Scanner
	line int
	name string
}

// NewReader returns a Reader on r; name locates errors.
func NewReader(r io.Reader, name string) *Reader {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 1<<20), 256<<20)
	return &Reader{s: s, name: name}
}

// Next returns the next record, or io.EOF.
func (r *Reader) Next() (*Trajectory, error) {
	for r.s.Scan() {
		r.line++
		b := bytes.TrimSpace(r.s.Bytes())
		if len(b) == 0 {
			continue
		}
		var t Trajectory
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&t); err != nil {
			return nil, fmt.Errorf("%s:%d: %w: %s", r.name, r.line, ErrBadRecord, err)
		}
		if t.Format != Format {
			return nil, fmt.Errorf("%s:%d: %w: format %q, want %q", r.name, r.line, ErrBadRecord, t.Format, Format)
		}
		return &t, nil
	}
	if err := r.s.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", r.name, r.line+1, err)
	}
	return nil, io.EOF
}

// Line returns the line number of the last record read.
func (r *Reader) Line() int { return r.line }

// ReadAll reads every record of r.
func ReadAll(r io.Reader, name string) ([]*Trajectory, error) {
	rd := NewReader(r, name)
	var out []*Trajectory
	for {
		t, err := rd.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
}
