package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/retailbridge/retailbridge/internal/openapi"
	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/idempotency"
)

// contract checks requests to the process APIs against the document the gateway serves at
// /openapi.json: the same bytes, so what the document allows is exactly what the gateway lets
// through, and a rule changes in one place (internal/openapi's rules table).
type contract struct {
	doc    *openapi3.T
	router *openapi.Router
	// validated is doc labelled 3.0: for a 3.1 document kin-openapi compiles a JSON Schema
	// 2020-12 validator on every call (about 0.4 ms and 1,800 allocations per request);
	// under the 3.0 label it uses its built-in validator, which reads the same keywords the
	// rules use (types, required, bounds, enum, allOf, readOnly, additionalProperties) the same
	// way.
	validated *openapi3.T
	passed    passedChecks // requests allowed before (contractcache.go)
}

func newContract(ctx context.Context, served []byte) (*contract, error) {
	doc, err := openapi.LoadDocument(ctx, served)
	if err != nil {
		return nil, fmt.Errorf("gateway: the served OpenAPI document: %w", err)
	}
	r, err := openapi.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("gateway: the served OpenAPI document: %w", err)
	}
	legacy := *doc
	legacy.OpenAPI = "3.0.3"
	return &contract{doc: doc, router: r, validated: &legacy}, nil
}

// reasonInvalidRequest is the reason of every request the document refuses.
const reasonInvalidRequest = "invalid_request"

// validate refuses, with a 400 naming every bad field, a request the served document does not
// allow, before it reaches the idempotency layer or a process API. Paths the document does not
// have pass through, and grpc-gateway answers them 404 or 405.
func (g *Gateway) validate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route, params, err := g.contract.router.FindRoute(r)
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		if bad := g.contract.check(r, route, params); len(bad) > 0 {
			p := errs.ProblemFor(errs.E(errs.Invalid, reasonInvalidRequest, "the request has invalid fields").WithFields(bad...))
			p.RequestID, p.Instance = correlation(r.Context()), r.URL.Path
			p.Write(w)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// check returns the request's violations of its operation: unknown query parameters, a body
// that is not exactly one well-formed JSON value, and everything the operation's parameters and
// body schema say (types, required fields, bounds, enums, unknown properties).
func (c *contract) check(r *http.Request, route *routers.Route, params map[string]string) []errs.FieldViolation {
	bad := unknownQueryParameters(r, route.Operation)
	if len(bad) > 0 {
		return bad
	}
	body, held := rewind(r)
	if !held && r.Body != nil {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			return []errs.FieldViolation{{Field: "body", Description: "could not be read"}}
		}
		r.Body = newHeldBody(body)
	}
	if route.Operation.RequestBody != nil && len(bytes.TrimSpace(body)) > 0 {
		if v, ok := strictJSON(body); !ok {
			return []errs.FieldViolation{v}
		}
		if r.Header.Get("Content-Type") == "" {
			// bodyLimit lets a body without a media type through as JSON; so does the document.
			r.Header.Set("Content-Type", "application/json")
		}
	}
	key := c.passed.key(r, route, params, body)
	if c.passed.has(key) {
		if r.Body != nil {
			r.Body = newHeldBody(body)
		}
		return nil
	}
	rt := *route
	rt.Spec = c.validated
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: &rt,
		Options: &openapi3filter.Options{MultiError: true, SkipSettingDefaults: true,
			// Tokens were verified by the gateway already; the document only names them.
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	err := openapi3filter.ValidateRequest(r.Context(), in)
	if r.Body != nil {
		r.Body = newHeldBody(body)
	}
	if err == nil {
		c.passed.add(key)
		return nil
	}
	return fieldViolations(err)
}

// unknownQueryParameters names every query parameter the operation does not declare: grpc-gateway
// would otherwise ignore some and fail on others with its parser's words.
func unknownQueryParameters(r *http.Request, op *openapi3.Operation) []errs.FieldViolation {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return []errs.FieldViolation{{Field: "query", Description: "is not a well-formed query string"}}
	}
	var bad []errs.FieldViolation
	for _, name := range sortedQueryKeys(q) {
		if p := op.Parameters.GetByInAndName(openapi3.ParameterInQuery, name); p == nil {
			bad = append(bad, errs.FieldViolation{Field: plainField(name), Description: "is not a parameter of this operation"})
		}
	}
	return bad
}

func sortedQueryKeys(q url.Values) []string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func joinField(at, name string) string {
	if at == "" {
		return plainField(name)
	}
	return at + "." + plainField(name)
}

// plainField shortens a caller-chosen name for echoing in a problem: at most 64 bytes, never
// cut inside a character.
func plainField(name string) string {
	const max = 64
	if len(name) <= max {
		return name
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(name[cut]) {
		cut--
	}
	return name[:cut] + "…"
}

// fieldViolations turns kin-openapi's errors into field violations in plain words: the field's
// name (a parameter, or a body member as `lines[0].quantity`) and what is wrong with it, never a
// parser's message.
func fieldViolations(err error) []errs.FieldViolation {
	var out []errs.FieldViolation
	for _, e := range flatten(err) {
		var re *openapi3filter.RequestError
		if !errors.As(e, &re) {
			out = append(out, errs.FieldViolation{Field: "request", Description: "is not valid"})
			continue
		}
		if re.Parameter != nil && re.Parameter.In == openapi3.ParameterInHeader && re.Parameter.Name == idempotency.HeaderKey {
			continue // the idempotency layer answers for its header, with its own reasons
		}
		field := "body"
		if re.Parameter != nil {
			field = plainField(re.Parameter.Name)
		}
		for _, inner := range flatten(re.Err) {
			out = append(out, describe(field, re.Parameter, re.Reason, inner))
		}
		if re.Err == nil {
			out = append(out, describe(field, re.Parameter, re.Reason, nil))
		}
	}
	return out
}

// flatten lists the errors inside kin-openapi's multi-errors.
func flatten(err error) []error {
	// Only a multi-error itself is split: errors.As would look through a RequestError and lose
	// which parameter or body its errors are about.
	if multi, ok := err.(openapi3.MultiError); ok {
		var out []error
		for _, e := range multi {
			out = append(out, flatten(e)...)
		}
		return out
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

// describe is one violation of field. A schema error inside the body names the member it is
// about; the description is kin-openapi's schema reason (which never quotes the value) or a
// fixed phrase, never the text of a parser error.
func describe(field string, param *openapi3.Parameter, reason string, err error) errs.FieldViolation {
	isParam := param != nil
	var se *openapi3.SchemaError
	var pe *openapi3filter.ParseError
	switch {
	case errors.As(err, &se):
		pointer := se.JSONPointer()
		if !isParam {
			field = memberField(pointer)
		}
		if name, ok := propertyIn(se.Reason); ok {
			if len(pointer) == 0 || pointer[len(pointer)-1] != name {
				field = strings.TrimPrefix(joinField(strings.TrimPrefix(field, "body"), name), ".")
			}
			if se.SchemaField == "required" {
				return errs.FieldViolation{Field: field, Description: "is required"}
			}
			return errs.FieldViolation{Field: field, Description: "is not a field of this request"}
		}
		return errs.FieldViolation{Field: field, Description: keywordRule(se)}
	case errors.As(err, &pe) && isParam && param.Schema != nil && param.Schema.Value != nil && param.Schema.Value.Type != nil:
		return errs.FieldViolation{Field: field, Description: "must be " + typeWords(param.Schema.Value.Type)}
	case errors.As(err, &pe):
		return errs.FieldViolation{Field: field, Description: "is not a valid value for this field"}
	case errors.Is(err, openapi3filter.ErrInvalidRequired) || strings.Contains(reason, "required"):
		return errs.FieldViolation{Field: field, Description: "is required"}
	case errors.Is(err, openapi3filter.ErrInvalidEmptyValue):
		return errs.FieldViolation{Field: field, Description: "must not be empty"}
	}
	return errs.FieldViolation{Field: field, Description: "is not valid"}
}

// memberField renders a JSON pointer as `lines[0].quantity`, or "body" for the whole body.
func memberField(pointer []string) string {
	var b strings.Builder
	for _, p := range pointer {
		if _, err := strconv.Atoi(p); err == nil {
			b.WriteString("[" + p + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(plainField(p))
	}
	if b.Len() == 0 {
		return "body"
	}
	return b.String()
}

// propertyIn extracts the member a schema reason names (`property "x" is missing` or
// `… is unsupported`).
func propertyIn(reason string) (string, bool) {
	rest, ok := strings.CutPrefix(reason, "property ")
	if !ok {
		return "", false
	}
	for _, tail := range []string{" is missing", " is unsupported"} {
		if q, ok := strings.CutSuffix(rest, tail); ok {
			if name, err := strconv.Unquote(q); err == nil {
				return plainField(name), true
			}
		}
	}
	return "", false
}

// decoderText are fragments of Go parser messages, which no description may carry: they would
// tell the caller about the gateway's insides rather than its own field. Descriptions are built
// from the failing schema keyword, never from a validator's or parser's message.
var decoderText = []string{"proto:", "strconv.", "unexpected EOF", "invalid character", "json:", "syntax error"}

// typeWords is "a string", "an integer", "an array or a null" for a schema's types.
func typeWords(t *openapi3.Types) string {
	var words []string
	for _, name := range t.Slice() {
		article := "a "
		if strings.ContainsAny(name[:1], "aeiou") {
			article = "an "
		}
		words = append(words, article+name)
	}
	return strings.Join(words, " or ")
}

// keywordRule says in plain words what the schema keyword that failed requires.
func keywordRule(se *openapi3.SchemaError) string {
	s := se.Schema
	if s == nil {
		s = &openapi3.Schema{}
	}
	num := func(f *float64) string { return strconv.FormatFloat(*f, 'f', -1, 64) }
	var inner *openapi3.SchemaError
	if se.SchemaField == "allOf" && len(s.Enum) > 0 {
		se = &openapi3.SchemaError{SchemaField: "enum", Schema: s} // a narrowed enum: its own values
	} else if se.SchemaField == "allOf" && errors.As(se.Origin, &inner) && inner != se {
		return keywordRule(inner) // a narrowed property: the rule that failed is inside
	}
	switch {
	case se.SchemaField == "type" && s.Type != nil && len(s.Type.Slice()) > 0:
		return "must be " + typeWords(s.Type)
	case se.SchemaField == "nullable" || se.SchemaField == "type":
		return "must not be null"
	case se.SchemaField == "enum" && len(s.Enum) > 0 && len(s.Enum) <= 12:
		names := make([]string, len(s.Enum))
		for i, v := range s.Enum {
			names[i] = fmt.Sprint(v)
		}
		return "must be one of " + strings.Join(names, ", ")
	case se.SchemaField == "maximum" && s.Max != nil:
		return "must be at most " + num(s.Max)
	case se.SchemaField == "minimum" && s.Min != nil:
		return "must be at least " + num(s.Min)
	case se.SchemaField == "maxLength" && s.MaxLength != nil:
		return fmt.Sprintf("must be at most %d characters", *s.MaxLength)
	case se.SchemaField == "minLength":
		return fmt.Sprintf("must be at least %d characters", s.MinLength)
	case se.SchemaField == "maxItems" && s.MaxItems != nil:
		return fmt.Sprintf("must have at most %d items", *s.MaxItems)
	case se.SchemaField == "minItems":
		return fmt.Sprintf("must have at least %d items", s.MinItems)
	case se.SchemaField == "readOnly":
		return "is decided by Retailbridge; do not send it"
	case se.SchemaField == "required":
		return "is required"
	case se.SchemaField == "additionalProperties":
		return "is not a field of this request"
	case se.SchemaField == "format" || se.SchemaField == "pattern":
		return "is not in the expected format"
	}
	return "is not valid"
}
