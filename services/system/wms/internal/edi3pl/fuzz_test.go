package edi3pl

import (
	"os"
	"testing"

	"github.com/retailbridge/retailbridge/pkg/x12"
	"github.com/retailbridge/retailbridge/pkg/x12/x12test"
)

// FuzzMapSets: whatever a partner sends, every mapping either maps it or says which segment it
// cannot use — it never panics, and a set it refuses always names a rejected segment.
func FuzzMapSets(f *testing.F) {
	for _, name := range x12test.Names(f) {
		f.Add(x12test.Read(f, name))
	}
	for _, name := range []string{"945-shipped.edi", "947-adjustment.edi"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, _ := x12.Read(data)
		if file == nil {
			return
		}
		for _, ic := range file.Interchanges {
			for _, g := range ic.Groups {
				for _, set := range g.Sets {
					d := ic.Delims
					check := func(v x12.Verdict, err error) {
						if (err != nil) != (len(v.Rejected) > 0) {
							t.Fatalf("%s: error %v with %d rejected segments", set.Type(), err, len(v.Rejected))
						}
					}
					_, v, err := from945(set, d)
					check(v, err)
					_, v, err = from856(set, d)
					check(v, err)
					_, v, err = from846(set, d, "dc-east")
					check(v, err)
					_, v, err = from947(set, d, "dc-east")
					check(v, err)
					_, v, err = from180(set, d)
					check(v, err)
					_, _ = x12.ReadAck(set, d)
				}
			}
		}
	})
}
