package stack

import (
	"time"

	returnsplatformv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/returnsplatform/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
	"github.com/retailbridge/retailbridge/pkg/grpcx"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
	"github.com/retailbridge/retailbridge/pkg/vendors"
	loopsb "github.com/retailbridge/retailbridge/services/sandbox/loop"
	shopifysb "github.com/retailbridge/retailbridge/services/sandbox/shopify"
	warehousesb "github.com/retailbridge/retailbridge/services/sandbox/warehouse"
	"github.com/retailbridge/retailbridge/services/system/returnsplatform"
	"github.com/retailbridge/retailbridge/services/system/wms"
)

// startReturnVendorSandboxes serves the Loop-style returns platform and the warehouse. Their
// webhooks are pointed at the gateway once it listens.
func (s *Stack) startReturnVendorSandboxes() error {
	v := s.vendorCreds
	loopOpts := loopsb.Options{APIKey: v.loopKey, WebhookSecret: v.loopSecret, Seed: s.opts.DemoSeed}
	whOpts := warehousesb.Options{APIKey: v.warehouseKey, WebhookSecret: v.warehouseSecret, Seed: s.opts.DemoSeed}
	if s.opts.FastVendors {
		loopOpts.Delays = loopsb.Delays{PreTransit: 50 * time.Millisecond, InTransit: 50 * time.Millisecond,
			OutForDelivery: 50 * time.Millisecond, Delivered: 50 * time.Millisecond}
		whOpts.Delays = warehousesb.Delays{Receive: 300 * time.Millisecond, Inspect: 100 * time.Millisecond,
			Acknowledge: 100 * time.Millisecond, Ship: 100 * time.Millisecond}
	}
	whOpts.Manual, loopOpts.Manual = s.opts.ManualParcels, s.opts.ManualParcels
	if s.opts.InspectionOutcomes != nil {
		whOpts.Outcomes = *s.opts.InspectionOutcomes
	}
	loopOpts.StateDir, whOpts.StateDir = s.sandboxStateDir(), s.sandboxStateDir()
	var err error
	if s.Loop, err = loopsb.Open(loopOpts); err != nil {
		return err
	}
	s.closers = append(s.closers, s.Loop.Close)
	if s.Warehouse, err = warehousesb.Open(s.Demo, whOpts); err != nil {
		return err
	}
	s.closers = append(s.closers, s.Warehouse.Close)
	loopAddr, whAddr := s.sandboxAddr(returnsplatform.VendorLoop), s.sandboxAddr(wms.VendorWarehouse)
	if s.LoopURL, err = s.serveHTTP("loop sandbox", loopAddr, s.Loop); err != nil {
		return err
	}
	s.WarehouseURL, err = s.serveHTTP("warehouse sandbox", whAddr, s.Warehouse)
	return err
}

func (s *Stack) startReturnsPlatform(v vendors.Vendor) error {
	base, err := s.vendorURL(s.env.loop.BaseURL, s.LoopURL, "LOOP_API_URL")
	if err != nil {
		return err
	}
	js, err := s.jetStream()
	if err != nil {
		return err
	}
	svc, err := returnsplatform.New(returnsplatform.Config{
		Vendor:  v.Name,
		Loop:    returnsplatform.LoopConfig{BaseURL: base, APIKey: s.vendorCreds.loopKey, WebhookSecret: s.vendorCreds.loopSecret},
		Timeout: s.opts.Config.RequestTimeout,
	}, returnsplatform.Deps{
		Logger: s.logger.With("service", "returnsplatform"), JetStream: js, Now: time.Now,
		HTTPClient: telemetry.NewVendorClient(v.Name, s.opts.Config.RequestTimeout, s.tracing, s.Metrics, s.governor(v.Name)),
	})
	if err != nil {
		return err
	}
	return s.serveGRPC(ReturnsPlatform, s.opts.Config.Addrs.ReturnsPlatform, func(srv *grpcx.Server) {
		returnsplatformv1.RegisterReturnsPlatformServiceServer(srv, svc)
	}, s.natsProbe())
}

func (s *Stack) startWMS(v vendors.Vendor) error {
	base, err := s.vendorURL(s.env.warehouse.BaseURL, s.WarehouseURL, "WAREHOUSE_API_URL")
	if err != nil {
		return err
	}
	js, err := s.jetStream()
	if err != nil {
		return err
	}
	svc, err := wms.New(wms.Config{
		Vendor:    v.Name,
		Warehouse: wms.WarehouseConfig{BaseURL: base, APIKey: s.vendorCreds.warehouseKey, WebhookSecret: s.vendorCreds.warehouseSecret},
		Timeout:   s.opts.Config.RequestTimeout,
	}, wms.Deps{
		Logger: s.logger.With("service", "wms"), JetStream: js, Now: time.Now,
		HTTPClient: telemetry.NewVendorClient(v.Name, s.opts.Config.RequestTimeout, s.tracing, s.Metrics, s.governor(v.Name)),
	})
	if err != nil {
		return err
	}
	return s.serveGRPC(WMS, s.opts.Config.Addrs.WMS, func(srv *grpcx.Server) {
		wmsv1.RegisterWmsServiceServer(srv, svc)
	}, s.natsProbe())
}

// PointWebhooksAt makes this stack's sandboxes deliver their webhooks to a gateway (this
// stack's, or another's when the services run separately).
func (s *Stack) PointWebhooksAt(gatewayURL string) {
	if s.Loop != nil {
		s.Loop.SetWebhookURL(gatewayURL + "/webhooks/loop")
	}
	if s.Warehouse != nil {
		s.Warehouse.SetWebhookURL(gatewayURL + "/webhooks/warehouse")
	}
	if s.Shopify != nil {
		s.Shopify.SetWebhooks(shopifysb.WebhookConfig{URL: gatewayURL + "/webhooks/shopify", Secret: s.vendorCreds.shopifySecret})
	}
	if s.Stripe != nil {
		s.Stripe.SetWebhooks(gatewayURL+"/webhooks/stripe", s.vendorCreds.stripeWebhookSecrets...)
	}
}
