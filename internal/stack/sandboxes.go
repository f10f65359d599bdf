package stack

import (
	"cmp"
	"context"
	"fmt"
	intakev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/intake/v1"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/retailbridge/retailbridge/pkg/grpcx"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
	"github.com/retailbridge/retailbridge/pkg/vendors"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/system"
)

// startSandboxes opens the demo world and starts the sandbox of every vendor in use of every
// kind (its default and the routed ones), as its registration says. Their webhooks are pointed at
// the gateway once it listens (or at the configured webhook base now).
func (s *Stack) startSandboxes() error {
	var err error
	if s.Demo, err = demo.Open(s.sandboxStateDir(), s.opts.DemoSeed, s.opts.Now(), s.opts.DemoCustomers, s.opts.DemoOrders); err != nil {
		return err
	}
	for _, k := range systemKinds() {
		for _, v := range s.vendors[k.component] {
			if err := s.startSandbox(v); err != nil {
				return err
			}
		}
	}
	for _, v := range system.Feeds {
		if err := s.startSandbox(v); err != nil {
			return err
		}
	}
	if u := s.opts.Config.Sandboxes.WebhookURL; u != "" {
		s.PointWebhooksAt(u)
	}
	return nil
}

// startSandbox starts vendor v's sandbox, if it has one.
func (s *Stack) startSandbox(v vendors.Vendor) error {
	if v.Sandbox == nil {
		return nil
	}
	addr := s.sandboxAddr(v.Name)
	sb, err := v.Sandbox(vendors.SandboxDeps{
		Lookup: s.opts.Config.Lookup, Addr: addr, Demo: s.Demo, StateDir: s.sandboxStateDir(), Seed: s.opts.DemoSeed,
		Fast: s.opts.FastVendors, Manual: s.opts.ManualParcels, Settings: s.opts.SandboxSettings[v.Name],
		ServeHTTP: func(h http.Handler) (string, error) { return s.serveHTTP(v.Name+" sandbox", addr, h) },
	})
	if err != nil {
		return fmt.Errorf("%s sandbox: %w", v.Name, err)
	}
	if sb.Close != nil {
		s.closers = append(s.closers, sb.Close) // webhooks it still owes stay in its state file
	}
	s.sandboxes[v.Name] = sb
	s.logger.Info("sandbox listening", "vendor", v.Name, "url", sb.URL)
	return nil
}

// Sandbox is the sandbox of vendor started here (a *shopify.Sandbox of services/sandbox/shopify,
// …), or nil; tests and benchmarks drive it.
func (s *Stack) Sandbox(vendor string) any { return s.sandboxes[vendor].Value }

// SandboxURL is where vendor's sandbox started here is served ("" when it is not).
func (s *Stack) SandboxURL(vendor string) string { return s.sandboxes[vendor].URL }

// RunningSandbox is a vendor sandbox started here.
type RunningSandbox struct {
	Kind, Vendor, URL string
}

// SandboxVendors lists the sandboxes started here, in kind order.
func (s *Stack) SandboxVendors() []RunningSandbox {
	var out []RunningSandbox
	for _, k := range systemKinds() {
		for _, v := range s.vendors[k.component] {
			if sb, ok := s.sandboxes[v.Name]; ok {
				out = append(out, RunningSandbox{Kind: k.kind.Name, Vendor: v.Name, URL: sb.URL})
			}
		}
	}
	for _, v := range system.Feeds {
		if sb, ok := s.sandboxes[v.Name]; ok {
			out = append(out, RunningSandbox{Kind: "file feed", Vendor: v.Name, URL: sb.URL})
		}
	}
	return out
}

// SandboxConfig is the environment that points separately started services at the sandboxes
// started here: each one's URL and the credentials it accepts, as its registration names them.
func (s *Stack) SandboxConfig() map[string]string {
	out := map[string]string{}
	for _, sb := range s.sandboxes {
		maps.Copy(out, sb.Env)
	}
	return out
}

// SandboxEnv is SandboxConfig as shell exports.
func (s *Stack) SandboxEnv() string {
	cfg := s.SandboxConfig()
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(cfg)) {
		// Single-quoted: a value may hold spaces (an SSH host key line) or shell characters.
		fmt.Fprintf(&b, "export %s='%s'\n", k, strings.ReplaceAll(cfg[k], "'", `'\''`))
	}
	return b.String()
}

// PointWebhooksAt makes this stack's sandboxes deliver their webhooks to a gateway (this
// stack's, or another's when the services run separately): each to /webhooks/{vendor}.
func (s *Stack) PointWebhooksAt(gatewayURL string) {
	for name, sb := range s.sandboxes {
		if sb.PointWebhooks != nil {
			sb.PointWebhooks(gatewayURL + "/webhooks/" + name)
		}
	}
}

// productFeedLookup reads the product feed's settings: the deployment's environment, else what a
// feed sandbox started here answers.
func (s *Stack) productFeedLookup(key string) string {
	if v := s.opts.Config.Lookup(key); v != "" {
		return v
	}
	for _, f := range system.Feeds {
		if v := s.sandboxes[f.Name].Env[key]; v != "" {
			return v
		}
	}
	return ""
}

// vendorLookup reads vendor v's settings: the deployment's environment, else what v's sandbox
// started here answers (its URL and the credentials it accepts).
func (s *Stack) vendorLookup(v vendors.Vendor) func(string) string {
	env := s.sandboxes[v.Name].Env
	return func(key string) string { return cmp.Or(s.opts.Config.Lookup(key), env[key]) }
}

// startSystem serves system kind k over its vendors in use: one vendor's service as it is, or
// several behind vendors.Routed, which sends each call to the vendor its tenant or channel is
// routed to and each delivery to the vendor it names.
func (s *Stack) startSystem(k systemKind) error {
	services := map[string]vendors.Service{}
	for _, v := range s.vendors[k.component] {
		svc, err := s.serveVendor(k, v)
		if err != nil {
			return err
		}
		services[v.Name] = svc
	}
	table := s.tables[k.component]
	svc := services[table.Default]
	if len(services) > 1 {
		var err error
		if svc, err = vendors.Routed(table, services); err != nil {
			return fmt.Errorf("%s: %w", k.kind.Name, err)
		}
		s.logger.Info("vendors routed", "kind", k.kind.Name, "default", table.Default, "by_tenant", table.ByTenant, "by_channel", table.ByChannel)
	}
	var probes []grpcx.Probe
	if svc.Events {
		probes = append(probes, s.natsProbe())
	}
	return s.serveGRPC(k.component, listenAddrs(s.opts.Config.Addrs)[k.component], func(srv *grpcx.Server) {
		svc.Register(srv)
		if svc.Intake != nil {
			intakev1.RegisterIntakeServiceServer(srv, svc.Intake)
		}
	}, probes...)
}

// serveVendor builds kind k's service over vendor v with an HTTP client named after the vendor
// and guarded by its governor.
func (s *Stack) serveVendor(k systemKind, v vendors.Vendor) (vendors.Service, error) {
	if v.Serve == nil {
		return vendors.Service{}, fmt.Errorf("%s vendor %s registers no service constructor", k.kind.Name, v.Name)
	}
	timeout := s.opts.Config.RequestTimeout
	return v.Serve(vendors.ServiceDeps{
		Lookup:     s.vendorLookup(v),
		HTTPClient: telemetry.NewVendorClient(v.Name, timeout, s.tracing, s.Metrics, s.governor(v.Name)),
		JetStream:  s.jetStream, Logger: s.logger.With("service", k.kind.Name), Timeout: timeout,
		Go: func(name string, run func(context.Context) error) {
			s.wg.Go(func() {
				if err := run(s.ctx); err != nil {
					s.fail(fmt.Errorf("%s %s: %w", v.Name, name, err))
				}
			})
		},
	})
}
