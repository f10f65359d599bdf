package adminschema

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/vektah/gqlparser/v2/validator"
)

// FromIntrospection prints a standard introspection result ({"data":{"__schema":…}}, as Shopify
// publishes its schemas) as SDL that gqlparser loads: everything validation needs, without
// descriptions, and without what gqlparser's prelude declares itself.
func FromIntrospection(r io.Reader) (string, error) {
	var doc introspection
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return "", err
	}
	if len(doc.Data.Schema.Types) == 0 {
		return "", fmt.Errorf("not an introspection result: no types")
	}
	return toSDL(&doc.Data.Schema), nil
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
