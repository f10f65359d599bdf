package payments

import (
	"time"

	"github.com/retailbridge/retailbridge/pkg/vendors"
)

// Kind lists the vendors this system kind can connect to, the default first; RB_PAYMENTS_VENDOR
// selects one. A new vendor is one entry here (its environment check, service constructor
// and sandbox, in <vendor>.go), its connector under internal/; its Serve builds the service
// with FromConnector, so New and Config need no case for it.
var Kind = vendors.Kind{Name: "payments", Vendors: []vendors.Vendor{
	// Stripe retries for up to 3 days in live mode; plus a day of margin.
	{Name: VendorStripe, Webhooks: true, WebhookDedup: 96 * time.Hour,
		Required:    []string{"STRIPE_API_URL", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"},
		SandboxAddr: "127.0.0.1:9303", Serve: serveStripe, Sandbox: stripeSandbox},
}}
