// Package tenancy is the partner tenant directory: which orders are a tenant's (by the sales
// channel they came through) and which stock it may promise (locations, less a buffer). Partner
// clients belong to one tenant (auth.Principal.Tenant); the process services ask the directory on
// every partner read and write, so a partner reaches its tenant's data and nothing else.
//
// The directory is configuration (configs/tenants.yaml, RB_TENANTS), read-only once loaded and
// safe for concurrent use. A tenant a token names but the directory does not know owns nothing.
package tenancy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/errs"
)

// Partner scopes: what a partner client may be granted (retailbridge clients create --scopes).
const (
	ScopeOrdersRead    = "orders:read"    // order status
	ScopeReturnsRead   = "returns:read"   // return status and lists
	ScopeReturnsWrite  = "returns:write"  // return creation and cancellation (implies read)
	ScopeInventoryRead = "inventory:read" // available-to-sell and positions
)

// Scopes lists every partner scope.
var Scopes = []string{ScopeOrdersRead, ScopeReturnsRead, ScopeReturnsWrite, ScopeInventoryRead}

// Tenant is one partner organisation.
type Tenant struct {
	// ID is the tenant partner tokens carry.
	ID string `yaml:"-"`
	// Name is for people.
	Name string `yaml:"name"`
	// OrderSources are the sales channels (the commerce platform's source names) whose orders are
	// the tenant's: it reads them and creates and reads returns for them.
	OrderSources []string `yaml:"order_sources"`
	// Locations are the stock locations whose sellable units the tenant may promise.
	Locations []string `yaml:"locations"`
	// Buffer is held back from the tenant's available-to-sell at each location, per SKU: a guard
	// against overselling through a channel that learns of stock changes late.
	Buffer int64 `yaml:"buffer"`
}

// Directory maps tenants to their sources and locations.
type Directory struct {
	byID     map[string]Tenant
	bySource map[string]string
}

type file struct {
	Tenants map[string]Tenant `yaml:"tenants"`
}

// Load reads the directory from path.
func Load(path string) (*Directory, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tenants: %w", err)
	}
	d, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// Parse reads the directory from YAML, strictly: unknown fields and every bad value are named.
func Parse(data []byte) (*Directory, error) {
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("tenants: %w", err)
	}
	d := &Directory{byID: map[string]Tenant{}, bySource: map[string]string{}}
	var bad []string
	ids := make([]string, 0, len(f.Tenants))
	for id := range f.Tenants {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		t := f.Tenants[id]
		t.ID = id
		at := "tenants." + id
		if err := auth.ValidTenant(id); err != nil {
			bad = append(bad, at+": "+err.Error())
		}
		if strings.TrimSpace(t.Name) == "" {
			bad = append(bad, at+".name: required")
		}
		if t.Buffer < 0 {
			bad = append(bad, at+".buffer: must not be negative")
		}
		for _, src := range t.OrderSources {
			switch owner, taken := d.bySource[src]; {
			case strings.TrimSpace(src) == "":
				bad = append(bad, at+".order_sources: empty source")
			case taken:
				bad = append(bad, fmt.Sprintf("%s.order_sources: %q already belongs to tenant %s", at, src, owner))
			default:
				d.bySource[src] = id
			}
		}
		for _, loc := range t.Locations {
			if strings.TrimSpace(loc) == "" {
				bad = append(bad, at+".locations: empty location")
			}
		}
		if len(t.OrderSources) == 0 && len(t.Locations) == 0 {
			bad = append(bad, at+": needs order_sources or locations, or it can reach nothing")
		}
		t.OrderSources, t.Locations = slices.Clone(t.OrderSources), slices.Clone(t.Locations)
		d.byID[id] = t
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("tenants: %s", strings.Join(bad, "; "))
	}
	return d, nil
}

// Get returns the tenant with id.
func (d *Directory) Get(id string) (Tenant, bool) {
	if d == nil {
		return Tenant{}, false
	}
	t, ok := d.byID[id]
	return t, ok
}

// IDs lists the tenants, sorted.
func (d *Directory) IDs() []string {
	if d == nil {
		return nil
	}
	ids := make([]string, 0, len(d.byID))
	for id := range d.byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// OwnerOf returns the tenant whose order source src is; "" for the retailer's own channels.
func (d *Directory) OwnerOf(src string) string {
	if d == nil {
		return ""
	}
	return d.bySource[src]
}

// Owns reports whether tenant owns orders that came through src.
func (d *Directory) Owns(tenant, src string) bool {
	return tenant != "" && src != "" && d.OwnerOf(src) == tenant
}

// Authorize checks a partner's scope. A partner missing the scope gets 403 (which leaks nothing:
// the answer does not depend on any object); other audiences pass, their rules are the caller's.
// returns:write implies returns:read.
func Authorize(p auth.Principal, scope string) error {
	if p.Audience != auth.Partner {
		return nil
	}
	if p.HasScope(scope) || (scope == ScopeReturnsRead && p.HasScope(ScopeReturnsWrite)) {
		return nil
	}
	return errs.E(errs.PermissionDenied, "insufficient_scope", "this needs the "+scope+" scope")
}
