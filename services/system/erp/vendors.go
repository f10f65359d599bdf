package erp

import "github.com/retailbridge/retailbridge/pkg/vendors"

// Kind lists the vendors this system kind can connect to, the default first; RB_ERP_VENDOR
// selects one. A new vendor is one entry here (its environment check, service constructor
// and sandbox), its connector under internal/ and its case in New.
var Kind = vendors.Kind{Name: "erp", Vendors: []vendors.Vendor{
	{Name: VendorNetSuite,
		Required: []string{"NETSUITE_URL", "NETSUITE_ACCOUNT", "NETSUITE_CONSUMER_KEY",
			"NETSUITE_CONSUMER_SECRET", "NETSUITE_TOKEN_ID", "NETSUITE_TOKEN_SECRET"},
		SandboxAddr: "127.0.0.1:9302", CheckEnv: checkNetSuiteEnv, Serve: serveNetSuite, Sandbox: netSuiteSandbox},
}}
