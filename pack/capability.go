package pack

import (
	"fmt"
	"strings"
)

// CheckCapabilities checks that the user granted every capability a pack
// declares. It returns an error wrapping ErrCapability that lists each
// missing one and how to grant it. Granting more than is declared is
// allowed: the environment still gets only what its pack declares.
//
// A capability is a kind, or a kind and an argument ("backend:sqlite").
// Granting "KIND:*" grants every capability of that kind.
func CheckCapabilities(declared, granted []string) error {
	ok := map[string]bool{}
	for _, g := range granted {
		ok[g] = true
	}
	var missing []string
	for _, c := range declared {
		kind, _, _ := strings.Cut(c, ":")
		if !ok[c] && !ok[kind+":*"] {
			missing = append(missing, c)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	var flags []string
	for _, c := range missing {
		flags = append(flags, "--allow "+c)
	}
	return fmt.Errorf("%w: the pack declares %s, which was not granted (grant with %s)",
		ErrCapability, strings.Join(missing, ", "), strings.Join(flags, " "))
}
