// Package adminschema holds Shopify's published Admin GraphQL schemas and loads them for
// gqlparser. The connector's tests validate every document it sends against the pinned version,
// and the sandbox refuses any document Shopify's schema would refuse, so a field that exists only
// in the sandbox's own subset cannot hide a defect again.
//
// Shopify publishes each version as introspection JSON (vendored verbatim under testdata/, see
// README.md). gqlparser reads SDL only, and decoding 10 MB of JSON on every start would cost
// seconds, so each version is also kept here as SDL printed from that JSON by FromIntrospection
// (types, fields, arguments and defaults, enum values, directives and deprecations; descriptions
// left out). TestSDLIsGeneratedFromVendoredSchema regenerates each file and fails on any
// difference; run it with -update to write them after vendoring a new version.
package adminschema

import (
	"embed"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

//go:embed admin_*.graphql
var files embed.FS

// Versions lists the API versions whose schema is here, oldest first.
func Versions() []string {
	entries, _ := files.ReadDir(".")
	var out []string
	for _, e := range entries {
		v, ok := strings.CutPrefix(e.Name(), "admin_")
		if v, ok2 := strings.CutSuffix(v, ".graphql"); ok && ok2 {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

// cache keeps each parsed schema for the life of the process. Parsing one takes about 0.1 s and
// holds 8 MB, the data is embedded and immutable, and every sandbox and test in a process asks for
// the same few versions: a process-wide cache is the one global worth having. A version is parsed
// on first use only, so a process that serves one version pays for one.
var cache sync.Map // version → func() (*ast.Schema, error)

// Load returns the Admin schema of version ("2026-07"), or an error naming the versions there are.
func Load(version string) (*ast.Schema, error) {
	if !slices.Contains(Versions(), version) {
		return nil, fmt.Errorf("no vendored Shopify Admin schema for API version %q (have %s)",
			version, strings.Join(Versions(), ", "))
	}
	f, _ := cache.LoadOrStore(version, sync.OnceValues(func() (*ast.Schema, error) { return load(version) }))
	return f.(func() (*ast.Schema, error))()
}

func load(version string) (*ast.Schema, error) {
	sdl, err := files.ReadFile("admin_" + version + ".graphql")
	if err != nil {
		return nil, err
	}
	s, err := gqlparser.LoadSchema(&ast.Source{Name: "shopify-admin-" + version + ".graphql", Input: string(sdl)})
	if err != nil {
		return nil, fmt.Errorf("admin schema %s: %w", version, err)
	}
	return s, nil
}
