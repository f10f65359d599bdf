package vendors_test

import (
	"strings"
	"testing"

	"github.com/retailbridge/retailbridge/pkg/vendors"
)

func TestSelect(t *testing.T) {
	k := vendors.Kind{Name: "erp", Vendors: []vendors.Vendor{{Name: "netsuite"}, {Name: "businesscentral"}}}
	if v, err := k.Select(""); err != nil || v.Name != "netsuite" {
		t.Fatalf("default: %v %v, want netsuite", v, err)
	}
	if v, err := k.Select("businesscentral"); err != nil || v.Name != "businesscentral" {
		t.Fatalf("named: %v %v", v, err)
	}
	_, err := k.Select("sap")
	if err == nil || !strings.Contains(err.Error(), `"sap"`) || !strings.Contains(err.Error(), "netsuite, businesscentral") {
		t.Fatalf("unknown vendor: %v, want an error naming it and the known ones", err)
	}
	if _, err := (vendors.Kind{Name: "wms"}).Select(""); err == nil {
		t.Fatal("a kind without vendors selected one")
	}
	if got := k.EnvKey(); got != "RB_ERP_VENDOR" {
		t.Fatalf("EnvKey = %q", got)
	}
}
