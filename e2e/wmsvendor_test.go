package e2e

import (
	"os"
	"testing"

	"github.com/retailbridge/retailbridge/services/system/wms"
)

// needWarehouseSandbox skips a test that drives the REST warehouse sandbox's own knobs (its
// webhook delivery, manual receipts, its state file) when the environment selects another WMS
// vendor (RB_WMS_VENDOR=edi3pl; newStackWith passes the selection on). The EDI 3PL's
// equivalents — re-sent, malformed and silent files, a 997 without a 945 — are tested against
// its sandbox in services/system/wms.
func needWarehouseSandbox(t *testing.T) {
	t.Helper()
	if v, err := wms.Kind.Select(os.Getenv(wms.Kind.EnvKey())); err == nil && v.Name != wms.VendorWarehouse {
		t.Skipf("drives the REST warehouse sandbox; %s selects %s", wms.Kind.EnvKey(), v.Name)
	}
}
