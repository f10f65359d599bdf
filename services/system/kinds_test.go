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

// A kind's Config, its methods and its New name no vendor: a vendor's configuration is its
// Connection, declared in the vendor's own file next to its registration (<vendor>_config.go),
// so adding a vendor adds no field, case or constructor call to the kind's Config or New.
func TestKindConfigNamesNoVendor(t *testing.T) {
	var names []string
	for _, k := range system.Kinds {
		for _, v := range k.Vendors {
			names = append(names, strings.ToLower(v.Name))
		}
	}
	fset := token.NewFileSet()
	for _, k := range system.Kinds {
		files, err := filepath.Glob(filepath.Join(k.Name, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no Go files (%v)", k.Name, err)
		}
		checked := map[string]bool{}
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range f.Decls {
				name, node := kindConfigDecl(d)
				if node == nil {
					continue
				}
				checked[name] = true
				ast.Inspect(node, func(n ast.Node) bool {
					var s string
					switch n := n.(type) {
					case *ast.Ident:
						s = n.Name
					case *ast.BasicLit:
						s = n.Value
					default:
						return true
					}
					for _, v := range names {
						if strings.Contains(strings.ToLower(s), v) {
							t.Errorf("%s: %s names the vendor %q (%s): move it to the vendor's Connection", fset.Position(n.Pos()), name, v, s)
						}
					}
					return true
				})
			}
		}
		for _, want := range []string{"type Config", "func New"} {
			if !checked[want] {
				t.Errorf("%s: found no %s to check", k.Name, want)
			}
		}
	}
}

// kindConfigDecl returns the declarations the kind's Config and New consist of: the Config type,
// its methods and the New function.
func kindConfigDecl(d ast.Decl) (string, ast.Node) {
	switch d := d.(type) {
	case *ast.GenDecl:
		for _, s := range d.Specs {
			if ts, ok := s.(*ast.TypeSpec); ok && ts.Name.Name == "Config" {
				return "type Config", ts
			}
		}
	case *ast.FuncDecl:
		if d.Recv == nil && d.Name.Name == "New" {
			return "func New", d
		}
		if d.Recv != nil && len(d.Recv.List) == 1 {
			if id, ok := d.Recv.List[0].Type.(*ast.Ident); ok && id.Name == "Config" {
				return "Config." + d.Name.Name, d
			}
		}
	}
	return "", nil
}
