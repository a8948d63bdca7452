package astrajs

import (
	"testing"

	"github.com/dop251/goja"
)

// BenchmarkKey times the canonical key of a typical call's arguments in the
// runner's JavaScript, natively in goja (about 10× faster than the same
// in the sandbox); it is most of a call's own work in the JavaScript kind.
func BenchmarkKey(b *testing.B) {
	rt := lib(b)
	key, defaults := fn(b, rt, "key"), fn(b, rt, "defaults")
	d, err := defaults(goja.Undefined(), jsonParse(b, rt, `{"type":"object","properties":{"compound":{"type":"string"},"property":{"type":"string"},"unit":{"type":"string","default":"celsius"}}}`))
	if err != nil {
		b.Fatal(err)
	}
	args := jsonParse(b, rt, `{"compound":" Ethanol","property":"boiling_point"}`)
	for i := 0; i < b.N; i++ {
		if _, err := key(goja.Undefined(), args, d); err != nil {
			b.Fatal(err)
		}
	}
}
