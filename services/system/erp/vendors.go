package erp

import (
	"time"

	"github.com/retailbridge/retailbridge/pkg/vendors"
)

// Kind lists the vendors this system kind can connect to, the default first; RB_ERP_VENDOR
// selects one. A new vendor is one entry here (its environment check, service constructor
// and sandbox, in <vendor>.go), its connector under internal/; its Serve builds the service
// with FromConnector, so New and Config need no case for it.
var Kind = vendors.Kind{Name: "erp", Vendors: []vendors.Vendor{
	{Name: VendorNetSuite,
		Required: []string{"NETSUITE_URL", "NETSUITE_ACCOUNT", "NETSUITE_CONSUMER_KEY",
			"NETSUITE_CONSUMER_SECRET", "NETSUITE_TOKEN_ID", "NETSUITE_TOKEN_SECRET"},
		SandboxAddr: "127.0.0.1:9302", CheckEnv: checkNetSuiteEnv, Serve: serveNetSuite, Sandbox: netSuiteSandbox},
	{Name: VendorBusinessCentral, Webhooks: true, WebhookDedup: 48 * time.Hour, // Business Central retries for 36 h
		Governor: "rate=20,burst=100", // 6,000 requests per 5-minute window per client
		Required: []string{"BUSINESSCENTRAL_TENANT_ID", "BUSINESSCENTRAL_ENVIRONMENT", "BUSINESSCENTRAL_COMPANY_ID",
			"BUSINESSCENTRAL_CLIENT_ID", "BUSINESSCENTRAL_CLIENT_SECRET"},
		SandboxAddr: "127.0.0.1:9312", CheckEnv: checkBusinessCentralEnv, Serve: serveBusinessCentral, Sandbox: businessCentralSandbox},
}}
