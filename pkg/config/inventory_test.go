package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestInventorySettings(t *testing.T) {
	t.Parallel()
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := []AuthorityRule{{Location: "store-*", Source: "erp"}, {Location: "*", Source: "wms"}}
	if diff := cmp.Diff(want, c.InventoryAuthority); diff != "" {
		t.Errorf("default authority (-want +got):\n%s", diff)
	}
	if c.InventoryReconcileEvery != 15*time.Minute || c.InventoryMappingEvery != time.Hour || c.InventoryPushLease != 10*time.Second {
		t.Errorf("defaults: reconcile %v, mapping %v, lease %v; want 15m, 1h, 10s", c.InventoryReconcileEvery, c.InventoryMappingEvery, c.InventoryPushLease)
	}
	c, err = Load(env(map[string]string{"RB_INVENTORY_AUTHORITY": "store-*/on_hand=erp, dc-*/damaged=ledger, *=wms",
		"RB_INVENTORY_RECONCILE_EVERY": "0", "RB_INVENTORY_MAPPING_EVERY": "30m"}))
	if err != nil {
		t.Fatal(err)
	}
	want = []AuthorityRule{{"store-*", "on_hand", "erp"}, {"dc-*", "damaged", "ledger"}, {"*", "", "wms"}}
	if diff := cmp.Diff(want, c.InventoryAuthority); diff != "" || c.InventoryReconcileEvery != 0 || c.InventoryMappingEvery != 30*time.Minute {
		t.Errorf("authority (-want +got):\n%s; reconcile %v, mapping %v", diff, c.InventoryReconcileEvery, c.InventoryMappingEvery)
	}
	_, err = Load(env(map[string]string{"RB_INVENTORY_AUTHORITY": "[bad=erp,dc-*/dusty=wms,*=oracle",
		"RB_INVENTORY_RECONCILE_EVERY": "10ms", "RB_INVENTORY_MAPPING_EVERY": "-1h", "RB_INVENTORY_PUSH_LEASE": "0s"}))
	for _, name := range []string{`location "[bad"`, `state "dusty"`, `source "oracle"`, "RB_INVENTORY_RECONCILE_EVERY: 10ms",
		"RB_INVENTORY_MAPPING_EVERY: -1h", "RB_INVENTORY_PUSH_LEASE: 0s"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("Load = %v; want %s named", err, name)
		}
	}
}
