package stack

import (
	"strings"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/governor"
	"github.com/retailbridge/retailbridge/services/system"
)

func TestSelectVendorsDefaultsAndHorizons(t *testing.T) {
	s := &Stack{opts: Options{Config: loadConfig(t, map[string]string{"RB_WEBHOOK_DEDUP_LOOP": "120h", "RB_GOVERNOR_LOOP": "concurrency=3,rate=5",
		"RB_SANDBOX_SHOPIFY_ADDR": "0.0.0.0:19301"})}}
	if err := s.selectVendors(); err != nil {
		t.Fatal(err)
	}
	if g := s.guards["loop"]; g.MaxConcurrent != 3 || g.Rate != 5 {
		t.Errorf("loop guard %+v, want concurrency 3, rate 5", g)
	}
	if s.sandboxAddrs["stripe"] != "127.0.0.1:9303" || s.sandboxAddrs["shopify"] != "0.0.0.0:19301" {
		t.Errorf("sandbox addresses %v, want stripe's default and shopify's RB_SANDBOX_SHOPIFY_ADDR", s.sandboxAddrs)
	}
	if g := s.guards["netsuite"]; g != (governor.Config{}) {
		t.Errorf("netsuite guard %+v, want the defaults (zero)", g)
	}
	for _, k := range systemKinds() {
		if got, want := s.vendors[k.component][0].Name, k.kind.Vendors[0].Name; len(s.vendors[k.component]) != 1 || got != want {
			t.Errorf("%s: selected %q, want the default %q", k.component, got, want)
		}
	}
	want := map[string]time.Duration{"shopify": 72 * time.Hour, "stripe": 96 * time.Hour, "loop": 120 * time.Hour, "warehouse": 96 * time.Hour}
	for v, d := range want {
		if s.dedup[v] != d {
			t.Errorf("dedup %s = %v, want %v", v, s.dedup[v], d)
		}
	}
	if len(s.dedup) != len(system.WebhookVendors()) {
		t.Errorf("dedup horizons %v, want one per webhook vendor %v", s.dedup, system.WebhookVendors())
	}
}

func TestSelectVendorsNamesEveryBadSetting(t *testing.T) {
	s := &Stack{opts: Options{Config: loadConfig(t, map[string]string{
		"RB_ERP_VENDOR": "sap", "RB_WMS_VENDOR": "shipbob", "RB_WEBHOOK_DEDUP_STRIPE": "2m", "RB_WEBHOOK_DEDUP_SHOPIFY": "soon",
		"RB_GOVERNOR_NETSUITE": "concurrency=many", "RB_SANDBOX_LOOP_ADDR": "loop",
	})}}
	err := s.selectVendors()
	if err == nil {
		t.Fatal("unknown vendors and short horizons were accepted")
	}
	for _, want := range []string{`RB_ERP_VENDOR: erp vendor "sap" is unknown; known: netsuite`, `RB_WMS_VENDOR: wms vendor "shipbob" is unknown; known: warehouse`,
		"RB_WEBHOOK_DEDUP_STRIPE", "RB_WEBHOOK_DEDUP_SHOPIFY", "RB_GOVERNOR_NETSUITE", "RB_SANDBOX_LOOP_ADDR"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}

// CheckVendorConfig is what `dev` and `serve` add to config.Load's errors: the registries'
// settings and the vendors' own connections, every bad one named.
func TestCheckVendorConfig(t *testing.T) {
	if err := CheckVendorConfig(loadConfig(t, map[string]string{})); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	err := CheckVendorConfig(loadConfig(t, map[string]string{"RB_COMMERCE_VENDOR": "bigcommerce", "NETSUITE_MAX_CONCURRENCY": "0"}))
	for _, want := range []string{"RB_COMMERCE_VENDOR", "known: shopify", "NETSUITE_MAX_CONCURRENCY"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}

// RB_VENDOR_ROUTES adds the routed vendors to their kind's vendors in use (the default first)
// and its table; a route to a vendor or kind that is not registered is named.
func TestVendorRoutesSelectSeveralVendorsOfAKind(t *testing.T) {
	s := &Stack{opts: Options{Config: loadConfig(t, map[string]string{"RB_VENDOR_ROUTES": "wms:tenant:acme=edi3pl,wms:channel:globex-b2b=edi3pl,erp:tenant:acme=businesscentral"})}}
	if err := s.selectVendors(); err != nil {
		t.Fatal(err)
	}
	names := func(c Component) string {
		var out []string
		for _, v := range s.vendors[c] {
			out = append(out, v.Name)
		}
		return strings.Join(out, ",")
	}
	if got := names(WMS); got != "warehouse,edi3pl" {
		t.Errorf("wms vendors %s, want warehouse,edi3pl", got)
	}
	if got := names(ERP); got != "netsuite,businesscentral" {
		t.Errorf("erp vendors %s, want netsuite,businesscentral", got)
	}
	if got := names(Commerce); got != "shopify" {
		t.Errorf("commerce vendors %s, want shopify", got)
	}
	tb := s.tables[WMS]
	if tb.Default != "warehouse" || tb.ByTenant["acme"] != "edi3pl" || tb.ByChannel["globex-b2b"] != "edi3pl" {
		t.Errorf("wms table %+v", tb)
	}
	err := CheckVendorConfig(loadConfig(t, map[string]string{"RB_VENDOR_ROUTES": "wms:tenant:acme=shipbob,crm:tenant:acme=salesforce,erp:channel:web=netsuite"}))
	for _, want := range []string{`"wms:tenant:acme=shipbob": wms vendor "shipbob" is unknown`, `"crm:tenant:acme=salesforce": there is no system kind "crm"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "erp:channel:web") {
		t.Errorf("a good route was named: %v", err)
	}
}

// A connector's own concurrency share (<VENDOR>_MAX_CONCURRENCY) becomes its governor's cap,
// which the workflow runner admits steps by; RB_GOVERNOR_<VENDOR> still wins.
func TestGovernorTakesTheConnectorsConcurrencyShare(t *testing.T) {
	s := &Stack{opts: Options{Config: loadConfig(t, map[string]string{"NETSUITE_MAX_CONCURRENCY": "3",
		"BUSINESSCENTRAL_MAX_CONCURRENCY": "4", "RB_GOVERNOR_BUSINESSCENTRAL": "concurrency=7"})}}
	if err := s.selectVendors(); err != nil {
		t.Fatal(err)
	}
	if g := s.guards["netsuite"]; g.MaxConcurrent != 3 {
		t.Errorf("netsuite guard %+v, want concurrency 3 (NETSUITE_MAX_CONCURRENCY)", g)
	}
	if g := s.guards["businesscentral"]; g.MaxConcurrent != 7 {
		t.Errorf("businesscentral guard %+v, want concurrency 7 (RB_GOVERNOR_BUSINESSCENTRAL)", g)
	}
}
