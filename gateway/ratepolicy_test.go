package gateway

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/retailbridge/retailbridge/configs"
	"github.com/retailbridge/retailbridge/pkg/auth"
)

func TestShippedRatePoliciesLoad(t *testing.T) {
	t.Parallel()
	p, err := ParseRatePolicies(configs.RateLimits)
	if err != nil {
		t.Fatal(err)
	}
	if name, l := p.For(auth.Storefront, ClassEligibility); name != ClassEligibility || l.Rate != 20 {
		t.Errorf("storefront eligibility = %s %+v", name, l)
	}
	if name, _ := p.For(auth.Support, ClassEligibility); name != "default" {
		t.Errorf("support eligibility falls back to %s, want default", name)
	}
}

func TestBadRatePoliciesNameEveryField(t *testing.T) {
	t.Parallel()
	_, err := ParseRatePolicies([]byte(`policies:
  storefront/default: {rate: 0, period: 1s, burst: 1}
  robots/default: {rate: 1, period: 1s, burst: 1}
  partner/everything: {rate: 1, period: 0s, burst: -1}
`))
	if err == nil {
		t.Fatal("accepted bad policies")
	}
	for _, want := range []string{"storefront/default.rate", `audience "robots"`, `route class "everything"`,
		"partner/everything.period", "partner/everything.burst", "support/default: required", "partner/default: required"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}

func TestRouteClass(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ method, path, want string }{
		{"POST", "/v1/storefront/returns/eligibility", ClassEligibility},
		{"POST", "/v1/storefront/returns", ClassReturnCreate},
		{"GET", "/v1/storefront/orders", ClassRead},
		{"GET", "/v1/partner/orders", ClassBulkRead},
		{"GET", "/v1/partner/orders/1", ClassRead},
		{"GET", "/v1/partner/returns", ClassBulkRead},
		{"GET", "/v1/partner/inventory/availability", ClassBulkRead},
		{"GET", "/v1/partner/inventory/positions", ClassBulkRead},
		{"POST", "/v1/partner/returns", ClassReturnCreate},
		{"POST", "/v1/partner/returns/eligibility", ClassEligibility},
		{"POST", "/v1/partner/returns/r1:cancel", ClassWrite},
		{"POST", "/v1/support/returns/1:cancel", ClassWrite},
	} {
		if got := routeClass(httptest.NewRequest(tt.method, tt.path, nil)); got != tt.want {
			t.Errorf("%s %s = %s, want %s", tt.method, tt.path, got, tt.want)
		}
	}
}
