package gateway

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// The plain reference's request and response shapes: each operation names its request and
// response schemas, and a Schemas section lists every schema of the document once, with its
// fields, their types, enums and whether they are required, linked to each other.

type (
	// refType names a type for people; Ref, when set, is a schema of the Schemas section.
	refType struct {
		Text, Ref string
		// Suffix follows the name: "[]" for a list, "{}" for a map keyed by string.
		Suffix string
	}
	refProp struct {
		Name        string
		Type        refType
		Required    bool
		Enum        []string
		Description refText
	}
	refSchema struct {
		Name        string
		Type        refType
		Description refText
		Enum        []string
		Props       []refProp
	}
	refResponse struct {
		Status, Description string
		Schema              refType
	}

	oasMedia struct {
		Schema *oasSchema `json:"schema"`
	}
	oasResponse struct {
		Ref         string              `json:"$ref"`
		Description string              `json:"description"`
		Content     map[string]oasMedia `json:"content"`
	}
)

const schemaRefPrefix = "#/components/schemas/"

// refSchemas lists the document's named schemas by name.
func refSchemas(schemas map[string]*oasSchema) []refSchema {
	var out []refSchema
	for _, name := range slices.Sorted(maps.Keys(schemas)) {
		s := schemas[name]
		if s == nil {
			continue
		}
		rs := refSchema{Name: name, Type: refTypeOf(s), Description: parseRefText(s.Description), Enum: enumValues(s.Enum)}
		for _, p := range slices.Sorted(maps.Keys(s.Properties)) {
			ps := s.Properties[p]
			if ps == nil {
				continue
			}
			rs.Props = append(rs.Props, refProp{Name: p, Type: refTypeOf(ps), Required: slices.Contains(s.Required, p),
				Enum: enumValues(ps.Enum), Description: parseRefText(ps.Description)})
		}
		// Required fields first, as a client writes a request.
		slices.SortStableFunc(rs.Props, func(a, b refProp) int {
			switch {
			case a.Required == b.Required:
				return 0
			case a.Required:
				return -1
			}
			return 1
		})
		out = append(out, rs)
	}
	return out
}

// refTypeOf names s: a linked schema, a list or map of one, or a JSON type with its format.
func refTypeOf(s *oasSchema) refType {
	switch {
	case s == nil:
		return refType{}
	case s.Ref != "":
		return refType{Ref: strings.TrimPrefix(s.Ref, schemaRefPrefix)}
	case len(s.AllOf) == 1:
		return refTypeOf(s.AllOf[0])
	}
	var one string
	var many []string
	switch {
	case json.Unmarshal(s.Type, &one) == nil:
	case json.Unmarshal(s.Type, &many) == nil:
		one = strings.Join(many, " | ")
	}
	switch {
	case one == "array":
		t := refTypeOf(s.Items)
		t.Suffix += "[]"
		return t
	case one == "object" && len(s.Properties) == 0 && len(s.AdditionalProperties) > 0 && string(s.AdditionalProperties) != "false":
		var values oasSchema
		if json.Unmarshal(s.AdditionalProperties, &values) == nil && (values.Ref != "" || len(values.Type) > 0) {
			t := refTypeOf(&values)
			t.Suffix += "{}"
			return t
		}
	}
	if s.Format != "" {
		one += " (" + s.Format + ")"
	}
	return refType{Text: one}
}

// enumValues renders enum members as they are written in JSON.
func enumValues(vs []any) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		switch v := v.(type) {
		case string:
			out = append(out, v)
		case float64:
			out = append(out, strconv.FormatFloat(v, 'g', -1, 64))
		default:
			b, _ := json.Marshal(v)
			out = append(out, string(b))
		}
	}
	return out
}

// refResponses lists an operation's responses by status, resolving shared responses.
func refResponses(rs map[string]oasResponse, shared map[string]oasResponse) ([]refResponse, error) {
	var out []refResponse
	for _, status := range slices.Sorted(maps.Keys(rs)) {
		r := rs[status]
		if r.Ref != "" {
			name, ok := strings.CutPrefix(r.Ref, "#/components/responses/")
			sr, found := shared[name]
			if !ok || !found {
				return nil, fmt.Errorf("unresolvable response %s", r.Ref)
			}
			r = sr
		}
		rr := refResponse{Status: status, Description: r.Description}
		for _, mt := range slices.Sorted(maps.Keys(r.Content)) {
			if s := r.Content[mt].Schema; s != nil {
				rr.Schema = refTypeOf(s)
				break
			}
		}
		out = append(out, rr)
	}
	return out, nil
}

// requestSchema names the schema of an operation's body, whatever its media type.
func requestSchema(content map[string]oasMedia) refType {
	for _, mt := range slices.Sorted(maps.Keys(content)) {
		if s := content[mt].Schema; s != nil {
			return refTypeOf(s)
		}
	}
	return refType{}
}
