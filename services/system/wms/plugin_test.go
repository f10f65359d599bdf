package wms_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/retailbridge/retailbridge/internal/stack"
	"github.com/retailbridge/retailbridge/pkg/config"
	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
	"github.com/retailbridge/retailbridge/pkg/grpcx"
	"github.com/retailbridge/retailbridge/pkg/vendors"
	"github.com/retailbridge/retailbridge/services/system/wms"
)

// acmeWMS is a throwaway warehouse vendor's service: stock is whatever its API's /stock says,
// read with the key its environment gives.
type acmeWMS struct {
	wmsv1.UnimplementedWmsServiceServer
	deps vendors.ServiceDeps
}

func (a acmeWMS) ListPositions(ctx context.Context, _ *wmsv1.ListPositionsRequest) (*wmsv1.ListPositionsResponse, error) {
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
	return &wmsv1.ListPositionsResponse{Positions: []*canonicalv1.InventoryPosition{{Sku: string(sku)}}}, nil
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
// its sandbox, hands its service the sandbox's URL and credentials, guards its calls with a
// governor named after it, exports its environment for separately started services and points
// its webhooks at /webhooks/{vendor} — with no change to the stack, the configuration or the
// gateway.
func TestASecondVendorIsOneRegistration(t *testing.T) {
	sb := &acmeSandbox{}
	acme := vendors.Vendor{Name: "acme3pl", Webhooks: true, WebhookDedup: 2 * time.Hour,
		Required: []string{"ACME3PL_URL", "ACME3PL_KEY"}, SandboxAddr: "127.0.0.1:9399",
		Serve: func(d vendors.ServiceDeps) (vendors.Service, error) {
			return vendors.Service{Register: func(r grpc.ServiceRegistrar) { wmsv1.RegisterWmsServiceServer(r, acmeWMS{deps: d}) }}, nil
		},
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
		Components: []stack.Component{stack.Sandboxes, stack.WMS}})
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
	st.PointWebhooksAt("http://gateway.test")
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if sb.webhooks != "http://gateway.test/webhooks/acme3pl" {
		t.Errorf("webhooks pointed at %q, want http://gateway.test/webhooks/acme3pl", sb.webhooks)
	}
}
