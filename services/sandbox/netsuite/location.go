package netsuite

import "github.com/retailbridge/retailbridge/services/sandbox/demo"

// Locations is the sandbox account's chart of locations: NetSuite location internal ids, mapped
// to the demo world's ledger location ids. The account books stock under its own ids, as a real
// account does, so the ERP system API's location map (NETSUITE_LOCATIONS) is exercised for real;
// the sandbox's registration hands this map over as the dev default.
var Locations = map[string]string{
	"1": "dc-east", "2": "dc-west",
	"11": demo.Stores[0], "12": demo.Stores[1], "13": demo.Stores[2],
}

// LocationID is the account's internal id for a demo (ledger) location; any other id is
// taken as the account's own (a test planting stock at a location the map lacks).
func LocationID(loc string) string {
	for id, ledger := range Locations {
		if ledger == loc {
			return id
		}
	}
	return loc
}

// accountStock is the demo world's store stock under the account's location ids.
func accountStock(in []demo.StoreBalance) []demo.StoreBalance {
	out := make([]demo.StoreBalance, len(in))
	for i, b := range in {
		b.Location = LocationID(b.Location)
		out[i] = b
	}
	return out
}
