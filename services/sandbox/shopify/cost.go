package shopify

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// maxQueryCost is Shopify's single-query limit, whatever the bucket size.
const maxQueryCost = 1000

// Query cost follows Shopify's published rules:
//
//   - scalars and enums cost 0;
//   - an object (or interface or union) costs 1 plus its selections; for abstract types the
//     most expensive possible concrete type counts;
//   - a connection costs 2 plus first (or last) times the cost of one node; edges, pageInfo and
//     cursors are covered by the 2;
//   - a plain list of objects (Order.fulfillments, Order.refunds) costs like one object: Shopify
//     publishes no rule for them.
//
// The requested cost is computed from the query alone, before anything runs; the actual cost
// walks the same selections over the data that came back, counting only returned objects.

// requestedCost is the static cost of op.
func requestedCost(s *ast.Schema, op *ast.OperationDefinition, vars map[string]any) (int, error) {
	return selectionCost(s, op.SelectionSet, s.Query, vars)
}

func selectionCost(s *ast.Schema, set ast.SelectionSet, t *ast.Definition, vars map[string]any) (int, error) {
	if !t.IsAbstractType() {
		return typeCost(s, set, t, vars)
	}
	best := 0
	for _, pt := range s.GetPossibleTypes(t) {
		c, err := typeCost(s, set, pt, vars)
		if err != nil {
			return 0, err
		}
		best = max(best, c)
	}
	return best, nil
}

func typeCost(s *ast.Schema, set ast.SelectionSet, t *ast.Definition, vars map[string]any) (int, error) {
	total := 0
	for _, f := range collectFields(s, set, t) {
		c, err := fieldCost(s, f, vars)
		if err != nil {
			return 0, err
		}
		total += c
	}
	return total, nil
}

func fieldCost(s *ast.Schema, f *mergedField, vars map[string]any) (int, error) {
	def := f.typeDef(s)
	if def == nil || def.IsLeafType() {
		return 0, nil
	}
	if !isConnection(def) {
		c, err := selectionCost(s, f.selections, def, vars)
		return 1 + c, err
	}
	n, err := pageSize(f.field, vars)
	if err != nil {
		return 0, err
	}
	node := 0
	for _, sub := range collectFields(s, f.selections, def) {
		switch sub.field.Name {
		case "nodes":
			c, err := selectionCost(s, sub.selections, sub.typeDef(s), vars)
			if err != nil {
				return 0, err
			}
			node += 1 + c
		case "edges":
			edgeDef := sub.typeDef(s)
			for _, e := range collectFields(s, sub.selections, edgeDef) {
				if e.field.Name != "node" {
					continue
				}
				c, err := selectionCost(s, e.selections, e.typeDef(s), vars)
				if err != nil {
					return 0, err
				}
				node += 1 + c
			}
		}
	}
	return 2 + n*node, nil
}

// pageSize reads first or last, as Shopify requires one of them on every connection.
func pageSize(f *ast.Field, vars map[string]any) (int, error) {
	args := f.ArgumentMap(vars)
	for _, name := range []string{"first", "last"} {
		v, ok := args[name]
		if !ok || v == nil {
			continue
		}
		n, ok := toInt(v)
		if !ok || n < 0 || n > maxPageSize {
			return 0, fmt.Errorf("%s: the page size must be between 0 and %d", f.Name, maxPageSize)
		}
		return n, nil
	}
	return 0, fmt.Errorf("%s: %w", f.Name, errNoPageSize)
}

func toInt(v any) (int, bool) {
	switch v := v.(type) {
	case int:
		return v, true
	case int32:
		return int(v), true
	case int64:
		return int(v), true
	case float64:
		if v == math.Trunc(v) {
			return int(v), true
		}
	case json.Number:
		n, err := v.Int64()
		return int(n), err == nil
	}
	return 0, false
}

func isConnection(def *ast.Definition) bool {
	return def.Kind == ast.Object && strings.HasSuffix(def.Name, "Connection")
}

// mergedField is every selection of one response key, merged as GraphQL execution merges them.
type mergedField struct {
	key        string
	field      *ast.Field
	selections ast.SelectionSet
}

func (m *mergedField) typeDef(s *ast.Schema) *ast.Definition {
	if m.field.Definition == nil {
		return nil
	}
	return s.Types[m.field.Definition.Type.Name()]
}

// collectFields gathers the fields that apply to concrete type t (all fragments when t is nil).
func collectFields(s *ast.Schema, set ast.SelectionSet, t *ast.Definition) []*mergedField {
	var out []*mergedField
	index := map[string]*mergedField{}
	var walk func(ast.SelectionSet)
	walk = func(set ast.SelectionSet) {
		for _, sel := range set {
			switch sel := sel.(type) {
			case *ast.Field:
				key := sel.Alias
				if key == "" {
					key = sel.Name
				}
				if m, ok := index[key]; ok {
					m.selections = append(m.selections, sel.SelectionSet...)
					continue
				}
				m := &mergedField{key: key, field: sel, selections: append(ast.SelectionSet(nil), sel.SelectionSet...)}
				index[key] = m
				out = append(out, m)
			case *ast.InlineFragment:
				if applies(s, sel.TypeCondition, t) {
					walk(sel.SelectionSet)
				}
			case *ast.FragmentSpread:
				if sel.Definition != nil && applies(s, sel.Definition.TypeCondition, t) {
					walk(sel.Definition.SelectionSet)
				}
			}
		}
	}
	walk(set)
	return out
}

func applies(s *ast.Schema, cond string, t *ast.Definition) bool {
	if t == nil || cond == "" || cond == t.Name {
		return true
	}
	cd := s.Types[cond]
	if cd == nil || !cd.IsAbstractType() {
		return false
	}
	for _, pt := range s.GetPossibleTypes(cd) {
		if pt.Name == t.Name {
			return true
		}
	}
	return false
}

// actualCost prices what came back in data for op.
func actualCost(s *ast.Schema, op *ast.OperationDefinition, data json.RawMessage) int {
	var root map[string]any
	if len(data) == 0 || json.Unmarshal(data, &root) != nil {
		return 0
	}
	return actualSelection(s, op.SelectionSet, root)
}

// actualSelection does not know the concrete type of abstract objects, so it takes every
// fragment and counts only the keys present in the returned object.
func actualSelection(s *ast.Schema, set ast.SelectionSet, obj map[string]any) int {
	total := 0
	for _, f := range collectFields(s, set, nil) {
		v, ok := obj[f.key]
		if !ok || v == nil {
			continue
		}
		total += actualField(s, f, v)
	}
	return total
}

func actualField(s *ast.Schema, f *mergedField, v any) int {
	def := f.typeDef(s)
	if def == nil || def.IsLeafType() {
		return 0
	}
	if isConnection(def) {
		conn, _ := v.(map[string]any)
		total := 2
		for _, sub := range collectFields(s, f.selections, nil) {
			list, _ := conn[sub.key].([]any)
			switch sub.field.Name {
			case "nodes":
				for _, n := range list {
					if m, ok := n.(map[string]any); ok {
						total += 1 + actualSelection(s, sub.selections, m)
					}
				}
			case "edges":
				for _, e := range list {
					em, _ := e.(map[string]any)
					for _, ef := range collectFields(s, sub.selections, nil) {
						if ef.field.Name != "node" {
							continue
						}
						if m, ok := em[ef.key].(map[string]any); ok {
							total += 1 + actualSelection(s, ef.selections, m)
						}
					}
				}
			}
		}
		return total
	}
	switch v := v.(type) {
	case map[string]any:
		return 1 + actualSelection(s, f.selections, v)
	case []any:
		most := 0
		for _, e := range v {
			if m, ok := e.(map[string]any); ok {
				most = max(most, actualSelection(s, f.selections, m))
			}
		}
		return 1 + most
	}
	return 0
}
