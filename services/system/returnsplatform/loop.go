package returnsplatform

import (
	"time"

	returnsplatformv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/returnsplatform/v1"
	"github.com/retailbridge/retailbridge/pkg/vendors"
	loopsb "github.com/retailbridge/retailbridge/services/sandbox/loop"
	"google.golang.org/grpc"
)

// serveLoop builds the service over the Loop-style platform deps.Lookup describes (LoopFromEnv).
func serveLoop(d vendors.ServiceDeps) (vendors.Service, error) {
	js, err := d.JetStream()
	if err != nil {
		return vendors.Service{}, err
	}
	svc, err := New(Config{Connection: LoopFromEnv(d.Lookup), Timeout: d.Timeout},
		Deps{Logger: d.Logger, JetStream: js, Now: time.Now, HTTPClient: d.HTTPClient})
	if err != nil {
		return vendors.Service{}, err
	}
	return vendors.Service{Events: true, Intake: svc.Intake(), Register: func(r grpc.ServiceRegistrar) {
		returnsplatformv1.RegisterReturnsPlatformServiceServer(r, svc)
	}}, nil
}

// loopSandbox serves the returns platform sandbox, accepting the configured API key and signing
// webhooks with the configured secret (random ones when unset). Fast moves its parcels in
// milliseconds; Manual only when a test advances them.
func loopSandbox(d vendors.SandboxDeps) (vendors.Sandbox, error) {
	key, secret := vendors.Secret(d.Lookup, "LOOP_API_KEY", ""), vendors.Secret(d.Lookup, "LOOP_WEBHOOK_SECRET", "")
	opts := loopsb.Options{APIKey: key, WebhookSecret: secret, Seed: d.Seed, Manual: d.Manual, StateDir: d.StateDir}
	if d.Fast {
		opts.Delays = loopsb.Delays{PreTransit: 50 * time.Millisecond, InTransit: 50 * time.Millisecond,
			OutForDelivery: 50 * time.Millisecond, Delivered: 50 * time.Millisecond}
	}
	sb, err := loopsb.Open(opts)
	if err != nil {
		return vendors.Sandbox{}, err
	}
	url, err := d.ServeHTTP(sb)
	if err != nil {
		sb.Close()
		return vendors.Sandbox{}, err
	}
	return vendors.Sandbox{URL: url, Value: sb, Close: sb.Close, PointWebhooks: sb.SetWebhookURL,
		Env: map[string]string{"LOOP_API_URL": url, "LOOP_API_KEY": key, "LOOP_WEBHOOK_SECRET": secret}}, nil
}
