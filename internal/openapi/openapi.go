// Package openapi builds the OpenAPI 3.1 document the gateway serves at /openapi.json.
//
// It starts from the Swagger 2.0 document protoc-gen-openapiv2 writes from the contracts and the
// HTTP rules (gateway/apidocs/retailbridge.swagger.json), converts it with kin-openapi, and adds
// what the contracts cannot say: the three audiences and their tokens, partner scopes,
// Idempotency-Key, RFC 9457 errors, rate-limit headers, and the routes the gateway serves by
// hand. It runs at generation time (`make gen`, cmd/openapi-build), so the served document is a
// committed file that review and gen-check see, and nothing is assembled at startup.
package openapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3conv"
)

// Version is the OpenAPI version of the built document.
const Version = "3.1.0"

// Build turns the Swagger 2.0 document swagger into the served OpenAPI 3.1 document, validated
// and serialised deterministically (sorted keys, two-space indent, no HTML escaping), so that
// regenerating from the same input gives the same bytes.
func Build(ctx context.Context, swagger []byte) ([]byte, error) {
	var v2 openapi2.T
	if err := json.Unmarshal(swagger, &v2); err != nil {
		return nil, fmt.Errorf("openapi: read the Swagger document: %w", err)
	}
	rpcs, err := rpcNames(&v2)
	if err != nil {
		return nil, err
	}
	converted, err := openapi2conv.ToV3(&v2)
	if err != nil {
		return nil, fmt.Errorf("openapi: convert to OpenAPI 3: %w", err)
	}
	// Reload the conversion so every $ref is resolved before the 3.0 → 3.1 rewrites walk it.
	doc, _, err := load(ctx, converted)
	if err != nil {
		return nil, fmt.Errorf("openapi: the converted document: %w", err)
	}
	openapi3conv.Upgrade(doc)
	// Upgrade writes the newest 3.x it knows; 3.1 → 3.2 adds fields and rewrites none, and
	// nothing here uses a 3.2 field, so the document is 3.1 as it stands.
	doc.OpenAPI = Version

	doc.Info = info()
	doc.Tags = tags()
	doc.Servers = nil
	if err := addComponents(doc); err != nil {
		return nil, err
	}
	if err := decorateProcessRoutes(doc, rpcs); err != nil {
		return nil, err
	}
	if err := applyInputRules(doc); err != nil {
		return nil, err
	}
	if err := addGatewayRoutes(doc); err != nil {
		return nil, err
	}
	_, out, err := load(ctx, doc)
	if err != nil {
		return nil, fmt.Errorf("openapi: the built document: %w", err)
	}
	return out, nil
}

// load serialises doc canonically, loads the bytes back with every reference resolved and
// validates the result, as a client of the served document would.
func load(ctx context.Context, doc *openapi3.T) (*openapi3.T, []byte, error) {
	b, err := canonical(doc)
	if err != nil {
		return nil, nil, err
	}
	l := openapi3.NewLoader()
	l.IsExternalRefsAllowed = false
	loaded, err := l.LoadFromData(b)
	if err != nil {
		return nil, nil, err
	}
	if err := loaded.Validate(ctx); err != nil {
		return nil, nil, err
	}
	return loaded, b, nil
}

// canonical is doc as indented JSON with sorted keys. kin-openapi marshals through maps (so keys
// come out sorted) but with encoding/json's HTML escaping, which would turn every "<reason>" in
// a description into "\u003creason\u003e"; one decode and re-encode undoes that. Numbers stay
// json.Number, so none is reformatted.
func canonical(doc *openapi3.T) ([]byte, error) {
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi: marshal: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("openapi: re-read: %w", err)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("openapi: encode: %w", err)
	}
	return out.Bytes(), nil
}

// sortedKeys returns the keys of m in order, so that every walk over a map is deterministic.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// errUnknownRoute reports a generated route this package has no rules for: the document would
// otherwise publish it without security or with the wrong scope.
var errUnknownRoute = errors.New("openapi: no documentation rule")
