package runtime

import (
	"fmt"
	"testing"
)

func TestValidateBackends(t *testing.T) {
	tests := []struct {
		names []string
		ok    bool
	}{
		{nil, true},
		{[]string{"sqlite", "search"}, true},
		{[]string{""}, false},
		{[]string{"a/b"}, false},
		{[]string{"a b"}, false},
		{[]string{"kv", "kv"}, false},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.names), func(t *testing.T) {
			if err := validateBackends(tc.names); (err == nil) != tc.ok {
				t.Fatalf("validateBackends(%q) = %v, want ok=%v", tc.names, err, tc.ok)
			}
		})
	}
}
