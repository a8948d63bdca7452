package abi

import "errors"

// RawJSON is a JSON value kept as its bytes, like encoding/json.RawMessage,
// so that schemas pass through the host unchanged. It is its own type so
// that this package needs no imports beyond the standard library's errors.
type RawJSON []byte

// MarshalJSON returns the bytes (or null when empty).
func (m RawJSON) MarshalJSON() ([]byte, error) {
	if len(m) == 0 {
		return []byte("null"), nil
	}
	return m, nil
}

// UnmarshalJSON keeps a copy of the bytes.
func (m *RawJSON) UnmarshalJSON(data []byte) error {
	if m == nil {
		return errors.New("abi.RawJSON: UnmarshalJSON on nil pointer")
	}
	*m = append((*m)[0:0], data...)
	return nil
}
