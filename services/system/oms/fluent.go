package oms

import (
	"google.golang.org/grpc"

	omsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/oms/v1"
	"github.com/retailbridge/retailbridge/pkg/vendors"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	fluentsb "github.com/retailbridge/retailbridge/services/sandbox/fluent"
)

// serveFluent builds the service over the Fluent account deps.Lookup describes (FluentFromEnv).
func serveFluent(d vendors.ServiceDeps) (vendors.Service, error) {
	svc, err := New(Config{Connection: FluentFromEnv(d.Lookup), Timeout: d.Timeout},
		Deps{Logger: d.Logger, HTTPClient: d.HTTPClient})
	if err != nil {
		return vendors.Service{}, err
	}
	return vendors.Service{Register: func(r grpc.ServiceRegistrar) { omsv1.RegisterOmsServiceServer(r, svc) }}, nil
}

// fluentSandbox serves the Fluent sandbox over the demo catalogue, accepting the configured
// credentials (random ones when unset).
func fluentSandbox(d vendors.SandboxDeps) (vendors.Sandbox, error) {
	ds, err := demo.From(d.Demo)
	if err != nil {
		return vendors.Sandbox{}, err
	}
	opts := fluentsb.Options{ClientID: vendors.Secret(d.Lookup, "FLUENT_CLIENT_ID", "fluent-"),
		ClientSecret: vendors.Secret(d.Lookup, "FLUENT_CLIENT_SECRET", ""), Username: vendors.Secret(d.Lookup, "FLUENT_USERNAME", "rb-"),
		Password: vendors.Secret(d.Lookup, "FLUENT_PASSWORD", ""), Seed: d.Seed}
	sb := fluentsb.New(ds, opts)
	url, err := d.ServeHTTP(sb)
	if err != nil {
		return vendors.Sandbox{}, err
	}
	return vendors.Sandbox{URL: url, Value: sb, Env: map[string]string{"FLUENT_API_URL": url, "FLUENT_CLIENT_ID": opts.ClientID,
		"FLUENT_CLIENT_SECRET": opts.ClientSecret, "FLUENT_USERNAME": opts.Username, "FLUENT_PASSWORD": opts.Password,
		"FLUENT_RETAILER_ID": fluentsb.DevRetailerID}}, nil
}
