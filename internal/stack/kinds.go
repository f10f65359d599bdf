package stack

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/retailbridge/retailbridge/gateway"
	"github.com/retailbridge/retailbridge/pkg/config"
	"github.com/retailbridge/retailbridge/pkg/governor"
	"github.com/retailbridge/retailbridge/pkg/vendors"
	"github.com/retailbridge/retailbridge/services/system"
)

// systemKind is one row of the stack's wiring table: the component serving a system kind and
// the kind's vendor registry (its package's vendors.go). Services, sandboxes, webhook routes,
// dedup horizons and vendor selection are all derived from the registries, so none of them
// names a vendor.
type systemKind struct {
	component Component
	kind      *vendors.Kind
}

// systemKinds are the system kinds in start order (services/system.Kinds); each is served as the
// component of its name.
func systemKinds() []systemKind {
	out := make([]systemKind, len(system.Kinds))
	for i, k := range system.Kinds {
		out[i] = systemKind{Component(k.Name), k}
	}
	return out
}

// minWebhookDedup is the shortest dedup horizon accepted: vendors retry for hours at least.
const minWebhookDedup = time.Hour

// selectVendors picks every kind's vendor (RB_<KIND>_VENDOR, default the first registered) and
// reads every vendor's guard (RB_GOVERNOR_<VENDOR>) and the webhook vendors' dedup horizons
// (RB_WEBHOOK_DEDUP_<VENDOR>, default the registry's), naming every bad setting at once. Every
// kind is selected, not only those started here: the gateway routes the selected vendors'
// webhooks to services that may run elsewhere.
func (s *Stack) selectVendors() error {
	v, err := readVendorSettings(s.opts.Config)
	s.vendors, s.tables, s.dedup, s.guards, s.sandboxAddrs = v.vendors, v.tables, v.dedup, v.guards, v.sandboxAddrs
	return err
}

// CheckVendorConfig names every bad vendor setting of cfg (RB_<KIND>_VENDOR,
// RB_GOVERNOR_<VENDOR>, RB_SANDBOX_<VENDOR>_ADDR, RB_WEBHOOK_DEDUP_<VENDOR> and what each
// vendor's CheckEnv finds in its own variables), so that loading the configuration can report
// them with the rest before anything starts.
func CheckVendorConfig(cfg config.Config) error {
	_, err := readVendorSettings(cfg)
	return err
}

// vendorSettings are the settings read from the kinds' vendor registries.
type vendorSettings struct {
	// vendors are each kind's vendors in use: its default (RB_<KIND>_VENDOR) first, then those
	// RB_VENDOR_ROUTES sends a tenant's or channel's calls to; tables say which serves a call.
	vendors map[Component][]vendors.Vendor
	tables  map[Component]vendors.Table
	dedup   map[string]time.Duration
	guards  map[string]governor.Config
	// sandboxAddrs are where `serve sandboxes` listens, per vendor.
	sandboxAddrs map[string]string
}

func readVendorSettings(cfg config.Config) (vendorSettings, error) {
	s := vendorSettings{vendors: map[Component][]vendors.Vendor{}, tables: map[Component]vendors.Table{},
		dedup: map[string]time.Duration{}, guards: map[string]governor.Config{}, sandboxAddrs: map[string]string{}}
	bad := routesOfUnknownKinds(cfg.VendorRoutes)
	for _, k := range systemKinds() {
		bad = append(bad, s.selectKind(cfg, k)...)
		for _, v := range k.kind.Vendors {
			bad = append(bad, s.readVendor(cfg, v)...)
		}
	}
	for _, v := range system.Feeds {
		bad = append(bad, s.readVendor(cfg, v)...)
	}
	if err := errors.Join(bad...); err != nil {
		return s, fmt.Errorf("invalid vendor configuration:\n%w", err)
	}
	return s, nil
}

// selectKind reads kind k's default vendor and its routes, naming a vendor the kind does not
// register.
func (s *vendorSettings) selectKind(cfg config.Config, k systemKind) []error {
	var bad []error
	def, err := k.kind.Select(cfg.Lookup(k.kind.EnvKey()))
	if err != nil {
		bad = append(bad, fmt.Errorf("%s: %w", k.kind.EnvKey(), err))
	}
	table := vendors.Table{Default: def.Name}
	for _, r := range cfg.VendorRoutes {
		if r.Kind != k.kind.Name {
			continue
		}
		if _, err := k.kind.Select(r.Vendor); err != nil {
			bad = append(bad, fmt.Errorf("RB_VENDOR_ROUTES: %q: %w", r.String(), err))
			continue
		}
		if err := table.Route(r.By, r.Key, r.Vendor); err != nil {
			bad = append(bad, fmt.Errorf("RB_VENDOR_ROUTES: %q: %w", r.String(), err))
		}
	}
	s.tables[k.component] = table
	for _, name := range table.Vendors() {
		if v, err := k.kind.Select(name); err == nil {
			s.vendors[k.component] = append(s.vendors[k.component], v)
		}
	}
	return bad
}

// routesOfUnknownKinds names the routes for a kind that does not exist.
func routesOfUnknownKinds(routes []config.VendorRoute) []error {
	var bad []error
	for _, r := range routes {
		if !slices.ContainsFunc(systemKinds(), func(k systemKind) bool { return k.kind.Name == r.Kind }) {
			bad = append(bad, fmt.Errorf("RB_VENDOR_ROUTES: %q: there is no system kind %q", r.String(), r.Kind))
		}
	}
	return bad
}

// readVendor reads vendor v's guard, sandbox address, own settings and dedup horizon.
func (s *vendorSettings) readVendor(cfg config.Config, v vendors.Vendor) []error {
	var bad []error
	key := "RB_GOVERNOR_" + strings.ToUpper(v.Name)
	g, err := governor.ParseConfig(cmp.Or(cfg.Lookup(key), v.Governor))
	if err != nil {
		bad = append(bad, fmt.Errorf("%s: %w", key, err))
	}
	if g.MaxConcurrent == 0 {
		// A connector that caps its own concurrency (<VENDOR>_MAX_CONCURRENCY, the account's
		// share) gives its governor the same cap: the workflow runner admits steps by the
		// governor's free slots (admission.go), which must be the ones the vendor has. A value
		// that does not parse is the connector's CheckEnv's to name.
		if n, err := strconv.Atoi(cfg.Lookup(strings.ToUpper(v.Name) + "_MAX_CONCURRENCY")); err == nil && n > 0 {
			g.MaxConcurrent = n
		}
	}
	s.guards[v.Name] = g
	key = "RB_SANDBOX_" + strings.ToUpper(v.Name) + "_ADDR"
	addr := cmp.Or(cfg.Lookup(key), v.SandboxAddr)
	if _, _, err := net.SplitHostPort(addr); err != nil {
		bad = append(bad, fmt.Errorf("%s: %q is not host:port", key, addr))
	}
	s.sandboxAddrs[v.Name] = addr
	if v.CheckEnv != nil {
		if err := v.CheckEnv(cfg.Lookup); err != nil {
			bad = append(bad, err)
		}
	}
	if v.Webhooks {
		d, err := webhookDedup(cfg.Lookup, v)
		if err != nil {
			bad = append(bad, err)
		}
		s.dedup[v.Name] = d
	}
	return bad
}

// webhookDedup is how long v's delivery ids are remembered: RB_WEBHOOK_DEDUP_<VENDOR>, else the
// registry's horizon. It must cover the vendor's whole retry horizon.
func webhookDedup(lookup func(string) string, v vendors.Vendor) (time.Duration, error) {
	key := "RB_WEBHOOK_DEDUP_" + strings.ToUpper(v.Name)
	raw := lookup(key)
	if raw == "" {
		return v.WebhookDedup, nil
	}
	d, err := time.ParseDuration(raw)
	if err != nil {
		return v.WebhookDedup, fmt.Errorf("%s: %q is not a duration (e.g. 96h)", key, raw)
	}
	if d < minWebhookDedup {
		return v.WebhookDedup, fmt.Errorf("%s: %v is shorter than an hour; it must cover the vendor's retry horizon", key, d)
	}
	return d, nil
}

// webhookConns are the system APIs behind /webhooks/{vendor}: each kind's vendors in use that
// send webhooks, every one to its kind's service (which hands the delivery to that vendor).
func (s *Stack) webhookConns() (map[string]gateway.WebhookTarget, error) {
	out := map[string]gateway.WebhookTarget{}
	for _, k := range systemKinds() {
		for _, v := range s.vendors[k.component] {
			if !v.Webhooks {
				continue
			}
			conn, err := s.dial(k.component)
			if err != nil {
				return nil, err
			}
			out[v.Name] = gateway.WebhookTarget{Kind: k.kind.Name, Conn: conn}
		}
	}
	return out, nil
}

// sandboxAddr is where vendor's sandbox listens: its RB_SANDBOX_<VENDOR>_ADDR or registry
// default; "" (a free loopback port) in dev and tests.
func (s *Stack) sandboxAddr(vendor string) string {
	if s.opts.Ephemeral {
		return ""
	}
	return s.sandboxAddrs[vendor]
}
