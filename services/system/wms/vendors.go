package wms

import (
	"time"

	"github.com/retailbridge/retailbridge/pkg/vendors"
)

// Kind lists the vendors this system kind can connect to, the default first; RB_WMS_VENDOR
// selects one. A new vendor is one entry here (its environment check, service constructor
// and sandbox, in <vendor>.go), its connector under internal/; its Serve builds the service
// with FromConnector, so New and Config need no case for it.
var Kind = vendors.Kind{Name: "wms", Vendors: []vendors.Vendor{
	// The warehouse documents no horizon: it is given Stripe's, the longest of the vendors.
	{Name: VendorWarehouse, Webhooks: true, WebhookDedup: 96 * time.Hour,
		Required:    []string{"WAREHOUSE_API_URL", "WAREHOUSE_API_KEY", "WAREHOUSE_WEBHOOK_SECRET"},
		SandboxAddr: "127.0.0.1:9305", Serve: serveWarehouse, Sandbox: warehouseSandbox},
	// A 3PL trading EDI X12 files over SFTP: no webhooks; its interchanges are deduplicated by
	// control number (edi3pl.go).
	{Name: VendorEDI3PL, Required: []string{"EDI3PL_SFTP_ADDR", "EDI3PL_SFTP_PRIVATE_KEY", "EDI3PL_SFTP_HOST_KEY"},
		SandboxAddr: "127.0.0.1:9306", CheckEnv: checkEDI3PLEnv, Serve: serveEDI3PL, Sandbox: edi3plSandbox},
}}
