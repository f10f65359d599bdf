package erp

import (
	"time"

	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	"github.com/retailbridge/retailbridge/pkg/vendors"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	netsuitesb "github.com/retailbridge/retailbridge/services/sandbox/netsuite"
	"google.golang.org/grpc"
)

// checkNetSuiteEnv names a NetSuite setting that does not parse (NETSUITE_MAX_CONCURRENCY).
func checkNetSuiteEnv(lookup func(string) string) error {
	_, err := NetSuiteFromEnv(lookup)
	return err
}

// serveNetSuite builds the service over the NetSuite account deps.Lookup describes.
func serveNetSuite(d vendors.ServiceDeps) (vendors.Service, error) {
	ns, err := NetSuiteFromEnv(d.Lookup)
	if err != nil {
		return vendors.Service{}, err
	}
	svc, err := New(Config{Connection: ns, Timeout: d.Timeout, Locations: ns.Locations},
		Deps{Logger: d.Logger, Now: time.Now, HTTPClient: d.HTTPClient})
	if err != nil {
		return vendors.Service{}, err
	}
	return vendors.Service{Register: func(r grpc.ServiceRegistrar) { erpv1.RegisterErpServiceServer(r, svc) }}, nil
}

// netSuiteSandbox serves the NetSuite sandbox over the demo items, accepting the configured
// token-based-authentication credentials (random ones when unset).
func netSuiteSandbox(d vendors.SandboxDeps) (vendors.Sandbox, error) {
	ds, err := demo.From(d.Demo)
	if err != nil {
		return vendors.Sandbox{}, err
	}
	env := map[string]string{"NETSUITE_ACCOUNT": vendors.Or(d.Lookup, "NETSUITE_ACCOUNT", "TSTDRV0000001")}
	for _, k := range []string{"NETSUITE_CONSUMER_KEY", "NETSUITE_CONSUMER_SECRET", "NETSUITE_TOKEN_ID", "NETSUITE_TOKEN_SECRET"} {
		env[k] = vendors.Secret(d.Lookup, k, "")
	}
	sb, err := netsuitesb.Open(ds, netsuitesb.Options{Account: env["NETSUITE_ACCOUNT"],
		ConsumerKey: env["NETSUITE_CONSUMER_KEY"], ConsumerSecret: env["NETSUITE_CONSUMER_SECRET"],
		TokenID: env["NETSUITE_TOKEN_ID"], TokenSecret: env["NETSUITE_TOKEN_SECRET"], Now: time.Now, Seed: d.Seed,
		StateDir: d.StateDir})
	if err != nil {
		return vendors.Sandbox{}, err
	}
	// The account's own location internal ids, mapped to the demo world's ledger ids.
	env["NETSUITE_LOCATIONS"] = vendors.Or(d.Lookup, "NETSUITE_LOCATIONS", LocationMap(netsuitesb.Locations).String())
	if env["NETSUITE_URL"], err = d.ServeHTTP(sb); err != nil {
		return vendors.Sandbox{}, err
	}
	return vendors.Sandbox{URL: env["NETSUITE_URL"], Env: env, Value: sb, Close: func() {}}, nil
}
