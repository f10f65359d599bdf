package payments

import (
	"strings"
	"time"

	paymentsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/payments/v1"
	"github.com/retailbridge/retailbridge/pkg/vendors"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	stripesb "github.com/retailbridge/retailbridge/services/sandbox/stripe"
	"google.golang.org/grpc"
)

// serveStripe builds the service over the Stripe account deps.Lookup describes (StripeFromEnv).
func serveStripe(d vendors.ServiceDeps) (vendors.Service, error) {
	js, err := d.JetStream()
	if err != nil {
		return vendors.Service{}, err
	}
	svc, err := New(Config{Connection: StripeFromEnv(d.Lookup), Timeout: d.Timeout},
		Deps{Logger: d.Logger, JetStream: js, Now: time.Now, HTTPClient: d.HTTPClient})
	if err != nil {
		return vendors.Service{}, err
	}
	return vendors.Service{Events: true, Intake: svc.Intake(), Register: func(r grpc.ServiceRegistrar) { paymentsv1.RegisterPaymentsServiceServer(r, svc) }}, nil
}

// stripeSandbox serves the Stripe sandbox over the demo orders' payments, accepting the
// configured secret key and signing webhooks with the configured endpoint secrets (two while one
// is rolled); random ones when unset.
func stripeSandbox(d vendors.SandboxDeps) (vendors.Sandbox, error) {
	ds, err := demo.From(d.Demo)
	if err != nil {
		return vendors.Sandbox{}, err
	}
	key := vendors.Secret(d.Lookup, "STRIPE_SECRET_KEY", "sk_test_")
	secrets := StripeFromEnv(d.Lookup).WebhookSecrets
	if len(secrets) == 0 {
		secrets = []string{vendors.Secret(d.Lookup, "STRIPE_WEBHOOK_SECRET", "whsec_")}
	}
	sb, err := stripesb.Open(ds, stripesb.Options{SecretKey: key, WebhookSecrets: secrets, Now: time.Now, Seed: d.Seed,
		StateDir: d.StateDir})
	if err != nil {
		return vendors.Sandbox{}, err
	}
	url, err := d.ServeHTTP(sb)
	if err != nil {
		sb.Close()
		return vendors.Sandbox{}, err
	}
	return vendors.Sandbox{URL: url, Value: sb, Close: sb.Close,
		Env:           map[string]string{"STRIPE_API_URL": url, "STRIPE_SECRET_KEY": key, "STRIPE_WEBHOOK_SECRET": strings.Join(secrets, ",")},
		PointWebhooks: func(u string) { sb.SetWebhooks(u, secrets...) },
	}, nil
}
