package plugins

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/terrarium-rl/terrarium/abi"
	pb "github.com/terrarium-rl/terrarium/plugins/proto"
)

// Policy is the Go side of a policy plugin: it acts for many episodes per
// call. Host code gets one from Client.Policy and usually wraps it in a
// Batcher, which makes it a trainer.Policy; plugin code implements it and
// hands it to ServePolicy.
//
// # Notes
//
//   - Act is called concurrently when batches overlap, so an implementation
//     must be safe for concurrent use.
//   - The protocol is stateless: each Observation carries its episode's
//     identity, tools and whole conversation, so a plugin need keep nothing
//     between calls, and nothing tells it that an episode ended.
type Policy interface {
	// Describe names the policy and states its preferred batch size.
	Describe(ctx context.Context) (Info, error)
	// Act returns one action per observation, in order. An error fails the
	// whole batch; Action.Err fails one episode.
	Act(ctx context.Context, obs []Observation) ([]Action, error)
}

// Info describes a policy plugin.
type Info struct {
	// Name identifies the policy in trajectories, as "plugin:NAME".
	Name string
	// MaxBatch caps the observations of one Act call; 0 leaves it to the
	// host.
	MaxBatch int
}

// Observation is one episode waiting for an action.
type Observation struct {
	Episode  int
	Seed     uint64
	Task     int
	Tools    []abi.Tool
	Messages []abi.Message
}

// Action answers one observation: Message, or Err when the policy could not
// act for this episode.
type Action struct {
	Message abi.Message
	Err     error
}

// ServePolicy serves p as a policy plugin on the process's stdin/stdout
// handshake and returns when the host closes it. It is what a Go plugin's
// main calls.
func ServePolicy(p Policy) {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{ProtocolVersion: {policyName: &PolicyPlugin{Impl: p}}},
		GRPCServer:       plugin.DefaultGRPCServer,
	})
}

// PolicyPlugin is the go-plugin glue of Policy: it serves Impl in a plugin
// and dispenses a client of it in the host. Most code needs it only through
// ServePolicy and Client.Policy; tests use it with plugin.TestPluginGRPCConn
// to run both sides in one process.
type PolicyPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	// Impl is the served policy; nil on the host side.
	Impl Policy
}

// GRPCServer registers the plugin's Policy service.
func (p *PolicyPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.Impl == nil {
		return errors.New("policy plugin: no implementation to serve")
	}
	pb.RegisterPolicyServer(s, &policyServer{impl: p.Impl})
	return nil
}

// GRPCClient returns a Policy that calls the plugin over c.
func (p *PolicyPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &policyClient{rpc: pb.NewPolicyClient(c)}, nil
}

// policyClient is the host side of the Policy service.
type policyClient struct {
	rpc pb.PolicyClient
	// exited, when set, reports whether the plugin process has exited, so
	// that a failed call can say why.
	exited func() bool
}

func (c *policyClient) Describe(ctx context.Context) (Info, error) {
	r, err := c.rpc.Describe(ctx, &pb.DescribeRequest{})
	if err != nil {
		return Info{}, fmt.Errorf("describe: %w", c.explain(err))
	}
	if r.MaxBatch < 0 {
		return Info{}, fmt.Errorf("describe: %w: negative max batch %d", ErrProtocol, r.MaxBatch)
	}
	return Info{Name: r.Name, MaxBatch: int(r.MaxBatch)}, nil
}

func (c *policyClient) Act(ctx context.Context, obs []Observation) ([]Action, error) {
	req := &pb.ActBatchRequest{Observations: make([]*pb.Observation, len(obs))}
	for i, o := range obs {
		req.Observations[i] = toProtoObservation(o)
	}
	r, err := c.rpc.Act(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("act: %w", c.explain(err))
	}
	if len(r.Actions) != len(obs) {
		return nil, fmt.Errorf("act: %w: %d actions for %d observations", ErrProtocol, len(r.Actions), len(obs))
	}
	acts := make([]Action, len(obs))
	for i, a := range r.Actions {
		if a.GetError() != "" {
			acts[i].Err = fmt.Errorf("%w: %s", ErrFailed, a.GetError())
			continue
		}
		acts[i].Message = fromProtoMessage(a.GetMessage())
	}
	return acts, nil
}

// explain maps a call's error and, when the connection is gone because the
// process exited, says so: "connection refused" alone would send a user
// looking in the wrong place.
func (c *policyClient) explain(err error) error {
	err = fromStatus(err)
	if errors.Is(err, ErrUnavailable) && c.exited != nil && c.exited() {
		return fmt.Errorf("%w (the plugin process has exited; its log says why)", err)
	}
	return err
}

// policyServer is the plugin side of the Policy service.
type policyServer struct {
	pb.UnimplementedPolicyServer
	impl Policy
}

func (s *policyServer) Describe(ctx context.Context, _ *pb.DescribeRequest) (*pb.DescribeResponse, error) {
	info, err := s.impl.Describe(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.DescribeResponse{Name: info.Name, MaxBatch: int32(min(max(info.MaxBatch, 0), 1<<30))}, nil
}

func (s *policyServer) Act(ctx context.Context, req *pb.ActBatchRequest) (*pb.ActBatchResponse, error) {
	obs := make([]Observation, len(req.Observations))
	for i, o := range req.Observations {
		obs[i] = fromProtoObservation(o)
	}
	acts, err := s.impl.Act(ctx, obs)
	if err != nil {
		return nil, toStatus(err)
	}
	// A short answer is the implementation's bug; saying so here names the
	// culprit, where the host could only report a count mismatch.
	if len(acts) != len(obs) {
		return nil, toStatus(fmt.Errorf("policy returned %d actions for %d observations", len(acts), len(obs)))
	}
	r := &pb.ActBatchResponse{Actions: make([]*pb.Action, len(acts))}
	for i, a := range acts {
		if a.Err != nil {
			r.Actions[i] = &pb.Action{Error: a.Err.Error()}
			continue
		}
		r.Actions[i] = &pb.Action{Message: toProtoMessage(a.Message)}
	}
	return r, nil
}

func toProtoObservation(o Observation) *pb.Observation {
	p := &pb.Observation{Episode: int64(o.Episode), Seed: o.Seed, Task: int64(o.Task),
		Tools: make([]*pb.Tool, len(o.Tools)), Messages: make([]*pb.Message, len(o.Messages))}
	for i, t := range o.Tools {
		p.Tools[i] = &pb.Tool{Type: t.Type, Function: &pb.Function{
			Name: t.Function.Name, Description: t.Function.Description, Parameters: string(t.Function.Parameters)}}
	}
	for i, m := range o.Messages {
		p.Messages[i] = toProtoMessage(m)
	}
	return p
}

func fromProtoObservation(p *pb.Observation) Observation {
	o := Observation{Episode: int(p.GetEpisode()), Seed: p.GetSeed(), Task: int(p.GetTask()),
		Tools: make([]abi.Tool, len(p.GetTools())), Messages: make([]abi.Message, len(p.GetMessages()))}
	for i, t := range p.GetTools() {
		f := t.GetFunction()
		o.Tools[i] = abi.Tool{Type: t.GetType(), Function: abi.Function{Name: f.GetName(), Description: f.GetDescription()}}
		if f.GetParameters() != "" {
			o.Tools[i].Function.Parameters = abi.RawJSON(f.GetParameters())
		}
	}
	for i, m := range p.GetMessages() {
		o.Messages[i] = fromProtoMessage(m)
	}
	return o
}

func toProtoMessage(m abi.Message) *pb.Message {
	p := &pb.Message{Role: m.Role, Content: m.Content, Name: m.Name, ToolCallId: m.ToolCallID}
	for _, c := range m.ToolCalls {
		p.ToolCalls = append(p.ToolCalls, &pb.ToolCall{Id: c.ID, Type: c.Type,
			Function: &pb.FunctionCall{Name: c.Function.Name, Arguments: c.Function.Arguments}})
	}
	return p
}

func fromProtoMessage(p *pb.Message) abi.Message {
	m := abi.Message{Role: p.GetRole(), Content: p.GetContent(), Name: p.GetName(), ToolCallID: p.GetToolCallId()}
	for _, c := range p.GetToolCalls() {
		m.ToolCalls = append(m.ToolCalls, abi.ToolCall{ID: c.GetId(), Type: c.GetType(),
			Function: abi.FunctionCall{Name: c.GetFunction().GetName(), Arguments: c.GetFunction().GetArguments()}})
	}
	return m
}
