package wms_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/retailbridge/retailbridge/internal/stack"
	"github.com/retailbridge/retailbridge/pkg/config"
	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
	"github.com/retailbridge/retailbridge/pkg/grpcx"
	"github.com/retailbridge/retailbridge/pkg/testkit"
	"github.com/retailbridge/retailbridge/pkg/vendors"
	"github.com/retailbridge/retailbridge/services/system"
	"github.com/retailbridge/retailbridge/services/system/wms"
)

// acmeConnector is a throwaway warehouse vendor's connector: stock is whatever its API's /stock
// says, read with the key its environment gives; a webhook signed "ok" reports a count.
type acmeConnector struct {
	deps vendors.ServiceDeps
}

var _ wms.Connector = acmeConnector{}

func (a acmeConnector) ListPositions(ctx context.Context, _, _ []string) ([]*canonicalv1.InventoryPosition, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.deps.Lookup("ACME3PL_URL")+"/stock", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.deps.Lookup("ACME3PL_KEY"))
	resp, err := a.deps.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	sku, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, errs.E(errs.Unauthenticated, "acme_refused", string(sku))
	}
	return []*canonicalv1.InventoryPosition{{Sku: string(sku)}}, nil
}

func (acmeConnector) ParseWebhook(h http.Header, body []byte) (string, []*canonicalv1.Event, error) {
	if h.Get("X-Acme-Signature") != "ok" {
		return "", nil, errs.E(errs.Unauthenticated, "webhook_signature_invalid", "bad signature")
	}
	id := h.Get("X-Acme-Delivery")
	typ := events.TypeName(canonicalv1.EventType_EVENT_TYPE_WMS_INVENTORY_COUNTED)
	return id, []*canonicalv1.Event{{Id: "acme-" + id, Source: "acme3pl", Type: typ, Subject: "sku/" + string(body), SpecVersion: 1}}, nil
}

func (acmeConnector) ExpectReturn(context.Context, *canonicalv1.Return, string, string) (string, error) {
	return "", errs.E(errs.Unimplemented, "not_implemented", "acme3pl takes no returns")
}

func (acmeConnector) GetReturnReceipt(context.Context, string) (*wmsv1.GetReturnReceiptResponse, error) {
	return nil, errs.E(errs.Unimplemented, "not_implemented", "acme3pl takes no returns")
}

func (acmeConnector) CreateShippingOrder(context.Context, *canonicalv1.Shipment, string) (string, error) {
	return "", errs.E(errs.Unimplemented, "not_implemented", "acme3pl ships nothing")
}

func (acmeConnector) CancelShippingOrder(context.Context, string, string, string, string) error {
	return errs.E(errs.Unimplemented, "unimplemented", "")
}

func (acmeConnector) GetShippingOrder(context.Context, string) (*wmsv1.GetShippingOrderResponse, error) {
	return nil, errs.E(errs.Unimplemented, "not_implemented", "acme3pl ships nothing")
}

func (acmeConnector) Ready(context.Context) error { return nil }

// polled is what the throwaway vendor's poller got from the intake.
var polled = struct {
	sync.Mutex
	events.Delivery
}{}

// serveAcme is the throwaway vendor's Serve: its connector under the WMS kind's own service,
// and a poller (run for the service's lifetime) that hands a fetched page to the same intake
// its webhooks reach.
func serveAcme(d vendors.ServiceDeps) (vendors.Service, error) {
	js, err := d.JetStream()
	if err != nil {
		return vendors.Service{}, err
	}
	svc := wms.FromConnector("acme3pl", acmeConnector{deps: d}, d.Timeout,
		wms.Deps{Logger: d.Logger, HTTPClient: d.HTTPClient, JetStream: js})
	d.Go("poller", func(ctx context.Context) error {
		page := vendors.Delivery{Vendor: "acme3pl", Channel: vendors.Poll, Name: "cursor-1", Body: []byte("ACME-SKU-2"),
			Headers: http.Header{"X-Acme-Signature": {"ok"}, "X-Acme-Delivery": {"poll-1"}}}
		got, err := svc.Intake().Accept(ctx, page)
		if err != nil {
			return err
		}
		polled.Lock()
		polled.Delivery = got
		polled.Unlock()
		<-ctx.Done()
		return nil
	})
	return vendors.Service{Events: true, Intake: svc.Intake(),
		Register: func(r grpc.ServiceRegistrar) { wmsv1.RegisterWmsServiceServer(r, svc) }}, nil
}

// acmeSandbox is the throwaway vendor's emulation: it accepts the configured key (a random one
// when unset) and remembers where its webhooks were pointed.
type acmeSandbox struct {
	mu       sync.Mutex
	webhooks string
}

func (a *acmeSandbox) start(d vendors.SandboxDeps) (vendors.Sandbox, error) {
	key := vendors.Secret(d.Lookup, "ACME3PL_KEY", "acme_")
	url, err := d.ServeHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+key {
			http.Error(w, "bad key", http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, "ACME-SKU-1")
	}))
	if err != nil {
		return vendors.Sandbox{}, err
	}
	return vendors.Sandbox{URL: url, Value: a, Env: map[string]string{"ACME3PL_URL": url, "ACME3PL_KEY": key},
		PointWebhooks: func(u string) {
			a.mu.Lock()
			defer a.mu.Unlock()
			a.webhooks = u
		}}, nil
}

// A second warehouse vendor is one registration: selected by RB_WMS_VENDOR, the stack starts
// its sandbox, serves the kind over its connector (wms.FromConnector) with the sandbox's URL and
// credentials, guards its calls with a governor named after it, exports its environment for
// separately started services and points its webhooks at /webhooks/{vendor}, where the gateway
// takes them to the connector's parser over the one intake contract — with no change to the
// stack, the configuration or the gateway. A poller it runs for the service's lifetime feeds the
// same intake.
func TestASecondVendorIsOneRegistration(t *testing.T) {
	sb := &acmeSandbox{}
	acme := vendors.Vendor{Name: "acme3pl", Webhooks: true, WebhookDedup: 2 * time.Hour,
		Required: []string{"ACME3PL_URL", "ACME3PL_KEY"}, SandboxAddr: "127.0.0.1:9399",
		Serve:   serveAcme,
		Sandbox: sb.start}
	registered := wms.Kind.Vendors
	wms.Kind.Vendors = append(slices.Clip(registered), acme)
	t.Cleanup(func() { wms.Kind.Vendors = registered })

	env := map[string]string{"RB_WMS_VENDOR": "acme3pl", "RB_DATA_DIR": t.TempDir()}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if err := stack.CheckVendorConfig(cfg); err != nil {
		t.Fatalf("CheckVendorConfig: %v", err)
	}
	if got := stack.MissingEnv(cfg, []stack.Component{stack.WMS}, true); !slices.Equal(got, acme.Required) {
		t.Errorf("serve wms without sandboxes needs %v, want the registration's %v", got, acme.Required)
	}
	st, err := stack.Start(context.Background(), stack.Options{Config: cfg, Ephemeral: true,
		Components: []stack.Component{stack.Sandboxes, stack.WMS, stack.Gateway}, GatewayAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	if st.Sandbox("acme3pl") != sb || st.SandboxURL(wms.VendorWarehouse) != "" {
		t.Fatalf("sandboxes: acme3pl %v, warehouse at %q; want acme3pl's started instead of the warehouse's",
			st.Sandbox("acme3pl"), st.SandboxURL(wms.VendorWarehouse))
	}
	if got := st.SandboxConfig()["ACME3PL_URL"]; got != st.SandboxURL("acme3pl") || got == "" {
		t.Errorf("SandboxConfig ACME3PL_URL = %q, want the sandbox's URL %q", got, st.SandboxURL("acme3pl"))
	}
	conn, err := grpcx.Dial(st.Addr(stack.WMS), grpcx.DialDeps{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	resp, err := wmsv1.NewWmsServiceClient(conn).ListPositions(context.Background(), &wmsv1.ListPositionsRequest{})
	if err != nil {
		t.Fatalf("ListPositions through the stack's WMS: %v", err)
	}
	if got := resp.GetPositions()[0].GetSku(); got != "ACME-SKU-1" {
		t.Errorf("stock %q, want the acme sandbox's ACME-SKU-1", got)
	}
	if st.Governor("acme3pl") == nil {
		t.Error("no governor guards acme3pl's calls")
	}
	if !slices.Contains(system.WebhookVendorNames(), "acme3pl") {
		t.Errorf("webhook vendors %v (the API document's enum) lack acme3pl", system.WebhookVendorNames())
	}
	post := func(sig string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, st.GatewayURL+"/webhooks/acme3pl", strings.NewReader("ACME-SKU-1"))
		req.Header.Set("X-Acme-Signature", sig)
		req.Header.Set("X-Acme-Delivery", "d-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post("forged"); code != http.StatusUnauthorized {
		t.Errorf("forged delivery: %d %s, want 401", code, body)
	}
	if code, body := post("ok"); code != http.StatusOK || !strings.Contains(body, `"delivery_id":"d-1"`) || !strings.Contains(body, "acme-d-1") {
		t.Errorf("delivery through the gateway: %d %s, want 200 with delivery d-1 and event acme-d-1", code, body)
	}
	testkit.Eventually(t, 10*time.Second, "the poller's page published through the intake", func() bool {
		polled.Lock()
		defer polled.Unlock()
		return slices.Equal(polled.EventIDs, []string{"acme-poll-1"})
	})
	st.PointWebhooksAt("http://gateway.test")
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if sb.webhooks != "http://gateway.test/webhooks/acme3pl" {
		t.Errorf("webhooks pointed at %q, want http://gateway.test/webhooks/acme3pl", sb.webhooks)
	}
}
