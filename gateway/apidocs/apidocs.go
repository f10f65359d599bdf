// Package apidocs embeds the OpenAPI document generated from the contracts and the HTTP rules
// (configs/http/gateway.yaml). `make gen` rewrites the JSON; never edit it by hand.
package apidocs

import _ "embed"

// OpenAPI is the generated OpenAPI (Swagger 2.0) document of the REST routes.
//
//go:embed retailbridge.swagger.json
var OpenAPI []byte
