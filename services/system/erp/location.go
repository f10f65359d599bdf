package erp

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/retailbridge/retailbridge/pkg/errs"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// The location map: the ERP names its locations its own way (NetSuite by internal id, Business
// Central by location code), the ledger and every other service by the ledger's location ids.
// The deployment says which is which, per vendor (NETSUITE_LOCATIONS, BUSINESSCENTRAL_LOCATIONS:
// "erp-id=ledger-id,…"). The service maps every location it reads and writes: a balance at an
// ERP location the map lacks comes back with no ledger id (its ERP id kept) for the caller to
// report, and a write naming a ledger location the map lacks is refused. Nothing passes through
// under the other system's id.

// LocationMap maps the ERP's location ids to the ledger's, one to one.
type LocationMap map[string]string

// ParseLocationMap reads "erp-id=ledger-id,…" (spaces around items ignored); an empty string is
// an empty map. Each ERP id and each ledger id may appear once.
func ParseLocationMap(s string) (LocationMap, error) {
	m := LocationMap{}
	seen := map[string]string{}
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		erpID, ledgerID, ok := strings.Cut(item, "=")
		erpID, ledgerID = strings.TrimSpace(erpID), strings.TrimSpace(ledgerID)
		switch {
		case !ok || erpID == "" || ledgerID == "":
			return nil, fmt.Errorf("%q is not erp-id=ledger-id", item)
		case m[erpID] != "":
			return nil, fmt.Errorf("ERP location %s is mapped twice", erpID)
		case seen[ledgerID] != "":
			return nil, fmt.Errorf("ledger location %s is mapped from both %s and %s", ledgerID, seen[ledgerID], erpID)
		}
		m[erpID], seen[ledgerID] = ledgerID, erpID
	}
	return m, nil
}

// String writes the map back in ParseLocationMap's form, sorted by ERP id.
func (m LocationMap) String() string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ",")
}

// problems names the ERP ids that do not have the vendor's form (pattern, described as what).
func (m LocationMap) problems(field string, pattern *regexp.Regexp, what string) []errs.FieldViolation {
	var bad []errs.FieldViolation
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !pattern.MatchString(k) {
			bad = append(bad, errs.FieldViolation{Field: field, Description: fmt.Sprintf("ERP location %q is not %s", k, what)})
		}
	}
	return bad
}

// ledgerToERP is the map's inverse.
func (m LocationMap) ledgerToERP() map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[v] = k
	}
	return out
}

// errLocationNotMapped refuses a write or read naming a ledger location the map lacks.
func errLocationNotMapped(field, loc string) error {
	return errs.E(errs.FailedPrecondition, "location_not_mapped",
		fmt.Sprintf("%s %s has no ERP location in the location map", field, loc)).
		WithFields(errs.FieldViolation{Field: field, Description: "ledger location " + loc + " is not in the ERP's location map"})
}

// erpLocation is the ERP's id of a ledger location; empty stays empty (an optional field).
func (s *Service) erpLocation(field, loc string) (string, error) {
	if loc == "" {
		return "", nil
	}
	if id, ok := s.toERP[loc]; ok {
		return id, nil
	}
	return "", errLocationNotMapped(field, loc)
}

// ledgerBalances sets each balance's ledger location from its ERP location (kept in
// erp_location_id); an unmapped one keeps no ledger id.
func (s *Service) ledgerBalances(in []*erpv1.InventoryBalance) []*erpv1.InventoryBalance {
	out := make([]*erpv1.InventoryBalance, len(in))
	for i, b := range in {
		b = proto.CloneOf(b)
		b.ErpLocationId, b.LocationId = b.GetLocationId(), s.locations[b.GetLocationId()]
		out[i] = b
	}
	return out
}
