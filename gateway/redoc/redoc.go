// Package redoc embeds Redoc's standalone bundle, the OpenAPI renderer behind the gateway's /docs,
// so the reference renders every request and response field, enum and example of the served
// OpenAPI 3.1 document without fetching anything from another origin. The bundle is vendored
// unmodified from the npm package; README.md records its name, version, license and checksum and
// says how to update it.
package redoc

import _ "embed"

// Version is the vendored redoc npm package's version.
const Version = "2.5.4"

// SHA256 is the hex SHA-256 of redoc.standalone.js as published in redoc@2.5.4
// (package/bundles/redoc.standalone.js); a test holds the embedded file to it.
const SHA256 = "dcaf76612bc4a3fbcc923a8966dee2f6146a5f32e5ce1b6f02dd60cbbf89500b"

// Standalone is bundles/redoc.standalone.js: Redoc with React and its other dependencies in one
// script. On load it renders the <redoc spec-url="…"> element of the page.
//
//go:embed redoc.standalone.js
var Standalone []byte
