// Package handles gives end-to-end tests and benchmarks the typed sandboxes of a running stack
// (stack.Stack.Sandbox answers them untyped, because the stack names no vendor). A vendor whose
// sandbox tests drive directly adds its field here; wiring never reads this package.
package handles

import (
	bcsb "github.com/retailbridge/retailbridge/services/sandbox/businesscentral"
	edisb "github.com/retailbridge/retailbridge/services/sandbox/edi3pl"
	fluentsb "github.com/retailbridge/retailbridge/services/sandbox/fluent"
	loopsb "github.com/retailbridge/retailbridge/services/sandbox/loop"
	netsuitesb "github.com/retailbridge/retailbridge/services/sandbox/netsuite"
	shopifysb "github.com/retailbridge/retailbridge/services/sandbox/shopify"
	stripesb "github.com/retailbridge/retailbridge/services/sandbox/stripe"
	warehousesb "github.com/retailbridge/retailbridge/services/sandbox/warehouse"
)

// Source is a running stack: its sandboxes by vendor name.
type Source interface {
	Sandbox(vendor string) any
	SandboxURL(vendor string) string
}

// Set is a stack's sandboxes, typed; a field is nil (its URL "") when that vendor's sandbox is
// not running there.
type Set struct {
	Shopify     *shopifysb.Sandbox
	ShopifyURL  string
	NetSuite    *netsuitesb.Sandbox
	NetSuiteURL string
	// BusinessCentral is the ERP's sandbox when RB_ERP_VENDOR=businesscentral.
	BusinessCentral    *bcsb.Sandbox
	BusinessCentralURL string
	Stripe             *stripesb.Sandbox
	StripeURL          string
	Loop               *loopsb.Sandbox
	LoopURL            string
	Warehouse          *warehousesb.Sandbox
	WarehouseURL       string
	// EDI3PL is the 3PL trading EDI over SFTP when RB_WMS_VENDOR=edi3pl.
	EDI3PL *edisb.Sandbox
	// Fluent is the OMS's sandbox.
	Fluent *fluentsb.Sandbox
}

// Of reads the sandboxes src runs.
func Of(src Source) Set {
	var s Set
	s.Shopify, _ = src.Sandbox("shopify").(*shopifysb.Sandbox)
	s.NetSuite, _ = src.Sandbox("netsuite").(*netsuitesb.Sandbox)
	s.BusinessCentral, _ = src.Sandbox("businesscentral").(*bcsb.Sandbox)
	s.BusinessCentralURL = src.SandboxURL("businesscentral")
	s.Stripe, _ = src.Sandbox("stripe").(*stripesb.Sandbox)
	s.Loop, _ = src.Sandbox("loop").(*loopsb.Sandbox)
	s.Warehouse, _ = src.Sandbox("warehouse").(*warehousesb.Sandbox)
	s.EDI3PL, _ = src.Sandbox("edi3pl").(*edisb.Sandbox)
	s.Fluent, _ = src.Sandbox("fluent").(*fluentsb.Sandbox)
	s.ShopifyURL, s.NetSuiteURL, s.StripeURL = src.SandboxURL("shopify"), src.SandboxURL("netsuite"), src.SandboxURL("stripe")
	s.LoopURL, s.WarehouseURL = src.SandboxURL("loop"), src.SandboxURL("warehouse")
	return s
}
