package adminschema

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/vektah/gqlparser/v2/ast"
)

// Deprecated lists the deprecated schema elements a validated document uses — fields, arguments,
// input fields and enum values, whether written in the document or reached through vars — each as
// "Type.field: reason". Shopify removes deprecated elements in a later API version, so a client
// that uses one breaks on an upgrade; validation alone does not say so. doc must come from
// gqlparser.LoadQuery against schema, which links each node to its definition.
func Deprecated(schema *ast.Schema, doc *ast.QueryDocument, vars map[string]any) ([]string, error) {
	c := &checker{schema: schema}
	for _, op := range doc.Operations {
		c.selections(op.SelectionSet)
		c.directives(op.Directives)
		if err := c.variables(op.VariableDefinitions, vars); err != nil {
			return nil, err
		}
	}
	for _, f := range doc.Fragments {
		c.selections(f.SelectionSet)
	}
	slices.Sort(c.found)
	return slices.Compact(c.found), nil
}

type checker struct {
	schema *ast.Schema
	found  []string
}

func (c *checker) mark(list ast.DirectiveList, what string) {
	d := list.ForName("deprecated")
	if d == nil {
		return
	}
	reason := "No longer supported"
	if a := d.Arguments.ForName("reason"); a != nil && a.Value != nil {
		reason = a.Value.Raw
	}
	c.found = append(c.found, what+": "+reason)
}

func (c *checker) selections(set ast.SelectionSet) {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if def := s.Definition; def != nil && s.ObjectDefinition != nil {
				c.mark(def.Directives, s.ObjectDefinition.Name+"."+s.Name)
				for _, a := range s.Arguments {
					if ad := def.Arguments.ForName(a.Name); ad != nil {
						c.mark(ad.Directives, fmt.Sprintf("%s.%s(%s)", s.ObjectDefinition.Name, s.Name, a.Name))
					}
					c.value(a.Value)
				}
			}
			c.directives(s.Directives)
			c.selections(s.SelectionSet)
		case *ast.InlineFragment:
			c.directives(s.Directives)
			c.selections(s.SelectionSet)
		case *ast.FragmentSpread:
			c.directives(s.Directives) // the fragment itself is walked once, from doc.Fragments
		}
	}
}

func (c *checker) directives(list ast.DirectiveList) {
	for _, d := range list {
		if d.Definition == nil {
			continue
		}
		for _, a := range d.Arguments {
			if ad := d.Definition.Arguments.ForName(a.Name); ad != nil {
				c.mark(ad.Directives, fmt.Sprintf("@%s(%s)", d.Name, a.Name))
			}
			c.value(a.Value)
		}
	}
}

// value checks a literal: enum values and input object fields written in the document.
func (c *checker) value(v *ast.Value) {
	if v == nil {
		return
	}
	def := v.Definition
	if def == nil && v.ExpectedType != nil {
		def = c.schema.Types[v.ExpectedType.Name()]
	}
	switch v.Kind {
	case ast.EnumValue:
		if def != nil {
			if ev := def.EnumValues.ForName(v.Raw); ev != nil {
				c.mark(ev.Directives, def.Name+"."+v.Raw)
			}
		}
	case ast.ObjectValue:
		for _, child := range v.Children {
			if def != nil {
				if f := def.Fields.ForName(child.Name); f != nil {
					c.mark(f.Directives, def.Name+"."+child.Name)
				}
			}
			c.value(child.Value)
		}
	case ast.ListValue:
		for _, child := range v.Children {
			c.value(child.Value)
		}
	}
}

// variables checks the values sent for the operation's variables against their declared types.
// vars may hold Go structs: they are read as the JSON they will be sent as.
func (c *checker) variables(defs ast.VariableDefinitionList, vars map[string]any) error {
	if len(vars) == 0 {
		return nil
	}
	raw, err := json.Marshal(vars)
	if err != nil {
		return err
	}
	var values map[string]any
	if err := json.Unmarshal(raw, &values); err != nil {
		return err
	}
	for _, d := range defs {
		if v, ok := values[d.Variable]; ok {
			c.input(d.Type, v)
		}
	}
	return nil
}

func (c *checker) input(t *ast.Type, v any) {
	if t.Elem != nil {
		list, _ := v.([]any)
		for _, item := range list {
			c.input(t.Elem, item)
		}
		return
	}
	def := c.schema.Types[t.NamedType]
	if def == nil {
		return
	}
	switch def.Kind {
	case ast.Enum:
		if s, ok := v.(string); ok {
			if ev := def.EnumValues.ForName(s); ev != nil {
				c.mark(ev.Directives, def.Name+"."+s)
			}
		}
	case ast.InputObject:
		obj, _ := v.(map[string]any)
		for name, child := range obj {
			if f := def.Fields.ForName(name); f != nil {
				c.mark(f.Directives, def.Name+"."+name)
				c.input(f.Type, child)
			}
		}
	}
}
