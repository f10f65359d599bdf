package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestVendorRoutes(t *testing.T) {
	t.Parallel()
	c, err := Load(env(map[string]string{
		"RB_VENDOR_ROUTES": " wms:tenant:acme=edi3pl, erp:channel:globex-b2b=businesscentral ,wms:tenant:acme=edi3pl",
	}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := []VendorRoute{{"wms", "tenant", "acme", "edi3pl"}, {"erp", "channel", "globex-b2b", "businesscentral"}, {"wms", "tenant", "acme", "edi3pl"}}
	if diff := cmp.Diff(want, c.VendorRoutes); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
}

func TestVendorRoutesNameEveryBadEntry(t *testing.T) {
	t.Parallel()
	bad := []string{"wms:tenant=edi3pl", "wms:region:eu=edi3pl", "wms:tenant:acme", "erp:tenant:acme=", "wms:channel:web=warehouse",
		"wms:channel:web=edi3pl", "w ms:tenant:x=edi3pl", "erp:tenant:acme corp=netsuite"}
	_, err := Load(env(map[string]string{"RB_VENDOR_ROUTES": strings.Join(bad, ",")}))
	if err == nil {
		t.Fatal("Load accepted bad routes")
	}
	for _, entry := range []string{"wms:tenant:=edi3pl", "wms:region:eu=edi3pl", "wms:tenant:acme=", "erp:tenant:acme=", "wms:channel:web=edi3pl", "w ms:tenant:x=edi3pl", "erp:tenant:acme corp=netsuite"} {
		if !strings.Contains(err.Error(), `"`+entry+`"`) {
			t.Errorf("error does not name %q:\n%v", entry, err)
		}
	}
	if strings.Contains(err.Error(), `"wms:channel:web=warehouse"`) {
		t.Errorf("the first of two contradicting routes is named as bad too:\n%v", err)
	}
	if n := strings.Count(err.Error(), "RB_VENDOR_ROUTES"); n != 7 {
		t.Errorf("%d entries named, want 7:\n%v", n, err)
	}
}
