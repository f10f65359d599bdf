package shopify

import (
	"errors"
	"net/http"
	"regexp"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/retailbridge/retailbridge/services/sandbox/shopify/adminschema"
)

// The sandbox answers a document in two passes. First it validates the document, and the
// variables, against Shopify's published Admin schema of the requested version (vendored in
// adminschema), and refuses what Shopify would refuse, the way Shopify does: HTTP 200 with an
// errors array whose extensions.code is graphql-ruby's (Shopify's GraphQL engine) static
// validation code. Only then does it run the document against its own smaller schema, which a test
// keeps a subset of Shopify's. A field Shopify does not have can therefore never succeed here.

// vendorError is one entry of a refused document's errors array, in graphql-ruby's shape.
type vendorError struct {
	Message    string              `json:"message"`
	Locations  []gqlerror.Location `json:"locations,omitempty"`
	Extensions map[string]any      `json:"extensions,omitempty"`
}

// rubyCodes maps gqlparser's validation rules to the codes graphql-ruby reports for them.
var rubyCodes = map[string]string{
	"FieldsOnCorrectType":          "undefinedField",
	"KnownArgumentNames":           "argumentNotAccepted",
	"ProvidedRequiredArguments":    "missingRequiredArguments",
	"KnownTypeNames":               "undefinedType",
	"KnownDirectives":              "undefinedDirective",
	"ScalarLeafs":                  "selectionMismatch",
	"NoUnusedVariables":            "variableNotUsed",
	"NoUndefinedVariables":         "undefinedVariable",
	"VariablesInAllowedPosition":   "variableMismatch",
	"ValuesOfCorrectType":          "argumentLiteralsIncompatible",
	"UniqueArgumentNames":          "argumentNotUnique",
	"KnownFragmentNames":           "undefinedFragment",
	"NoUnusedFragments":            "useAndDefineFragment",
	"PossibleFragmentSpreads":      "cannotSpreadFragment",
	"VariablesAreInputTypes":       "variableRequiresValidType",
	"UniqueOperationNames":         "uniquelyNamedOperations",
	"LoneAnonymousOperation":       "anonymousOperationWithOtherOperations",
	"OverlappingFieldsCanBeMerged": "fieldConflict",
}

var undefinedField = regexp.MustCompile(`^Cannot query field "([^"]+)" on type "([^"]+)"\.`)

// toVendorErrors rewrites gqlparser's validation errors as Shopify reports them.
func toVendorErrors(list gqlerror.List) []vendorError {
	out := make([]vendorError, 0, len(list))
	for _, e := range list {
		ve := vendorError{Message: e.Message, Locations: e.Locations, Extensions: map[string]any{}}
		if code, ok := rubyCodes[e.Rule]; ok {
			ve.Extensions["code"] = code
		}
		if m := undefinedField.FindStringSubmatch(e.Message); m != nil {
			ve.Message = "Field '" + m[1] + "' doesn't exist on type '" + m[2] + "'"
			ve.Extensions["typeName"], ve.Extensions["fieldName"] = m[2], m[1]
		}
		if len(ve.Extensions) == 0 {
			ve.Extensions = nil
		}
		out = append(out, ve)
	}
	return out
}

// refusedByShopify answers the request, and reports true, when Shopify's schema of version refuses
// it, or when no schema of that version is vendored (the sandbox does not serve it: 404).
func refusedByShopify(w http.ResponseWriter, version string, req graphQLRequest, noCost func() *responseExtensions) bool {
	verrs, known := checkAgainstShopify(version, req)
	switch {
	case !known:
		writeJSON(w, http.StatusNotFound, map[string]string{"errors": "Not Found"})
	case verrs != nil:
		writeJSON(w, http.StatusOK, graphQLResponse{Errors: verrs, Extensions: noCost()})
	default:
		return false
	}
	return true
}

// checkAgainstShopify validates the request against Shopify's schema of version. It returns the
// errors to answer with, or nil when Shopify would accept the document; ok is false when no
// schema of that version is vendored (the sandbox does not serve it).
func checkAgainstShopify(version string, req graphQLRequest) (errs []vendorError, ok bool) {
	schema, err := adminschema.Load(version)
	if err != nil {
		return nil, false
	}
	doc, gerrs := gqlparser.LoadQuery(schema, req.Query)
	if len(gerrs) > 0 {
		return toVendorErrors(gerrs), true
	}
	op, _ := pickOperation(doc, req.OperationName)
	if op == nil {
		return nil, true // the second pass reports it, as it always has
	}
	if _, err := validator.VariableValues(schema, op, req.Variables); err != nil {
		return toVendorErrors(gqlerror.List{asGQLError(err)}), true
	}
	return nil, true
}

// asGQLError keeps gqlparser's variable error (message and location); graphql-ruby reports
// invalid variables without a code.
func asGQLError(err error) *gqlerror.Error {
	var e *gqlerror.Error
	if errors.As(err, &e) {
		return e
	}
	return &gqlerror.Error{Message: err.Error()}
}

// unsupported marks errors of the second pass: Shopify accepts the document, the sandbox's subset
// of the schema does not serve it. Saying so keeps a sandbox gap from passing for a Shopify refusal.
func unsupported(list gqlerror.List) []vendorError {
	out := make([]vendorError, 0, len(list))
	for _, e := range list {
		out = append(out, vendorError{Message: "The sandbox does not serve this part of Shopify's schema: " + e.Message,
			Locations: e.Locations, Extensions: map[string]any{"code": "SANDBOX_UNSUPPORTED"}})
	}
	return out
}
