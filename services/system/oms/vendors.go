package oms

import "github.com/retailbridge/retailbridge/pkg/vendors"

// Kind lists the vendors this system kind can connect to, the default first; RB_OMS_VENDOR
// selects one. A new vendor is one entry here, its connector under internal/ and its case in New.
var Kind = vendors.Kind{Name: "oms", Vendors: []vendors.Vendor{
	// Fluent Order Management reports through its own event webhooks; the workflow reads
	// allocations (GetAllocation) instead, so no webhook route is registered yet.
	{Name: VendorFluent,
		Required:    []string{"FLUENT_API_URL", "FLUENT_CLIENT_ID", "FLUENT_CLIENT_SECRET", "FLUENT_USERNAME", "FLUENT_PASSWORD", "FLUENT_RETAILER_ID"},
		SandboxAddr: "127.0.0.1:9308", Serve: serveFluent, Sandbox: fluentSandbox},
}}
