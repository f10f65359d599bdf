package returnsplatform

import (
	"time"

	"github.com/retailbridge/retailbridge/pkg/vendors"
)

// Kind lists the vendors this system kind can connect to, the default first; RB_RETURNSPLATFORM_VENDOR
// selects one. A new vendor is one entry here (its environment check, service constructor
// and sandbox, in <vendor>.go), its connector under internal/; its Serve builds the service
// with FromConnector, so New and Config need no case for it.
var Kind = vendors.Kind{Name: "returnsplatform", Vendors: []vendors.Vendor{
	// The returns platform documents no horizon: it is given Stripe's, the longest of the vendors.
	{Name: VendorLoop, Webhooks: true, WebhookDedup: 96 * time.Hour,
		Required:    []string{"LOOP_API_URL", "LOOP_API_KEY", "LOOP_WEBHOOK_SECRET"},
		SandboxAddr: "127.0.0.1:9304", Serve: serveLoop, Sandbox: loopSandbox},
}}
