package tenancy

import (
	"strings"
	"testing"

	"github.com/retailbridge/retailbridge/configs"
	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/errs"
)

func TestShippedDirectory(t *testing.T) {
	d, err := Parse(configs.Tenants)
	if err != nil {
		t.Fatalf("configs/tenants.yaml: %v", err)
	}
	acme, ok := d.Get("acme")
	if !ok || acme.Buffer != 2 || len(acme.Locations) != 2 {
		t.Errorf("acme = %+v, %v", acme, ok)
	}
	for _, tc := range []struct {
		tenant, source string
		want           bool
	}{
		{"acme", "acme-marketplace", true},
		{"globex", "acme-marketplace", false},
		{"acme", "web", false},
		{"", "", false},
		{"initech", "acme-marketplace", false},
		{"acme", "", false},
	} {
		if got := d.Owns(tc.tenant, tc.source); got != tc.want {
			t.Errorf("Owns(%q, %q) = %v, want %v", tc.tenant, tc.source, got, tc.want)
		}
	}
	if got := d.OwnerOf("web"); got != "" {
		t.Errorf("the online store belongs to tenant %q", got)
	}
	var none *Directory
	if none.Owns("acme", "acme-marketplace") || none.OwnerOf("acme-marketplace") != "" {
		t.Error("a nil directory owns something")
	}
}

func TestParseNamesEveryBadField(t *testing.T) {
	_, err := Parse([]byte(`tenants:
  acme: {name: Acme, order_sources: [shared], buffer: -1}
  beta: {name: "", order_sources: [shared, ""]}
  "bad/id": {name: X, locations: [dc]}
  empty: {name: Empty}
`))
	if err == nil {
		t.Fatal("parsed a bad directory")
	}
	for _, want := range []string{"tenants.acme.buffer", "tenants.beta.name", `"shared" already belongs to tenant acme`,
		"tenants.beta.order_sources: empty source", "tenants.bad/id", "tenants.empty: needs order_sources or locations"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if _, err := Parse([]byte("tenants:\n  acme: {name: A, order_source: [x]}\n")); err == nil || !strings.Contains(err.Error(), "order_source") {
		t.Errorf("unknown field: %v", err)
	}
}

func TestAuthorize(t *testing.T) {
	partner := func(scopes ...string) auth.Principal {
		return auth.Principal{Audience: auth.Partner, Subject: "rbc_1", Tenant: "acme", Scopes: scopes}
	}
	for _, tc := range []struct {
		name  string
		p     auth.Principal
		scope string
		ok    bool
	}{
		{"partner with the scope", partner(ScopeOrdersRead), ScopeOrdersRead, true},
		{"partner without it", partner(ScopeInventoryRead), ScopeOrdersRead, false},
		{"write implies read", partner(ScopeReturnsWrite), ScopeReturnsRead, true},
		{"read does not imply write", partner(ScopeReturnsRead), ScopeReturnsWrite, false},
		{"customers are scoped elsewhere", auth.Principal{Audience: auth.Storefront, Subject: "7000001"}, ScopeOrdersRead, true},
	} {
		err := Authorize(tc.p, tc.scope)
		if (err == nil) != tc.ok || (err != nil && errs.KindOf(err) != errs.PermissionDenied) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
