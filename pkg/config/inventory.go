package config

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"
)

// DefaultInventoryAuthority makes the ERP the authority for the stores' on-hand (only the ERP
// sees their point-of-sale postings) and the warehouse for everything at every other location.
const DefaultInventoryAuthority = "store-*=erp,*=wms"

// AuthorityRule is one entry of RB_INVENTORY_AUTHORITY: for locations matching Location (a
// path.Match glob) and State (a ledger state name, on_hand, or empty for every state), Source's
// figure wins when reconciliation finds the ledger out of step.
type AuthorityRule struct {
	Location, State, Source string
}

// AuthoritySources are the sources an authority rule may name: the ERP's on-hand, the
// warehouse's snapshot, or the ledger itself (drift is reported, never corrected).
var AuthoritySources = []string{"erp", "wms", "ledger"}

// AuthorityStates are the state names a rule may narrow to.
var AuthorityStates = []string{"on_hand", "sellable", "reserved", "committed", "damaged",
	"returned_awaiting_inspection", "quality_control", "safety_stock", "in_transit"}

// parseAuthority reads "glob[/state]=source,…"; malformed entries are kept as they are for
// Validate to name.
func parseAuthority(s string) []AuthorityRule {
	var out []AuthorityRule
	for _, kv := range splitList(s) {
		k, v, _ := strings.Cut(kv, "=")
		loc, state, _ := strings.Cut(strings.TrimSpace(k), "/")
		out = append(out, AuthorityRule{Location: loc, State: state, Source: strings.TrimSpace(v)})
	}
	return out
}

// badInventory names every bad inventory reconciliation, item master and push setting.
func (c Config) badInventory() []string {
	var bad []string
	add := func(field, msg string) { bad = append(bad, field+": "+msg) }
	for i, r := range c.InventoryAuthority {
		if _, err := path.Match(r.Location, ""); err != nil || r.Location == "" {
			add("RB_INVENTORY_AUTHORITY", fmt.Sprintf("entry %d: location %q is not a glob (store-*, dc-east, *)", i+1, r.Location))
		}
		if r.State != "" && !slices.Contains(AuthorityStates, r.State) {
			add("RB_INVENTORY_AUTHORITY", fmt.Sprintf("entry %d: state %q is not one of %s", i+1, r.State, strings.Join(AuthorityStates, ", ")))
		}
		if !slices.Contains(AuthoritySources, r.Source) {
			add("RB_INVENTORY_AUTHORITY", fmt.Sprintf("entry %d: source %q is not one of erp, wms, ledger", i+1, r.Source))
		}
	}
	for field, d := range map[string]time.Duration{"RB_INVENTORY_RECONCILE_EVERY": c.InventoryReconcileEvery,
		"RB_INVENTORY_MAPPING_EVERY": c.InventoryMappingEvery} {
		if d != 0 && (d < time.Second || d > 7*24*time.Hour) {
			add(field, fmt.Sprintf("%s: must be 0 (off) or between 1s and 168h", d))
		}
	}
	if c.InventoryPushLease < time.Second || c.InventoryPushLease > 10*time.Minute {
		add("RB_INVENTORY_PUSH_LEASE", fmt.Sprintf("%s: must be between 1s and 10m", c.InventoryPushLease))
	}
	return bad
}
