// Package apidocs embeds the API documents generated from the contracts and the HTTP rules
// (configs/http/gateway.yaml). `make gen` rewrites both JSON files; never edit them by hand.
//
// retailbridge.swagger.json is protoc-gen-openapiv2's Swagger 2.0 output, kept as the input of
// internal/openapi, which builds openapi.json from it: the OpenAPI 3.1 document the gateway
// serves, with the audiences' security, partner scopes, Idempotency-Key, problem responses,
// rate-limit headers and the routes the gateway serves by hand.
package apidocs

import _ "embed"

// OpenAPI is the served OpenAPI 3.1 document of every REST route.
//
//go:embed openapi.json
var OpenAPI []byte
