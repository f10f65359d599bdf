package stack

import (
	"fmt"
	"slices"
	"strings"

	"github.com/retailbridge/retailbridge/pkg/config"
)

// requirement is a variable a component cannot run without outside dev.
type requirement struct {
	name string
	set  func(config.Config) bool
}

func need(name string, v func(config.Config) string) requirement {
	return requirement{name, func(c config.Config) bool { return v(c) != "" }}
}

var (
	needNATS     = need("NATS_URL", func(c config.Config) string { return c.NATSURL })
	needDatabase = need("DATABASE_URL", func(c config.Config) string { return c.DatabaseURL })
	needRedis    = need("REDIS_URL", func(c config.Config) string { return c.RedisURL })
)

// engineNeeds are the shared engines each component uses; an embedded stand-in (SQLite file,
// in-process NATS or Redis) would silently split state between replicas.
var engineNeeds = map[Component][]requirement{
	Commerce: {needNATS}, Payments: {needNATS}, ReturnsPlatform: {needNATS}, WMS: {needNATS},
	// The gateway keeps identity (signing keys, partner clients) and the audit log in the
	// database every gateway shares.
	Orders: {needNATS, needDatabase}, Returns: {needNATS, needDatabase}, Gateway: {needRedis, needDatabase},
}

// vendorNeeds are the vendor endpoint and credentials component c's vendors in use (its default and the routed ones) need when
// the sandboxes are not started in the same process, as its kind's registry lists them (random
// credentials would match no real account). An unknown vendor selection needs nothing here:
// CheckVendorConfig reports it.
func vendorNeeds(cfg config.Config, c Component) []requirement {
	settings, _ := readVendorSettings(cfg)
	var out []requirement
	for _, v := range settings.vendors[c] {
		for _, name := range v.Required {
			out = append(out, requirement{name, func(c config.Config) bool { return c.Lookup(name) != "" }})
		}
	}
	return out
}

// MissingEnv names every variable the components need and cfg lacks, in a stable order. With
// embedded engines allowed (dev, or serve --embedded) only vendor settings are required; with
// the sandboxes in the same process, not even those.
func MissingEnv(cfg config.Config, comps []Component, allowEmbedded bool) []string {
	var missing []string
	add := func(reqs []requirement) {
		for _, r := range reqs {
			if !r.set(cfg) && !slices.Contains(missing, r.name) {
				missing = append(missing, r.name)
			}
		}
	}
	for _, c := range All {
		if !slices.Contains(comps, c) {
			continue
		}
		if !allowEmbedded {
			add(engineNeeds[c])
		}
		if !slices.Contains(comps, Sandboxes) {
			add(vendorNeeds(cfg, c))
		}
	}
	return missing
}

// checkRequired refuses to start components without the shared engines and vendor settings
// they need, naming every missing variable at once.
func checkRequired(cfg config.Config, comps []Component, allowEmbedded bool) error {
	missing := MissingEnv(cfg, comps, allowEmbedded)
	if len(missing) == 0 {
		return nil
	}
	hint := ""
	if !allowEmbedded {
		hint = " (for a single-machine trial on embedded engines: `retailbridge dev`, or `serve --embedded` / RB_ALLOW_EMBEDDED=true)"
	}
	return fmt.Errorf("serve %s: set %s%s", joinComponents(comps), strings.Join(missing, ", "), hint)
}

func joinComponents(comps []Component) string {
	names := make([]string, len(comps))
	for i, c := range comps {
		names[i] = string(c)
	}
	return strings.Join(names, " ")
}

// needsNATS reports whether any of comps uses the bus.
func needsNATS(comps []Component) bool {
	return slices.ContainsFunc(comps, func(c Component) bool {
		return slices.ContainsFunc(engineNeeds[c], func(r requirement) bool { return r.name == needNATS.name })
	})
}
