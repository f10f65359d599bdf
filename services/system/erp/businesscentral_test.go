package erp_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/services/system/erp"
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
	err := erp.Config{Vendor: erp.VendorBusinessCentral, BusinessCentral: erp.BusinessCentralConfig{
		BaseURL: "ftp://x", NotificationURL: "https://rb.example/webhooks/businesscentral", ClientState: "short",
		Currency: "usd", MaxConcurrency: -1,
	}}.Validate()
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
	ok := erp.Config{Vendor: erp.VendorBusinessCentral, BusinessCentral: erp.BusinessCentralConfig{TenantID: "t", Environment: "production",
		CompanyID: "c", ClientID: "id", ClientSecret: "secret"}}
	if err := ok.Validate(); err != nil {
		t.Errorf("a complete config: %v", err)
	}
	if _, err := erp.New(ok, erp.Deps{HTTPClient: http.DefaultClient}); err != nil {
		t.Errorf("New(businesscentral): %v", err)
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
