// Package adminschema holds Shopify's published Admin GraphQL schemas, vendored verbatim (see
// README.md for their source and checksums), and loads them for gqlparser. The connector's tests
// validate every document it sends against the pinned version, and the sandbox refuses any
// document Shopify's schema would refuse, so a field that exists only in the sandbox's own subset
// cannot hide a defect again.
//
// The files are introspection results; gqlparser reads SDL only, so Load prints the introspection
// as SDL (types, fields, arguments with their defaults, enum values, directives and deprecations;
// descriptions are left out) and loads that.
package adminschema

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator"
)

//go:embed admin_*.json.gz
var files embed.FS

// Versions lists the API versions whose schema is vendored, oldest first.
func Versions() []string {
	entries, _ := files.ReadDir(".")
	var out []string
	for _, e := range entries {
		v, ok := strings.CutPrefix(e.Name(), "admin_")
		if v, ok2 := strings.CutSuffix(v, ".json.gz"); ok && ok2 {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

// cache keeps each parsed schema for the life of the process. Parsing one takes about a second
// and tens of megabytes, the data is embedded and immutable, and every sandbox and test in a
// process asks for the same few versions: a process-wide cache is the one global worth having.
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
	raw, err := files.ReadFile("admin_" + version + ".json.gz")
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("admin schema %s: %w", version, err)
	}
	var doc introspection
	if err := json.NewDecoder(io.Reader(zr)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("admin schema %s: %w", version, err)
	}
	sdl := toSDL(&doc.Data.Schema)
	s, err := gqlparser.LoadSchema(&ast.Source{Name: "shopify-admin-" + version + ".graphql", Input: sdl})
	if err != nil {
		return nil, fmt.Errorf("admin schema %s: %w", version, err)
	}
	return s, nil
}

// introspection is the standard introspection query's result, as Shopify publishes it.
type introspection struct {
	Data struct {
		Schema schemaJSON `json:"__schema"`
	} `json:"data"`
}

type schemaJSON struct {
	QueryType        *named       `json:"queryType"`
	MutationType     *named       `json:"mutationType"`
	SubscriptionType *named       `json:"subscriptionType"`
	Types            []typeJSON   `json:"types"`
	Directives       []directJSON `json:"directives"`
}

type named struct {
	Name string `json:"name"`
}

type typeJSON struct {
	Kind          string      `json:"kind"`
	Name          string      `json:"name"`
	Fields        []fieldJSON `json:"fields"`
	InputFields   []valueJSON `json:"inputFields"`
	Interfaces    []named     `json:"interfaces"`
	EnumValues    []enumJSON  `json:"enumValues"`
	PossibleTypes []named     `json:"possibleTypes"`
	IsOneOf       bool        `json:"isOneOf"`
}

type deprecation struct {
	IsDeprecated      bool    `json:"isDeprecated"`
	DeprecationReason *string `json:"deprecationReason"`
}

type fieldJSON struct {
	Name string      `json:"name"`
	Args []valueJSON `json:"args"`
	Type typeRef     `json:"type"`
	deprecation
}

type valueJSON struct {
	Name         string  `json:"name"`
	Type         typeRef `json:"type"`
	DefaultValue *string `json:"defaultValue"`
	deprecation
}

type enumJSON struct {
	Name string `json:"name"`
	deprecation
}

type directJSON struct {
	Name         string      `json:"name"`
	Locations    []string    `json:"locations"`
	Args         []valueJSON `json:"args"`
	IsRepeatable bool        `json:"isRepeatable"`
}

type typeRef struct {
	Kind   string   `json:"kind"`
	Name   string   `json:"name"`
	OfType *typeRef `json:"ofType"`
}

func (t typeRef) String() string {
	switch {
	case t.Kind == "NON_NULL" && t.OfType != nil:
		return t.OfType.String() + "!"
	case t.Kind == "LIST" && t.OfType != nil:
		return "[" + t.OfType.String() + "]"
	}
	return t.Name
}

// toSDL prints s as SDL, leaving out what gqlparser's prelude already declares (the built-in
// scalars, the introspection types and the standard directives).
func toSDL(s *schemaJSON) string {
	prelude := validator.PreludeDocument()
	var b strings.Builder
	b.WriteString("schema {\n")
	for _, root := range []struct {
		op string
		t  *named
	}{{"query", s.QueryType}, {"mutation", s.MutationType}, {"subscription", s.SubscriptionType}} {
		if root.t != nil {
			fmt.Fprintf(&b, "  %s: %s\n", root.op, root.t.Name)
		}
	}
	b.WriteString("}\n")
	for _, d := range s.Directives {
		if prelude.Directives.ForName(d.Name) == nil {
			writeDirective(&b, d)
		}
	}
	for _, t := range s.Types {
		if strings.HasPrefix(t.Name, "__") || prelude.Definitions.ForName(t.Name) != nil {
			continue
		}
		writeType(&b, t)
	}
	return b.String()
}

func writeDirective(b *strings.Builder, d directJSON) {
	fmt.Fprintf(b, "directive @%s%s", d.Name, args(d.Args))
	if d.IsRepeatable {
		b.WriteString(" repeatable")
	}
	fmt.Fprintf(b, " on %s\n", strings.Join(d.Locations, " | "))
}

func writeType(b *strings.Builder, t typeJSON) {
	switch t.Kind {
	case "SCALAR":
		fmt.Fprintf(b, "scalar %s\n", t.Name)
	case "UNION":
		fmt.Fprintf(b, "union %s = %s\n", t.Name, strings.Join(names(t.PossibleTypes), " | "))
	case "ENUM":
		fmt.Fprintf(b, "enum %s {\n", t.Name)
		for _, v := range t.EnumValues {
			fmt.Fprintf(b, "  %s%s\n", v.Name, v.directive())
		}
		b.WriteString("}\n")
	case "INPUT_OBJECT":
		oneOf := ""
		if t.IsOneOf {
			oneOf = " @oneOf"
		}
		fmt.Fprintf(b, "input %s%s {\n", t.Name, oneOf)
		for _, f := range t.InputFields {
			fmt.Fprintf(b, "  %s\n", f.sdl())
		}
		b.WriteString("}\n")
	case "OBJECT", "INTERFACE":
		keyword := map[string]string{"OBJECT": "type", "INTERFACE": "interface"}[t.Kind]
		fmt.Fprintf(b, "%s %s", keyword, t.Name)
		if len(t.Interfaces) > 0 {
			fmt.Fprintf(b, " implements %s", strings.Join(names(t.Interfaces), " & "))
		}
		b.WriteString(" {\n")
		for _, f := range t.Fields {
			fmt.Fprintf(b, "  %s%s: %s%s\n", f.Name, args(f.Args), f.Type, f.directive())
		}
		b.WriteString("}\n")
	}
}

func (v valueJSON) sdl() string {
	s := v.Name + ": " + v.Type.String()
	if v.DefaultValue != nil {
		s += " = " + *v.DefaultValue // introspection gives defaults as GraphQL literals already
	}
	return s + v.directive()
}

func args(list []valueJSON) string {
	if len(list) == 0 {
		return ""
	}
	parts := make([]string, len(list))
	for i, a := range list {
		parts[i] = a.sdl()
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func (d deprecation) directive() string {
	if !d.IsDeprecated {
		return ""
	}
	reason := "No longer supported"
	if d.DeprecationReason != nil {
		reason = *d.DeprecationReason
	}
	q, _ := json.Marshal(reason) // a JSON string is a valid GraphQL string literal
	return " @deprecated(reason: " + string(q) + ")"
}

func names(list []named) []string {
	out := make([]string, len(list))
	for i, n := range list {
		out[i] = n.Name
	}
	return out
}
