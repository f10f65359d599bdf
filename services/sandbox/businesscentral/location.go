package businesscentral

import "github.com/retailbridge/retailbridge/services/sandbox/demo"

// Locations is the sandbox company's chart of locations: Business Central location codes, mapped
// to the demo world's ledger location ids (BUSINESSCENTRAL_LOCATIONS); the sandbox's registration
// hands it over as the dev default.
var Locations = demo.LocationChart{
	"EAST": "dc-east", "WEST": "dc-west",
	"NYC-SOHO": demo.Stores[0], "SF-UNION": demo.Stores[1], "CHI-LOOP": demo.Stores[2],
}

// LocationID is the company's location code for a demo (ledger) location.
func LocationID(loc string) string { return Locations.ID(loc) }
