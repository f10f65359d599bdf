package adminschema

import (
	"compress/gzip"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "write admin_<version>.graphql from testdata/admin_<version>.json.gz")

// TestSDLIsGeneratedFromVendoredSchema keeps every embedded SDL file equal to what
// FromIntrospection prints from the vendored introspection of the same version, and every vendored
// version embedded: the SDL is a derived file, never edited by hand.
func TestSDLIsGeneratedFromVendoredSchema(t *testing.T) {
	vendored, err := filepath.Glob("testdata/admin_*.json.gz")
	if err != nil || len(vendored) == 0 {
		t.Fatalf("no vendored schema in testdata: %v", err)
	}
	for _, path := range vendored {
		version := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(path), "admin_"), ".json.gz")
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			zr, err := gzip.NewReader(f)
			if err != nil {
				t.Fatal(err)
			}
			sdl, err := FromIntrospection(zr)
			if err != nil {
				t.Fatal(err)
			}
			out := "admin_" + version + ".graphql"
			if *update {
				if err := os.WriteFile(out, []byte(sdl), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatalf("%v: run go test -run TestSDLIsGeneratedFromVendoredSchema -update", err)
			}
			if string(got) != sdl {
				t.Errorf("%s differs from the SDL printed from %s: run go test -run TestSDLIsGeneratedFromVendoredSchema -update", out, path)
			}
		})
	}
}
