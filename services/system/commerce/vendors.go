package commerce

import (
	"time"

	"github.com/retailbridge/retailbridge/pkg/vendors"
)

// Kind lists the vendors this system kind can connect to, the default first; RB_COMMERCE_VENDOR
// selects one. A new vendor is one entry here (its environment check, service constructor
// and sandbox, in <vendor>.go), its connector under internal/; its Serve builds the service
// with FromConnector, so New and Config need no case for it.
var Kind = vendors.Kind{Name: "commerce", Vendors: []vendors.Vendor{
	// Shopify retries a failed delivery 8 times over 4 hours (it used to be 19 times over 48
	// hours); the horizon keeps the old 48 hours plus a day for clock skew and slow retries.
	{Name: VendorShopify, Webhooks: true, WebhookDedup: 72 * time.Hour,
		Required:    []string{"SHOPIFY_ADMIN_URL", "SHOPIFY_ACCESS_TOKEN", "SHOPIFY_WEBHOOK_SECRET"},
		SandboxAddr: "127.0.0.1:9301", Serve: serveShopify, Sandbox: shopifySandbox},
}}
