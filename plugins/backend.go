package plugins

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pb "github.com/terrarium-rl/terrarium/plugins/proto"
	trt "github.com/terrarium-rl/terrarium/runtime"
)

const backendName = "backend"

// ToolBackend is the contract of a backend plugin
// (plugins/proto/backend.proto): a service an environment calls through the
// terrarium.backend_call host import. A ToolBackend is a runtime.Backend, so
// the host grants it to episodes as is (runtime.WithBackend).
//
// # Notes
//
//   - Call is called concurrently, by many episodes.
//   - A refusal the env should see (a bad query, a missing row) is an error
//     wrapping a *runtime.BackendError; any other error is a failure that
//     faults the episodes that made the call.
type ToolBackend interface {
	// Describe names the backend and lists its operations.
	Describe(ctx context.Context) (BackendInfo, error)
	// Call runs operation op.
	Call(ctx context.Context, op string, request []byte) ([]byte, error)
}

// BackendInfo is what a backend says about itself.
type BackendInfo struct {
	Name       string
	Operations []Operation
}

// Operation is one operation of a backend.
type Operation struct {
	Name, Description string
}

// ServeBackend serves b as a backend plugin. Call it from a plugin's main;
// it returns when the host stops the plugin.
func ServeBackend(b ToolBackend) {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{ProtocolVersion: {backendName: &BackendPlugin{Impl: b}}},
		GRPCServer:       plugin.DefaultGRPCServer,
		// go-plugin's default logger prints its debug chatter (the
		// listening address) into the host's log; warnings are enough.
		Logger: hclog.New(&hclog.LoggerOptions{Name: "backend", Output: os.Stderr, Level: hclog.Warn}),
	})
}

// BackendPlugin is the go-plugin adapter of a ToolBackend: Impl is served by
// a plugin; a host uses it only through Client.Backend.
type BackendPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl ToolBackend
}

// GRPCServer implements plugin.GRPCPlugin.
func (p *BackendPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.Impl == nil {
		return errors.New("backend plugin: no implementation to serve")
	}
	pb.RegisterBackendServer(s, &backendServer{impl: p.Impl})
	return nil
}

// GRPCClient implements plugin.GRPCPlugin.
func (p *BackendPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &backendClient{rpc: pb.NewBackendClient(c)}, nil
}

// Backend returns the plugin's ToolBackend. It fails with ErrProtocol when
// the plugin serves none.
func (c *Client) Backend() (ToolBackend, error) {
	raw, err := c.rpc.Dispense(backendName)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w: %w", c.name, ErrProtocol, err)
	}
	b, ok := raw.(*backendClient)
	if !ok {
		return nil, fmt.Errorf("plugin %s: %w: dispensed %T", c.name, ErrProtocol, raw)
	}
	b.exited = c.pc.Exited
	return b, nil
}

type backendClient struct {
	rpc    pb.BackendClient
	exited func() bool
}

func (c *backendClient) Describe(ctx context.Context) (BackendInfo, error) {
	r, err := c.rpc.DescribeBackend(ctx, &pb.DescribeBackendRequest{})
	if err != nil {
		return BackendInfo{}, fmt.Errorf("describe: %w", c.explain(ctx, err))
	}
	info := BackendInfo{Name: r.Name}
	for _, o := range r.Operations {
		info.Operations = append(info.Operations, Operation{Name: o.Name, Description: o.Description})
	}
	return info, nil
}

// Call sends one call per RPC: a backend call is made by a guest in the
// middle of its step, which waits for the answer, so there is no batch to
// gather. The contract carries batches for hosts that gather them later.
func (c *backendClient) Call(ctx context.Context, op string, request []byte) ([]byte, error) {
	r, err := c.rpc.Call(ctx, &pb.CallBatchRequest{Calls: []*pb.BackendCall{{Op: op, Request: request}}})
	if err != nil {
		return nil, fmt.Errorf("call %s: %w", op, c.explain(ctx, err))
	}
	if len(r.Results) != 1 {
		return nil, fmt.Errorf("call %s: %w: %d results for 1 call", op, ErrProtocol, len(r.Results))
	}
	res := r.Results[0]
	if res.Error != "" {
		return nil, &trt.BackendError{Message: res.Error}
	}
	if res.Response == nil {
		return []byte{}, nil
	}
	return res.Response, nil
}

// explain maps a gRPC error; once the process has exited, every failure
// not caused by the caller's context is the plugin's absence, whatever
// code gRPC gave it (a closed connection reports Canceled).
func (c *backendClient) explain(ctx context.Context, err error) error {
	err = fromStatus(err)
	if ctx.Err() == nil && c.exited != nil && c.exited() {
		if errors.Is(err, ErrUnavailable) {
			return fmt.Errorf("%w (the plugin process has exited; its log says why)", err)
		}
		return fmt.Errorf("%w: the plugin process has exited (its log says why): %w", ErrUnavailable, err)
	}
	return err
}

type backendServer struct {
	pb.UnimplementedBackendServer
	impl ToolBackend
}

func (s *backendServer) DescribeBackend(ctx context.Context, _ *pb.DescribeBackendRequest) (*pb.DescribeBackendResponse, error) {
	info, err := s.impl.Describe(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	r := &pb.DescribeBackendResponse{Name: info.Name}
	for _, o := range info.Operations {
		r.Operations = append(r.Operations, &pb.Operation{Name: o.Name, Description: o.Description})
	}
	return r, nil
}

func (s *backendServer) Call(ctx context.Context, req *pb.CallBatchRequest) (*pb.CallBatchResponse, error) {
	r := &pb.CallBatchResponse{Results: make([]*pb.BackendResult, len(req.Calls))}
	for i, c := range req.Calls {
		resp, err := s.impl.Call(ctx, c.Op, c.Request)
		var be *trt.BackendError
		switch {
		case errors.As(err, &be):
			msg := be.Message
			if msg == "" {
				msg = "refused" // an empty error would read as a response
			}
			r.Results[i] = &pb.BackendResult{Error: msg}
		case err != nil:
			return nil, toStatus(err)
		default:
			r.Results[i] = &pb.BackendResult{Response: resp}
		}
	}
	return r, nil
}
