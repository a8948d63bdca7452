//go:build ignore

// Gen rebuilds the packs committed in packs/ (packgen.Shipped) from their
// environments' sources. Run it with `go generate ./packs`.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/terrarium-rl/terrarium/packs/internal/packgen"
)

func main() {
	for _, p := range packgen.Shipped {
		digest, err := packgen.Build(context.Background(), "..", p, p.File)
		if err != nil {
			fmt.Fprintf(os.Stderr, "gen: %s\n", err)
			os.Exit(1)
		}
		fmt.Printf("%s packs/%s (from %s)\n", digest, p.File, p.Env)
	}
}
