package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/terrarium-rl/terrarium/pack"
	"github.com/terrarium-rl/terrarium/plugins"
	trt "github.com/terrarium-rl/terrarium/runtime"
)

// backendFlags are the backends run grants with --backend NAME=PATH.
//
// A backend is a capability on both sides: the environment declares the
// names it calls in its spec ("backends"), a pack also in its manifest
// ("backend:NAME"), and the user grants each by naming the plugin that
// serves it. Passing --backend grants "backend:NAME" to a pack, so no --allow
// is needed for it; a name the env (or its pack) does not declare is
// refused before any plugin starts. Grants never reach replay: it answers
// from the trajectory.
type backendFlags struct{ specs []string }

type backendGrant struct{ name, path string }

func (b *backendFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVar(&b.specs, "backend", nil, "grant the env backend NAME, served by the plugin executable PATH (NAME=PATH, repeatable)")
}

func (b *backendFlags) grants() ([]backendGrant, error) {
	var out []backendGrant
	for _, s := range b.specs {
		name, path, ok := strings.Cut(s, "=")
		if !ok || name == "" || path == "" {
			return nil, fmt.Errorf("--backend %q: want NAME=PATH", s)
		}
		for _, g := range out {
			if g.name == name {
				return nil, fmt.Errorf("--backend %s given twice", name)
			}
		}
		out = append(out, backendGrant{name, path})
	}
	return out, nil
}

// allow returns the pack capabilities granted: those of --allow and one
// "backend:NAME" per grant.
func (b *backendFlags) allow(granted []string) []string {
	gs, _ := b.grants()
	caps := slices.Clone(granted)
	for _, g := range gs {
		caps = append(caps, "backend:"+g.name)
	}
	return caps
}

// start checks the grants against what env (and, when run from a pack, its
// manifest's capabilities) declares, then starts a plugin per grant. The
// returned stop function stops them all; call it when the run ends.
func (b *backendFlags) start(ctx context.Context, env *trt.Env, m *pack.Manifest, log io.Writer) ([]trt.StartOption, func(), error) {
	gs, err := b.grants()
	if err != nil {
		return nil, nil, err
	}
	spec := env.Spec()
	for _, g := range gs {
		if !slices.Contains(spec.Backends, g.name) {
			return nil, nil, fmt.Errorf("--backend %s: %w: %s declares %q", g.name, trt.ErrBackendNotDeclared, spec.Name, spec.Backends)
		}
		if m != nil && !slices.Contains(m.Capabilities, "backend:"+g.name) {
			return nil, nil, fmt.Errorf("--backend %s: the pack does not declare the capability backend:%s", g.name, g.name)
		}
	}
	var clients []*plugins.Client
	stop := func() {
		for _, c := range clients {
			c.Close()
		}
	}
	var opts []trt.StartOption
	for _, g := range gs {
		c, err := plugins.Start(ctx, plugins.Config{Path: g.path, Log: log})
		if err != nil {
			stop()
			return nil, nil, fmt.Errorf("--backend %s: %w", g.name, err)
		}
		clients = append(clients, c)
		be, err := c.Backend()
		if err == nil {
			_, err = be.Describe(ctx)
		}
		if err != nil {
			stop()
			return nil, nil, fmt.Errorf("--backend %s: %w", g.name, err)
		}
		opts = append(opts, trt.WithBackend(g.name, be))
	}
	return opts, stop, nil
}
