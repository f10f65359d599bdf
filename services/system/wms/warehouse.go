package wms

import (
	"fmt"
	"time"

	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
	"github.com/retailbridge/retailbridge/pkg/vendors"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	warehousesb "github.com/retailbridge/retailbridge/services/sandbox/warehouse"
	"google.golang.org/grpc"
)

// serveWarehouse builds the service over the 3PL's REST API deps.Lookup describes
// (WarehouseFromEnv).
func serveWarehouse(d vendors.ServiceDeps) (vendors.Service, error) {
	js, err := d.JetStream()
	if err != nil {
		return vendors.Service{}, err
	}
	svc, err := New(Config{Connection: WarehouseFromEnv(d.Lookup), Timeout: d.Timeout},
		Deps{Logger: d.Logger, JetStream: js, Now: time.Now, HTTPClient: d.HTTPClient})
	if err != nil {
		return vendors.Service{}, err
	}
	return vendors.Service{Events: true, Intake: svc.Intake(), Register: func(r grpc.ServiceRegistrar) { wmsv1.RegisterWmsServiceServer(r, svc) }}, nil
}

// warehouseSandbox serves the 3PL sandbox over the demo stock, accepting the configured API key
// and signing webhooks with the configured secret (random ones when unset). Fast moves parcels in
// milliseconds, Manual only when a test drives them; d.Settings may be warehousesb.Outcomes, the
// inspection shares.
func warehouseSandbox(d vendors.SandboxDeps) (vendors.Sandbox, error) {
	ds, err := demo.From(d.Demo)
	if err != nil {
		return vendors.Sandbox{}, err
	}
	key, secret := vendors.Secret(d.Lookup, "WAREHOUSE_API_KEY", ""), vendors.Secret(d.Lookup, "WAREHOUSE_WEBHOOK_SECRET", "")
	opts := warehousesb.Options{APIKey: key, WebhookSecret: secret, Seed: d.Seed, Manual: d.Manual, StateDir: d.StateDir}
	if d.Fast {
		opts.Delays = warehousesb.Delays{Receive: 300 * time.Millisecond, Inspect: 100 * time.Millisecond,
			Acknowledge: 100 * time.Millisecond, Ship: 100 * time.Millisecond}
	}
	switch s := d.Settings.(type) {
	case nil:
	case warehousesb.Outcomes:
		opts.Outcomes = s
	default:
		return vendors.Sandbox{}, fmt.Errorf("warehouse sandbox: settings %T are not warehouse.Outcomes", d.Settings)
	}
	sb, err := warehousesb.Open(ds, opts)
	if err != nil {
		return vendors.Sandbox{}, err
	}
	url, err := d.ServeHTTP(sb)
	if err != nil {
		sb.Close()
		return vendors.Sandbox{}, err
	}
	return vendors.Sandbox{URL: url, Value: sb, Close: sb.Close, PointWebhooks: sb.SetWebhookURL,
		Env: map[string]string{"WAREHOUSE_API_URL": url, "WAREHOUSE_API_KEY": key, "WAREHOUSE_WEBHOOK_SECRET": secret}}, nil
}
