// Package vendors describes what a system kind (commerce, ERP, payments, returns platform,
// warehouse) knows about the vendors it can connect to, so that wiring, the gateway's webhook
// routes and the API document read one list instead of naming vendors themselves. Each kind's
// package declares its Kind in vendors.go; adding a vendor is one entry there.
package vendors

import (
	"fmt"
	"strings"
	"time"
)

// Vendor is one connector a system kind can use.
type Vendor struct {
	// Name selects the vendor (RB_<KIND>_VENDOR), names its webhook route (/webhooks/{Name})
	// and its governor (RB_GOVERNOR_<NAME>).
	Name string
	// Webhooks says the vendor delivers signed webhooks to the gateway.
	Webhooks bool
	// WebhookDedup is how long the vendor's delivery ids are remembered by default
	// (RB_WEBHOOK_DEDUP_<NAME> overrides it): the vendor's documented retry horizon plus a
	// margin. Zero when the vendor sends no webhooks.
	WebhookDedup time.Duration
	// Required are the environment variables the connector cannot run without when its sandbox
	// is not in the same process (random sandbox credentials would match no real account).
	Required []string
	// Governor is the vendor's guard by default (pkg/governor's "concurrency=…,rate=…" form;
	// RB_GOVERNOR_<NAME> overrides it): its documented request budget. Empty: the governor's
	// defaults.
	Governor string
	// SandboxAddr is where `serve sandboxes` serves the vendor's sandbox by default
	// (RB_SANDBOX_<NAME>_ADDR overrides it; dev uses free loopback ports).
	SandboxAddr string
	// CheckEnv names the vendor's settings that do not parse (nil: every value is accepted as
	// text), so that loading the configuration reports them with the rest before anything
	// starts; the kind's Validate checks the rest when the service is built.
	CheckEnv func(lookup func(string) string) error
	// Serve builds the kind's service over this vendor: it reads the vendor's connection
	// through deps.Lookup and constructs its connector.
	Serve func(deps ServiceDeps) (Service, error)
	// Sandbox starts the vendor's emulation in this process (dev, tests, `serve sandboxes`);
	// nil when there is none.
	Sandbox func(deps SandboxDeps) (Sandbox, error)
}

// Kind is a system kind and its vendors; the first vendor is the default.
type Kind struct {
	// Name is the kind's name, as in RB_<KIND>_VENDOR ("commerce", "erp", …).
	Name    string
	Vendors []Vendor
}

// Names lists the kind's vendor names, default first.
func (k Kind) Names() []string {
	out := make([]string, len(k.Vendors))
	for i, v := range k.Vendors {
		out[i] = v.Name
	}
	return out
}

// Select returns the vendor called name, or the default one when name is empty. An unknown
// name is an error that lists the known ones, so a typo in configuration is caught at start.
func (k Kind) Select(name string) (Vendor, error) {
	if len(k.Vendors) == 0 {
		return Vendor{}, fmt.Errorf("%s: no vendor is registered", k.Name)
	}
	if name == "" {
		return k.Vendors[0], nil
	}
	for _, v := range k.Vendors {
		if v.Name == name {
			return v, nil
		}
	}
	return Vendor{}, fmt.Errorf("%s vendor %q is unknown; known: %s", k.Name, name, strings.Join(k.Names(), ", "))
}

// EnvKey is the environment variable that selects the kind's vendor, e.g. RB_COMMERCE_VENDOR.
func (k Kind) EnvKey() string { return "RB_" + strings.ToUpper(k.Name) + "_VENDOR" }
