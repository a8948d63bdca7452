package plugins

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/terrarium-rl/terrarium/abi"
)

// scripted is a Policy for tests: act decides each observation's action,
// and actErr, when set, fails whole batches.
type scripted struct {
	info   Info
	act    func(Observation) Action
	actErr error
	seen   chan []Observation // when set, receives every batch
}

func (s *scripted) Describe(context.Context) (Info, error) { return s.info, nil }

func (s *scripted) Act(ctx context.Context, obs []Observation) ([]Action, error) {
	if s.seen != nil {
		s.seen <- obs
	}
	if s.actErr != nil {
		return nil, s.actErr
	}
	acts := make([]Action, len(obs))
	for i, o := range obs {
		acts[i] = s.act(o)
	}
	return acts, nil
}

// connect serves impl and returns the host's view of it, both in this
// process, over a real gRPC connection.
func connect(t *testing.T, impl Policy) Policy { return connectTB(t, impl) }

func connectTB(t testing.TB, impl Policy) Policy {
	t.Helper()
	// Closing the client shuts the server down through its controller;
	// stopping the server here too would race inside go-plugin.
	client, _ := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{policyName: &PolicyPlugin{Impl: impl}})
	t.Cleanup(func() { client.Close() })
	raw, err := client.Dispense(policyName)
	if err != nil {
		t.Fatalf("dispense: %v", err)
	}
	return raw.(Policy)
}

// fullObservation uses every field of the contract, so that a field lost on
// the way shows up as a difference.
func fullObservation(episode int) Observation {
	return Observation{
		Episode: episode, Seed: 1<<63 + uint64(episode), Task: 3,
		Tools: []abi.Tool{{Type: "function", Function: abi.Function{Name: "say", Description: "Say something.",
			Parameters: abi.RawJSON(`{"type":"object","properties":{"text":{"type":"string"}}}`)}}},
		Messages: []abi.Message{
			{Role: abi.RoleSystem, Content: "be brief"},
			{Role: abi.RoleUser, Content: "héllo ✓", Name: "alice"},
			{Role: abi.RoleAssistant, ToolCalls: []abi.ToolCall{
				{ID: "c1", Type: "function", Function: abi.FunctionCall{Name: "say", Arguments: `{"text":"a"}`}},
				{ID: "c2", Type: "function", Function: abi.FunctionCall{Name: "nope", Arguments: `{not json`}},
			}},
			{Role: abi.RoleTool, ToolCallID: "c1", Content: `{"echo":"a"}`},
			{Role: abi.RoleTool, ToolCallID: "c2", Content: `{"error":"unknown tool"}`},
		},
	}
}

func TestPolicyRoundTrip(t *testing.T) {
	seen := make(chan []Observation, 1)
	impl := &scripted{info: Info{Name: "scripted", MaxBatch: 7}, seen: seen, act: func(o Observation) Action {
		if o.Episode == 1 {
			return Action{Err: errors.New("no idea")}
		}
		return Action{Message: abi.Message{Role: abi.RoleAssistant, Content: fmt.Sprint("episode ", o.Episode), ToolCalls: []abi.ToolCall{
			{ID: "x", Type: "function", Function: abi.FunctionCall{Name: "say", Arguments: `{"text":"é"}`}}}}}
	}}
	p := connect(t, impl)
	ctx := context.Background()

	info, err := p.Describe(ctx)
	if err != nil || info != impl.info {
		t.Fatalf("describe = %+v, %v; want %+v", info, err, impl.info)
	}
	obs := []Observation{fullObservation(0), fullObservation(1), fullObservation(2)}
	acts, err := p.Act(ctx, obs)
	if err != nil {
		t.Fatalf("act: %v", err)
	}
	if got := <-seen; !reflect.DeepEqual(got, obs) {
		t.Fatalf("plugin saw\n%+v\nwant\n%+v", got, obs)
	}
	if len(acts) != 3 {
		t.Fatalf("%d actions for 3 observations", len(acts))
	}
	for _, i := range []int{0, 2} {
		want := impl.act(obs[i]).Message
		if acts[i].Err != nil || !reflect.DeepEqual(acts[i].Message, want) {
			t.Fatalf("action %d = %+v, want %+v", i, acts[i], want)
		}
	}
	if !errors.Is(acts[1].Err, ErrFailed) || !strings.Contains(acts[1].Err.Error(), "no idea") {
		t.Fatalf("action 1 error = %v, want ErrFailed with the plugin's message", acts[1].Err)
	}
}

func TestPolicyErrors(t *testing.T) {
	for _, c := range []struct {
		name    string
		actErr  error
		short   bool // the implementation answers one action short
		want    error
		message string
	}{
		{name: "failure", actErr: errors.New("model server down"), want: ErrFailed, message: "model server down"},
		{name: "canceled", actErr: fmt.Errorf("giving up: %w", context.Canceled), want: context.Canceled, message: "giving up"},
		{name: "deadline", actErr: context.DeadlineExceeded, want: context.DeadlineExceeded},
		{name: "unavailable", actErr: status.Error(codes.Unavailable, "backend gone"), want: ErrUnavailable, message: "backend gone"},
		{name: "unimplemented", actErr: status.Error(codes.Unimplemented, "no Act"), want: ErrProtocol, message: "no Act"},
		{name: "short answer", short: true, want: ErrFailed, message: "1 actions for 2 observations"},
	} {
		t.Run(c.name, func(t *testing.T) {
			impl := &scripted{actErr: c.actErr}
			var p Policy = impl
			if c.short {
				p = shortPolicy{}
			}
			_, err := connect(t, p).Act(context.Background(), []Observation{{}, {}})
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.message) {
				t.Fatalf("act error = %v, want %v containing %q", err, c.want, c.message)
			}
		})
	}
}

type shortPolicy struct{}

func (shortPolicy) Describe(context.Context) (Info, error) { return Info{}, nil }
func (shortPolicy) Act(_ context.Context, obs []Observation) ([]Action, error) {
	return make([]Action, len(obs)-1), nil
}

func TestPolicyCallCanceled(t *testing.T) {
	entered := make(chan struct{})
	sawCancel := make(chan error, 1)
	p := connect(t, blockingPolicy{entered: entered, canceled: sawCancel})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := p.Act(ctx, []Observation{{}})
		errc <- err
	}()
	<-entered
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("act error = %v, want context.Canceled", err)
	}
	// The cancellation crosses the process boundary: the plugin stops too.
	if err := <-sawCancel; !errors.Is(err, context.Canceled) {
		t.Fatalf("plugin's context ended with %v, want context.Canceled", err)
	}
}

// blockingPolicy acts only when its context ends, and reports how.
type blockingPolicy struct {
	entered  chan struct{}
	canceled chan error
}

func (blockingPolicy) Describe(context.Context) (Info, error) { return Info{}, nil }
func (b blockingPolicy) Act(ctx context.Context, obs []Observation) ([]Action, error) {
	close(b.entered)
	<-ctx.Done()
	b.canceled <- ctx.Err()
	return nil, ctx.Err()
}

func TestStatusMapping(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"plain", errors.New("boom"), ErrFailed},
		{"canceled", context.Canceled, context.Canceled},
		{"deadline", fmt.Errorf("slow: %w", context.DeadlineExceeded), context.DeadlineExceeded},
		{"unavailable", fmt.Errorf("x: %w", ErrUnavailable), ErrUnavailable},
		{"status kept", status.Error(codes.Unimplemented, "no"), ErrProtocol},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := fromStatus(toStatus(c.err))
			if !errors.Is(got, c.want) {
				t.Fatalf("fromStatus(toStatus(%v)) = %v, want %v", c.err, got, c.want)
			}
		})
	}
	if toStatus(nil) != nil || fromStatus(nil) != nil {
		t.Fatal("nil errors must map to nil")
	}
}
