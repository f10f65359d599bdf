package businesscentral

import "github.com/retailbridge/retailbridge/services/sandbox/demo"

// Locations is the sandbox company's chart of locations: Business Central location codes, mapped
// to the demo world's ledger location ids. The company books stock under its own ids, as a real
// company does, so the ERP system API's location map (BUSINESSCENTRAL_LOCATIONS) is exercised for real;
// the sandbox's registration hands this map over as the dev default.
var Locations = map[string]string{
	"EAST": "dc-east", "WEST": "dc-west",
	"NYC-SOHO": demo.Stores[0], "SF-UNION": demo.Stores[1], "CHI-LOOP": demo.Stores[2],
}

// LocationID is the company's location code for a demo (ledger) location; any other id is
// taken as the company's own (a test planting stock at a location the map lacks).
func LocationID(loc string) string {
	for id, ledger := range Locations {
		if ledger == loc {
			return id
		}
	}
	return loc
}

// accountStock is the demo world's store stock under the company's location codes.
func accountStock(in []demo.StoreBalance) []demo.StoreBalance {
	out := make([]demo.StoreBalance, len(in))
	for i, b := range in {
		b.Location = LocationID(b.Location)
		out[i] = b
	}
	return out
}
