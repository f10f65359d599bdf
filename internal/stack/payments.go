package stack

import (
	"time"

	paymentsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/payments/v1"
	"github.com/retailbridge/retailbridge/pkg/grpcx"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
	"github.com/retailbridge/retailbridge/pkg/vendors"
	stripesb "github.com/retailbridge/retailbridge/services/sandbox/stripe"
	"github.com/retailbridge/retailbridge/services/system/payments"
)

// startStripeSandbox serves the Stripe sandbox next to the others. Its webhooks are pointed at
// the gateway once it listens.
func (s *Stack) startStripeSandbox() error {
	var err error
	if s.Stripe, err = stripesb.Open(s.Demo, stripesb.Options{SecretKey: s.vendorCreds.stripeKey,
		WebhookSecrets: s.vendorCreds.stripeWebhookSecrets, Now: time.Now, Seed: s.opts.DemoSeed,
		StateDir: s.sandboxStateDir()}); err != nil {
		return err
	}
	s.closers = append(s.closers, s.Stripe.Close)
	s.StripeURL, err = s.serveHTTP("stripe sandbox", s.sandboxAddr(payments.VendorStripe), s.Stripe)
	return err
}

func (s *Stack) startPayments(v vendors.Vendor) error {
	base, err := s.vendorURL(s.env.stripe.BaseURL, s.StripeURL, "STRIPE_API_URL")
	if err != nil {
		return err
	}
	js, err := s.jetStream()
	if err != nil {
		return err
	}
	svc, err := payments.New(payments.Config{
		Vendor: v.Name,
		Stripe: payments.StripeConfig{BaseURL: base, SecretKey: s.vendorCreds.stripeKey,
			WebhookSecrets: s.vendorCreds.stripeWebhookSecrets},
		Timeout: s.opts.Config.RequestTimeout,
	}, payments.Deps{
		Logger: s.logger.With("service", "payments"), JetStream: js, Now: time.Now,
		HTTPClient: telemetry.NewVendorClient(v.Name, s.opts.Config.RequestTimeout, s.tracing, s.Metrics, s.governor(v.Name)),
	})
	if err != nil {
		return err
	}
	return s.serveGRPC(Payments, s.opts.Config.Addrs.Payments, func(srv *grpcx.Server) {
		paymentsv1.RegisterPaymentsServiceServer(srv, svc)
	}, s.natsProbe())
}
