package inventory

import (
	"context"
	"slices"

	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/tenancy"
)

// caller is what the principal behind a request may see.
type caller struct {
	// partner is set for partner clients: they see their tenant's locations only.
	partner bool
	// locations are the tenant's locations, sorted; partners only.
	locations []string
	// buffer is held back from sellable units at each location; zero for anyone but partners.
	buffer int64
}

// callerOf authenticates and authorises the request: a partner needs the inventory:read scope
// and a tenant with locations. Storefront and support callers see every location; the gateway
// decides which of them reach which route.
func (s *Service) callerOf(ctx context.Context) (caller, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return caller{}, errs.E(errs.Unauthenticated, "unauthenticated", "caller identity is missing")
	}
	if p.Audience != auth.Partner {
		return caller{}, nil
	}
	if err := tenancy.Authorize(p, tenancy.ScopeInventoryRead); err != nil {
		return caller{}, err
	}
	t, ok := s.tenants.Get(p.Tenant)
	if !ok || len(t.Locations) == 0 {
		// The directory is configuration: an unknown tenant is a misconfigured client, and
		// answering the same for it as for a tenant without stock says nothing about either.
		return caller{}, errs.E(errs.PermissionDenied, "tenant_has_no_locations",
			"the partner's tenant has no stock locations")
	}
	locs := slices.Clone(t.Locations)
	slices.Sort(locs)
	return caller{partner: true, locations: slices.Compact(locs), buffer: t.Buffer}, nil
}

// scope is the set of locations one request counts and what is held back at each.
type scope struct {
	// locations are the locations to count, sorted; nil for every location.
	locations []string
	set       map[string]bool
	buffer    int64
}

// scope narrows what c may see to the requested locations (already validated: no duplicates).
// A partner naming a location outside its tenant gets the answer an unknown location would get,
// so it learns nothing about other tenants' locations.
func (c caller) scope(requested []string) (scope, error) {
	locs := c.locations
	if len(requested) > 0 {
		for _, loc := range requested {
			if c.partner && !slices.Contains(c.locations, loc) {
				return scope{}, errs.E(errs.NotFound, "location_not_found", "location "+loc+" not found")
			}
		}
		locs = slices.Sorted(slices.Values(requested))
	}
	sc := scope{locations: locs, buffer: c.buffer}
	if locs != nil {
		sc.set = make(map[string]bool, len(locs))
		for _, loc := range locs {
			sc.set[loc] = true
		}
	}
	return sc, nil
}

// counts reports whether the scope counts stock at loc.
func (sc scope) counts(loc string) bool { return sc.set == nil || sc.set[loc] }
