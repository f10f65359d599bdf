package config

import (
	"fmt"
	"strings"

	"github.com/retailbridge/retailbridge/pkg/auth"
)

// Route keys: what a call to a system kind is routed by.
const (
	RouteByTenant  = "tenant"
	RouteByChannel = "channel"
)

// VendorRoute sends one tenant's or one sales channel's calls of a system kind to a vendor other
// than the kind's default (RB_<KIND>_VENDOR): entries of RB_VENDOR_ROUTES such as
// "wms:tenant:acme=edi3pl" or "erp:channel:globex-b2b=businesscentral".
type VendorRoute struct {
	// Kind is the system kind ("wms", "erp", …); the stack checks it and Vendor against the
	// kinds' registries.
	Kind string
	// By is RouteByTenant or RouteByChannel; Key is the tenant id or the channel (the commerce
	// platform's order source name).
	By, Key string
	Vendor  string
}

// String is the entry as RB_VENDOR_ROUTES spells it.
func (r VendorRoute) String() string { return r.Kind + ":" + r.By + ":" + r.Key + "=" + r.Vendor }

// ParseVendorRoutes reads RB_VENDOR_ROUTES, a comma-separated list of kind:tenant:<id>=vendor
// and kind:channel:<source>=vendor. A malformed entry is kept with what could be read, for
// badVendorRoutes to name.
func ParseVendorRoutes(s string) []VendorRoute {
	var out []VendorRoute
	for _, entry := range splitList(s) {
		lhs, vendor, _ := strings.Cut(entry, "=")
		var r VendorRoute
		parts := strings.SplitN(lhs, ":", 3)
		r.Kind = strings.TrimSpace(parts[0])
		if len(parts) > 1 {
			r.By = strings.TrimSpace(parts[1])
		}
		if len(parts) > 2 {
			r.Key = strings.TrimSpace(parts[2])
		}
		r.Vendor = strings.TrimSpace(vendor)
		out = append(out, r)
	}
	return out
}

// badVendorRoutes names every malformed or contradictory RB_VENDOR_ROUTES entry. A route given
// twice with the same vendor is harmless; with two vendors it is ambiguous.
func badVendorRoutes(routes []VendorRoute) []string {
	var bad []string
	add := func(r VendorRoute, msg string) {
		bad = append(bad, fmt.Sprintf("RB_VENDOR_ROUTES: %q %s", r.String(), msg))
	}
	seen := map[string]string{}
	for _, r := range routes {
		switch {
		case r.Kind == "" || r.By == "" || r.Key == "" || r.Vendor == "":
			add(r, "is not kind:tenant:<id>=vendor or kind:channel:<source>=vendor")
			continue
		case r.By != RouteByTenant && r.By != RouteByChannel:
			add(r, fmt.Sprintf("routes by %q; a route is by tenant or channel", r.By))
			continue
		case strings.ContainsAny(r.Kind+r.Vendor, " :"):
			add(r, "has a space or ':' in its kind or vendor")
			continue
		case r.By == RouteByTenant && auth.ValidTenant(r.Key) != nil:
			add(r, "names a tenant that is not 1 to 64 letters, digits, '-', '_' or '.' (as tenant ids are)")
			continue
		}
		at := r.Kind + ":" + r.By + ":" + r.Key
		if prev, ok := seen[at]; ok && prev != r.Vendor {
			add(r, fmt.Sprintf("contradicts %s=%s", at, prev))
			continue
		}
		seen[at] = r.Vendor
	}
	return bad
}
