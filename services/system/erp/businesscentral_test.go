package erp_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	intakev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/intake/v1"
	bcsandbox "github.com/retailbridge/retailbridge/services/sandbox/businesscentral"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/system/erp"
	"github.com/retailbridge/retailbridge/services/system/erp/internal/businesscentral"
)

func TestBusinessCentralFromEnv(t *testing.T) {
	t.Parallel()
	lookup := func(env map[string]string) func(string) string { return func(k string) string { return env[k] } }
	c, err := erp.BusinessCentralFromEnv(lookup(map[string]string{"BUSINESSCENTRAL_TENANT_ID": "t", "BUSINESSCENTRAL_CLIENT_SECRET": "s"}))
	if err != nil || c.TenantID != "t" || c.ClientSecret != "s" || c.MaxConcurrency != erp.DefaultBusinessCentralMaxConcurrency {
		t.Fatalf("defaults: %v, %v", c, err)
	}
	for _, bad := range []string{"0", "-1", "lots"} {
		if _, err := erp.BusinessCentralFromEnv(lookup(map[string]string{"BUSINESSCENTRAL_MAX_CONCURRENCY": bad})); err == nil ||
			!strings.Contains(err.Error(), "BUSINESSCENTRAL_MAX_CONCURRENCY") {
			t.Errorf("BUSINESSCENTRAL_MAX_CONCURRENCY=%q: %v, want an error naming it", bad, err)
		}
	}
}

func TestBusinessCentralConfigValidate(t *testing.T) {
	t.Parallel()
	err := erp.BusinessCentralConfig{
		BaseURL: "ftp://x", NotificationURL: "https://rb.example/webhooks/businesscentral", ClientState: "short",
		Currency: "usd", MaxConcurrency: -1,
	}.Validate()
	e := errs.As(err)
	if e == nil {
		t.Fatalf("Validate = %v; want invalid_config", err)
	}
	got := map[string]bool{}
	for _, f := range e.Fields {
		got[f.Field] = true
	}
	for _, want := range []string{"businesscentral.tenant_id", "businesscentral.environment", "businesscentral.company_id",
		"businesscentral.client_id", "businesscentral.client_secret", "businesscentral.base_url", "businesscentral.client_state",
		"businesscentral.currency", "businesscentral.max_concurrency"} {
		if !got[want] {
			t.Errorf("Validate does not name %s: %v", want, e.Fields)
		}
	}
	ok := erp.BusinessCentralConfig{TenantID: "t", Environment: "production", CompanyID: "c", ClientID: "id", ClientSecret: "secret"}
	if err := ok.Validate(); err != nil {
		t.Errorf("a complete config: %v", err)
	}
}

func TestBusinessCentralSecretsAreMasked(t *testing.T) {
	t.Parallel()
	c := erp.BusinessCentralConfig{ClientID: "id", ClientSecret: "top-secret-value", ClientState: "another-secret-value"}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), c.String()} {
		if strings.Contains(s, "top-secret-value") || strings.Contains(s, "another-secret-value") {
			t.Errorf("printed config leaks a secret: %s", s)
		}
	}
}

// The ERP kind's intake over Business Central answers the subscription handshake with the token
// as plain text and refuses a notification with another clientState.
func TestBusinessCentralWebhookIntake(t *testing.T) {
	t.Parallel()
	sb := bcsandbox.New(demo.Generate(7, time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC), 3, 3), bcsandbox.Options{})
	srv := httptest.NewServer(sb)
	defer srv.Close()
	o := sb.Options()
	client, err := businesscentral.New(businesscentral.Config{BaseURL: srv.URL, TokenURL: srv.URL + sb.TokenPath(),
		TenantID: o.Tenant, Environment: o.Environment, CompanyID: o.CompanyID, ClientID: o.ClientID, ClientSecret: o.ClientSecret,
		ClientState: "a-shared-secret-of-some-length"}, srv.Client(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	in := erp.FromConnector(erp.VendorBusinessCentral, client, 0, erp.Deps{HTTPClient: srv.Client(), Inbound: client}).Intake()
	ctx := context.Background()
	resp, err := in.Deliver(ctx, &intakev1.DeliverRequest{Vendor: erp.VendorBusinessCentral, Query: map[string]string{"validationToken": "tok-123"}})
	if err != nil || string(resp.GetReply()) != "tok-123" || !strings.HasPrefix(resp.GetReplyContentType(), "text/plain") {
		t.Errorf("handshake = %v, %v; want the token echoed as plain text", resp, err)
	}
	forged := `{"value":[{"subscriptionId":"s","clientState":"wrong","resource":"api/v2.0/companies(` + o.CompanyID +
		`)/salesOrders(00000001-0000-4000-8000-000000000001)","changeType":"updated","lastModifiedDateTime":"2026-03-14T09:26:53Z"}]}`
	_, err = in.Deliver(ctx, &intakev1.DeliverRequest{Vendor: erp.VendorBusinessCentral, Body: []byte(forged)})
	if e := errs.As(err); e == nil || e.Kind != errs.Unauthenticated {
		t.Errorf("forged delivery: %v; want unauthenticated", err)
	}
}
