package shopify

import (
	"fmt"
	"slices"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/retailbridge/retailbridge/services/sandbox/shopify/adminschema"
)

// TestSchemaIsShopifySubset holds the sandbox's own schema to Shopify's published one, for every
// version the sandbox serves: each type, field, argument, input field, enum value and directive
// the sandbox declares exists in Shopify's schema with the same type, and whatever Shopify
// requires the sandbox requires too. A sandbox that invents a field (as RefundUserError.code was)
// would otherwise let a connector depend on it.
func TestSchemaIsShopifySubset(t *testing.T) {
	t.Parallel()
	ours := gqlparser.MustLoadSchema(&ast.Source{Name: "shopify.graphql", Input: schemaSDL})
	for _, version := range DefaultAPIVersions {
		theirs, err := adminschema.Load(version)
		if err != nil {
			t.Fatal(err)
		}
		for _, problem := range subsetProblems(ours, theirs) {
			t.Errorf("%s: %s", version, problem)
		}
	}
}

func subsetProblems(ours, theirs *ast.Schema) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for name, def := range ours.Types {
		if def.BuiltIn {
			continue
		}
		v := theirs.Types[name]
		if v == nil {
			add("type %s does not exist in Shopify's schema", name)
			continue
		}
		if v.Kind != def.Kind {
			add("%s is a %s here, a %s at Shopify", name, def.Kind, v.Kind)
			continue
		}
		for _, i := range def.Interfaces {
			if !slices.Contains(v.Interfaces, i) {
				add("%s implements %s here, not at Shopify", name, i)
			}
		}
		for _, m := range def.Types {
			if !slices.Contains(v.Types, m) {
				add("union %s has member %s here, not at Shopify", name, m)
			}
		}
		for _, ev := range def.EnumValues {
			if v.EnumValues.ForName(ev.Name) == nil {
				add("enum value %s.%s does not exist at Shopify", name, ev.Name)
			}
		}
		for _, f := range def.Fields {
			vf := v.Fields.ForName(f.Name)
			if vf == nil {
				add("field %s.%s does not exist at Shopify", name, f.Name)
				continue
			}
			if f.Type.String() != vf.Type.String() {
				add("%s.%s is %s here, %s at Shopify", name, f.Name, f.Type, vf.Type)
			}
			out = append(out, argProblems(name+"."+f.Name, f.Arguments, vf.Arguments)...)
		}
		if def.Kind == ast.InputObject {
			for _, vf := range v.Fields {
				if vf.Type.NonNull && vf.DefaultValue == nil && def.Fields.ForName(vf.Name) == nil {
					add("input %s lacks Shopify's required field %s", name, vf.Name)
				}
			}
		}
	}
	for name, d := range ours.Directives {
		if d.Position != nil && d.Position.Src.BuiltIn {
			continue
		}
		vd := theirs.Directives[name]
		if vd == nil {
			add("directive @%s does not exist at Shopify", name)
			continue
		}
		out = append(out, argProblems("@"+name, d.Arguments, vd.Arguments)...)
	}
	slices.Sort(out)
	return out
}

func argProblems(where string, ours, theirs ast.ArgumentDefinitionList) []string {
	var out []string
	for _, a := range ours {
		va := theirs.ForName(a.Name)
		switch {
		case va == nil:
			out = append(out, fmt.Sprintf("argument %s(%s) does not exist at Shopify", where, a.Name))
		case a.Type.String() != va.Type.String():
			out = append(out, fmt.Sprintf("argument %s(%s) is %s here, %s at Shopify", where, a.Name, a.Type, va.Type))
		}
	}
	for _, va := range theirs {
		if va.Type.NonNull && va.DefaultValue == nil && ours.ForName(va.Name) == nil {
			out = append(out, fmt.Sprintf("%s lacks Shopify's required argument %s", where, va.Name))
		}
	}
	return out
}
