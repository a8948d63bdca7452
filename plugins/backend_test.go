package plugins

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/hashicorp/go-plugin"

	trt "github.com/terrarium-rl/terrarium/runtime"
)

type mapBackend map[string]string

func (m mapBackend) Describe(context.Context) (BackendInfo, error) {
	return BackendInfo{Name: "map", Operations: []Operation{{"get", "value of a key"}}}, nil
}

func (m mapBackend) Call(_ context.Context, op string, req []byte) ([]byte, error) {
	switch string(req) {
	case "fail":
		return nil, errors.New("disk on fire")
	case "refuse-empty":
		return nil, &trt.BackendError{}
	}
	v, ok := m[string(req)]
	if !ok {
		return nil, &trt.BackendError{Message: "no key " + string(req)}
	}
	return []byte(v), nil
}

func connectBackend(t *testing.T, impl ToolBackend) ToolBackend {
	t.Helper()
	client, _ := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{backendName: &BackendPlugin{Impl: impl}})
	t.Cleanup(func() { client.Close() })
	raw, err := client.Dispense(backendName)
	if err != nil {
		t.Fatalf("dispense: %v", err)
	}
	return raw.(ToolBackend)
}

func TestBackendRoundTrip(t *testing.T) {
	ctx := context.Background()
	b := connectBackend(t, mapBackend{"a": "apple", "empty": ""})
	info, err := b.Describe(ctx)
	if err != nil {
		t.Fatalf("describe: %v", err)
	}
	if want := (BackendInfo{Name: "map", Operations: []Operation{{"get", "value of a key"}}}); !reflect.DeepEqual(info, want) {
		t.Fatalf("describe = %+v, want %+v", info, want)
	}
	tests := []struct {
		req     string
		want    string
		refusal string // a *trt.BackendError with this message
		failure bool   // an ErrFailed, not a refusal
	}{
		{req: "a", want: "apple"},
		{req: "empty", want: ""},
		{req: "zz", refusal: "no key zz"},
		{req: "refuse-empty", refusal: "refused"},
		{req: "fail", failure: true},
	}
	for _, tc := range tests {
		t.Run(tc.req, func(t *testing.T) {
			got, err := b.Call(ctx, "get", []byte(tc.req))
			var be *trt.BackendError
			switch {
			case tc.failure:
				if !errors.Is(err, ErrFailed) || errors.As(err, &be) {
					t.Fatalf("Call = %v, want an ErrFailed that is not a refusal", err)
				}
			case tc.refusal != "":
				if !errors.As(err, &be) || be.Message != tc.refusal {
					t.Fatalf("Call = %v, want the refusal %q", err, tc.refusal)
				}
			default:
				if err != nil || string(got) != tc.want || got == nil {
					t.Fatalf("Call = %q, %v; want %q", got, err, tc.want)
				}
			}
		})
	}
}
