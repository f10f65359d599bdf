package netsuite

import "github.com/retailbridge/retailbridge/services/sandbox/demo"

// Locations is the sandbox account's chart of locations: NetSuite location internal ids, mapped
// to the demo world's ledger location ids (NETSUITE_LOCATIONS); the sandbox's registration hands
// it over as the dev default.
var Locations = demo.LocationChart{
	"1": "dc-east", "2": "dc-west",
	"11": demo.Stores[0], "12": demo.Stores[1], "13": demo.Stores[2],
}

// LocationID is the account's internal id for a demo (ledger) location.
func LocationID(loc string) string { return Locations.ID(loc) }
