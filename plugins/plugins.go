// Package plugins runs Terrarium plugins: programs in their own process, in
// any language, that serve a contract over gRPC with
// github.com/hashicorp/go-plugin. A policy plugin chooses actions for many
// episodes per call (see Policy); its contract is plugins/proto/policy.proto,
// described in docs/plugins.md.
//
// A host starts a plugin and plays a rollout with it:
//
//	c, err := plugins.Start(ctx, plugins.Config{Path: "./my-policy", Log: os.Stderr})
//	if err != nil { ... }
//	defer c.Close()
//	p, err := c.Policy()
//	if err != nil { ... }
//	pol, err := plugins.NewBatcher(ctx, p, plugins.BatchConfig{})
//	if err != nil { ... }
//	defer pol.Close()
//	sum, err := trainer.Rollout(ctx, env, pol, opts, emit)
//
// A Go plugin implements Policy and calls ServePolicy from main; see
// plugins/examples/policy-go. plugins/examples/policy-python is the same in
// Python.
//
// # Notes
//
//   - A plugin process dies with its host: on Linux it is started with a
//     parent-death signal (SIGKILL), so even a host killed with SIGKILL
//     leaves no plugin behind. Close stops it cleanly before that.
//   - A plugin that crashes fails the calls in flight and every later call
//     with ErrUnavailable; through a Batcher this faults only the episodes
//     that asked it for an action, with a message that says so.
//   - Errors cross the process boundary as gRPC status codes and come back as
//     the errors of this package's Err block (or the context's errors).
package plugins

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ProtocolVersion is the version of the plugin contracts in plugins/proto.
// A plugin states the versions it serves during the handshake, and go-plugin
// picks the highest one both sides know.
const ProtocolVersion = 1

// Handshake is the go-plugin handshake every Terrarium plugin must answer.
// The cookie is not a secret: it only keeps a plugin binary started by hand
// from waiting forever for a host, by making it exit with a hint instead.
var Handshake = plugin.HandshakeConfig{
	MagicCookieKey:   "TERRARIUM_PLUGIN",
	MagicCookieValue: "d1f3b0e6-policy-and-backend-plugins",
}

// Names under which plugin kinds are dispensed.
const policyName = "policy"

// Errors of plugins, for errors.Is. The context's own errors
// (context.Canceled, context.DeadlineExceeded) come back as themselves.
var (
	// ErrUnavailable: the plugin process cannot be reached: it exited,
	// crashed or was closed.
	ErrUnavailable = errors.New("plugin unavailable")
	// ErrFailed: the plugin reported a failure of its own.
	ErrFailed = errors.New("plugin failed")
	// ErrProtocol: the plugin broke the contract (an answer of the wrong
	// shape, a method it does not serve, a handshake it does not know).
	ErrProtocol = errors.New("plugin broke the protocol")
	// ErrChecksum: the plugin executable's checksum is not the configured
	// one; it was not started.
	ErrChecksum = errors.New("plugin checksum mismatch")
)

// fromStatus turns the error of a gRPC call into one of this package's
// errors, keeping the plugin's message.
func fromStatus(err error) error {
	if err == nil {
		return nil
	}
	s, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("%w: %w", ErrFailed, err)
	}
	switch s.Code() {
	case codes.Canceled:
		return fmt.Errorf("%s: %w", s.Message(), context.Canceled)
	case codes.DeadlineExceeded:
		return fmt.Errorf("%s: %w", s.Message(), context.DeadlineExceeded)
	case codes.Unavailable:
		return fmt.Errorf("%w: %s", ErrUnavailable, s.Message())
	case codes.Unimplemented:
		return fmt.Errorf("%w: %s", ErrProtocol, s.Message())
	}
	return fmt.Errorf("%w: %s: %s", ErrFailed, s.Code(), s.Message())
}

// toStatus turns an error of a plugin's implementation into a gRPC status,
// so that the host can tell cancellation from failure.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, ErrUnavailable):
		return status.Error(codes.Unavailable, err.Error())
	}
	return status.Error(codes.Unknown, err.Error())
}
