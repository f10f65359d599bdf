package system_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/retailbridge/retailbridge/services/system"
)

// vendorFree are the parts of the module that must work for any registered vendor: wiring,
// configuration, the gateway, the API document builder, the shared packages and the process
// services. Only a kind's package (its registry, connectors and sandbox starters), the sandboxes
// and the tests that drive particular sandboxes may name one.
var vendorFree = []string{"internal/stack", "internal/openapi", "gateway", "pkg", "services/process", "main.go"}

// A guard beside the plug-in test (services/system/wms TestASecondVendorIsOneRegistration): no
// code outside the kinds' packages names a registered vendor in a string literal or imports a
// vendor's sandbox or connector.
func TestNothingOutsideTheKindsNamesAVendor(t *testing.T) {
	names := map[string]bool{}
	for _, k := range system.Kinds {
		for _, v := range k.Vendors {
			names[v.Name] = true
		}
	}
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	checked := 0
	for _, dir := range vendorFree {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") ||
				strings.Contains(path, filepath.Join("pkg", "gen")) {
				return err
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			checked++
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				if strings.Contains(p, "/services/sandbox/") && !strings.HasSuffix(p, "/services/sandbox/demo") ||
					strings.Contains(p, "/services/system/") && strings.Contains(p, "/internal/") {
					t.Errorf("%s imports %s, a vendor's sandbox or connector", fset.Position(imp.Pos()), p)
				}
			}
			ast.Inspect(f, func(n ast.Node) bool {
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				s, _ := strconv.Unquote(lit.Value)
				for name := range names {
					if strings.EqualFold(s, name) || strings.HasSuffix(s, "/"+name) {
						t.Errorf("%s names the vendor %q (%s)", fset.Position(lit.Pos()), name, lit.Value)
					}
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if checked < 100 {
		t.Fatalf("checked %d files; the walk missed the module", checked)
	}
}
