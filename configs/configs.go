// Package configs embeds the default configuration files so the binary runs anywhere with the
// same defaults the repository documents. Files given by path override them.
package configs

import _ "embed"

// ReturnPolicy is the default return policy (returns-policy.yaml).
//
//go:embed returns-policy.yaml
var ReturnPolicy []byte

// RateLimits is the default gateway rate-limit policy set (rate-limits.yaml).
//
//go:embed rate-limits.yaml
var RateLimits []byte

// Tenants is the default partner tenant directory (tenants.yaml).
//
//go:embed tenants.yaml
var Tenants []byte

// Deprecations lists the deprecated HTTP operations with their sunset dates
// (http/deprecations.yaml). It is part of the API's release, so it has no override.
//
//go:embed http/deprecations.yaml
var Deprecations []byte

// InventoryChannels is the default sales channel configuration of available-to-sell
// (inventory-channels.yaml).
//
//go:embed inventory-channels.yaml
var InventoryChannels []byte
