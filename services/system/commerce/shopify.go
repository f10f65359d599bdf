package commerce

import (
	intakev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/intake/v1"
	"time"

	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
	"github.com/retailbridge/retailbridge/pkg/vendors"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	shopifysb "github.com/retailbridge/retailbridge/services/sandbox/shopify"
	"google.golang.org/grpc"
)

// serveShopify builds the service over the Shopify shop deps.Lookup describes (ShopifyFromEnv).
func serveShopify(d vendors.ServiceDeps) (vendors.Service, error) {
	js, err := d.JetStream()
	if err != nil {
		return vendors.Service{}, err
	}
	svc, err := New(Config{Connection: ShopifyFromEnv(d.Lookup), Timeout: d.Timeout},
		Deps{JetStream: js, Logger: d.Logger, Now: time.Now, HTTPClient: d.HTTPClient})
	if err != nil {
		return vendors.Service{}, err
	}
	return vendors.Service{Events: true, Intake: intakeOf(svc), Register: func(r grpc.ServiceRegistrar) { commercev1.RegisterCommerceServiceServer(r, svc) }}, nil
}

// shopifySandbox serves the Shopify sandbox over the demo shop, accepting the configured access
// token (a random one when unset) and signing its webhooks with the configured client secret.
func shopifySandbox(d vendors.SandboxDeps) (vendors.Sandbox, error) {
	ds, err := demo.From(d.Demo)
	if err != nil {
		return vendors.Sandbox{}, err
	}
	token := vendors.Secret(d.Lookup, "SHOPIFY_ACCESS_TOKEN", "shpat_")
	secret := vendors.Secret(d.Lookup, "SHOPIFY_WEBHOOK_SECRET", "")
	sb, err := shopifysb.Open(ds, shopifysb.Options{AccessToken: token, Now: time.Now, Seed: d.Seed,
		Warm: []string{ShopifyFromEnv(d.Lookup).APIVersion}, StateDir: d.StateDir})
	if err != nil {
		return vendors.Sandbox{}, err
	}
	// The demo shop is on Shopify Plus: 1000 points/s restore (shopify.dev rate limits), with a
	// 10,000-point bucket. Tests shrink it to the standard plan to exercise the throttle.
	sb.SetThrottle(10000, 1000)
	url, err := d.ServeHTTP(sb)
	if err != nil {
		sb.Close()
		return vendors.Sandbox{}, err
	}
	return vendors.Sandbox{URL: url, Value: sb, Close: sb.Close,
		Env:           map[string]string{"SHOPIFY_ADMIN_URL": url, "SHOPIFY_ACCESS_TOKEN": token, "SHOPIFY_WEBHOOK_SECRET": secret},
		PointWebhooks: func(u string) { sb.SetWebhooks(shopifysb.WebhookConfig{URL: u, Secret: secret}) },
	}, nil
}

// intakeOf is svc's webhook intake, or nil (not a typed nil) when it takes none.
func intakeOf(svc *Service) intakev1.IntakeServiceServer {
	if in := svc.Intake(); in != nil {
		return in
	}
	return nil
}
