// Package auth holds caller identity: the Principal the gateway verified, carried to process and
// system services in gRPC metadata, and the JWT verification that produces it.
package auth

import (
	"context"
	"slices"
	"strings"

	"google.golang.org/grpc/metadata"
)

// Audience is the kind of caller.
type Audience string

// The audiences Retailbridge serves.
const (
	Storefront Audience = "storefront" // customers through web and mobile storefronts
	Support    Audience = "support"    // customer-service agents and operators
	Partner    Audience = "partner"    // machine clients, one tenant each
)

// Principal is a verified caller.
type Principal struct {
	Audience Audience
	// Subject is the token subject: a customer id, an agent id or a partner client id.
	Subject string
	// Tenant scopes partner callers to their data.
	Tenant string
	// Scopes granted to the caller.
	Scopes []string
}

// IsCustomer reports whether p is a storefront customer; their reads are scoped to Subject.
func (p Principal) IsCustomer() bool { return p.Audience == Storefront }

// HasScope reports whether p was granted scope.
func (p Principal) HasScope(scope string) bool { return slices.Contains(p.Scopes, scope) }

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal in ctx.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Metadata keys carrying the principal between services. Only the gateway sets them; services
// trust them because they listen on the internal network only.
const (
	mdAudience = "rb-principal-audience"
	mdSubject  = "rb-principal-subject"
	mdTenant   = "rb-principal-tenant"
	mdScopes   = "rb-principal-scopes"
)

// ToMetadata encodes p as gRPC metadata pairs.
func ToMetadata(p Principal) metadata.MD {
	md := metadata.Pairs(mdAudience, string(p.Audience), mdSubject, p.Subject)
	if p.Tenant != "" {
		md.Set(mdTenant, p.Tenant)
	}
	if len(p.Scopes) > 0 {
		md.Set(mdScopes, strings.Join(p.Scopes, " "))
	}
	return md
}

// FromMetadata decodes a principal from incoming metadata.
func FromMetadata(md metadata.MD) (Principal, bool) {
	first := func(k string) string {
		if v := md.Get(k); len(v) > 0 {
			return v[0]
		}
		return ""
	}
	p := Principal{Audience: Audience(first(mdAudience)), Subject: first(mdSubject), Tenant: first(mdTenant)}
	if p.Audience == "" || p.Subject == "" {
		return Principal{}, false
	}
	if s := first(mdScopes); s != "" {
		p.Scopes = strings.Fields(s)
	}
	return p, true
}

// OutgoingContext returns ctx with p appended to the outgoing gRPC metadata.
func OutgoingContext(ctx context.Context, p Principal) context.Context {
	return metadata.NewOutgoingContext(ctx, metadata.Join(ToMetadata(p), outgoing(ctx)))
}

func outgoing(ctx context.Context) metadata.MD {
	md, _ := metadata.FromOutgoingContext(ctx)
	return md
}
