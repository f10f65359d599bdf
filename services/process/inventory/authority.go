package inventory

import (
	"fmt"
	"path"
	"slices"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// Authorities: whose figure wins when reconciliation finds the ledger out of step with a source.
const (
	AuthorityERP       = "erp"
	AuthorityWarehouse = "wms"
	AuthorityLedger    = "ledger"
)

// AuthorityRule says that, for locations matching Location (a path.Match glob) and State (a
// ledger state name, "on_hand", or empty for every state), Source's figure wins: the ledger is
// corrected to it. Rules are tried in order; the first match decides.
type AuthorityRule struct {
	Location, State, Source string
}

// DefaultAuthority makes the ERP the authority for the stores (their point-of-sale postings reach
// only the ERP) and the warehouse for every other location.
var DefaultAuthority = []AuthorityRule{{Location: "store-*", Source: AuthorityERP}, {Location: "*", Source: AuthorityWarehouse}}

// authorityProblems names every bad rule.
func authorityProblems(rules []AuthorityRule) []string {
	var bad []string
	for i, r := range rules {
		if _, err := path.Match(r.Location, ""); err != nil || r.Location == "" {
			bad = append(bad, fmt.Sprintf("Authority[%d].Location: %q is not a glob", i, r.Location))
		}
		if r.State != "" && r.State != "on_hand" && !slices.ContainsFunc(ledgerStates, func(st canonicalv1.InventoryState) bool { return stateName(st) == r.State }) {
			bad = append(bad, fmt.Sprintf("Authority[%d].State: %q is not a ledger state or on_hand", i, r.State))
		}
		if !slices.Contains([]string{AuthorityERP, AuthorityWarehouse, AuthorityLedger}, r.Source) {
			bad = append(bad, fmt.Sprintf("Authority[%d].Source: %q is not erp, wms or ledger", i, r.Source))
		}
	}
	return bad
}

// authorityOf is who decides the figure of state ("on_hand" or a ledger state name) at loc; the
// ledger itself (report only) when no rule matches.
func (c Config) authorityOf(loc, state string) string {
	for _, r := range c.Authority {
		if ok, _ := path.Match(r.Location, loc); ok && (r.State == "" || r.State == state) {
			return r.Source
		}
	}
	return AuthorityLedger
}
