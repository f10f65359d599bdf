package vendors

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"google.golang.org/grpc/metadata"
)

// Metadata keys that carry a call's route to a system kind's service. They are part of every
// system API's contract: a caller that knows whose work a call is (the return's tenant, the
// order's sales channel) sets them with WithRoute, and a kind served over several vendors sends
// the call to the vendor configured for that tenant or channel (Table).
const (
	RouteTenantKey  = "rb-route-tenant"
	RouteChannelKey = "rb-route-channel"
)

// Route is whose work a call to a system kind is: the partner tenant and the sales channel (the
// commerce platform's order source name). Either may be empty.
type Route struct {
	Tenant, Channel string
}

// WithRoute returns ctx whose outgoing gRPC calls carry r. Only a process service sets it, for
// the one hop to a system service; it is never read back into a context, so it does not travel
// further.
func WithRoute(ctx context.Context, r Route) context.Context {
	var pairs []string
	if r.Tenant != "" {
		pairs = append(pairs, RouteTenantKey, r.Tenant)
	}
	if r.Channel != "" {
		pairs = append(pairs, RouteChannelKey, r.Channel)
	}
	if len(pairs) == 0 {
		return ctx
	}
	// A route set earlier on the same context is replaced, not appended to.
	md, _ := metadata.FromOutgoingContext(ctx)
	md = md.Copy()
	md.Delete(RouteTenantKey)
	md.Delete(RouteChannelKey)
	for i := 0; i < len(pairs); i += 2 {
		md.Set(pairs[i], pairs[i+1])
	}
	return metadata.NewOutgoingContext(ctx, md)
}

// IncomingRoute is the route an incoming gRPC call carries.
func IncomingRoute(ctx context.Context) Route {
	md, _ := metadata.FromIncomingContext(ctx)
	first := func(k string) string {
		if v := md.Get(k); len(v) > 0 {
			return v[0]
		}
		return ""
	}
	return Route{Tenant: first(RouteTenantKey), Channel: first(RouteChannelKey)}
}

// Table says which vendor serves a system kind's calls: a tenant's route first, then a
// channel's, else the default.
type Table struct {
	Default   string
	ByTenant  map[string]string
	ByChannel map[string]string
}

// Vendor is the vendor that serves a call on route r.
func (t Table) Vendor(r Route) string {
	if v, ok := t.ByTenant[r.Tenant]; ok && r.Tenant != "" {
		return v
	}
	if v, ok := t.ByChannel[r.Channel]; ok && r.Channel != "" {
		return v
	}
	return t.Default
}

// Vendors lists every vendor the table names, the default first, the others sorted.
func (t Table) Vendors() []string {
	var others []string
	for _, m := range []map[string]string{t.ByTenant, t.ByChannel} {
		for _, v := range m {
			if v != t.Default && !slices.Contains(others, v) {
				others = append(others, v)
			}
		}
	}
	sort.Strings(others)
	return append([]string{t.Default}, others...)
}

// Route adds a route to the table: by is "tenant" or "channel".
func (t *Table) Route(by, key, vendor string) error {
	m := &t.ByTenant
	switch by {
	case "tenant":
	case "channel":
		m = &t.ByChannel
	default:
		return fmt.Errorf("a route is by tenant or channel, not %q", by)
	}
	if *m == nil {
		*m = map[string]string{}
	}
	(*m)[key] = vendor
	return nil
}
