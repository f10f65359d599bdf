package orders

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/store/storetest"

	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
	sandbox "github.com/retailbridge/retailbridge/services/sandbox/shopify"
)

// bulkOperations counts the shop's bulk operations (the sandbox's own listing).
func (r *storeRig) bulkOperations() int {
	r.t.Helper()
	body := strings.NewReader(`{"query":"{ bulkOperations(first: 50) { nodes { id } } }"}`)
	req := httptest.NewRequest(http.MethodPost, "/admin/api/2026-07/graphql.json", body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Shopify-Access-Token", sandbox.DefaultAccessToken)
	w := httptest.NewRecorder()
	r.sb.ServeHTTP(w, req)
	var out struct {
		Data struct {
			BulkOperations struct {
				Nodes []struct{ ID string } `json:"nodes"`
			} `json:"bulkOperations"`
		} `json:"data"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		r.t.Fatalf("bulkOperations: %v: %s", err, w.Body)
	}
	return len(out.Data.BulkOperations.Nodes)
}

// The whole-shop backfill reads one bulk export of the shop, and resumes it: a process that
// started an export and applied part of it before it died follows the same export from the page
// it had reached after a restart, and starts no second export.
func TestBackfillResumesItsBulkExport(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			rig := newStoreRig(t, d, StoreConfig{Backfill: true})
			ctx := context.Background()
			all := len(rigDataset().Orders)
			// The process before the crash: export started, two orders applied, progress saved.
			started, err := rig.svc.commerce.ExportOrderChanges(ctx, &commercev1.ExportOrderChangesRequest{
				UpdatedSince: timestamppb.New(time.Unix(0, 0))})
			if err != nil {
				t.Fatal(err)
			}
			if err := rig.svc.saveBackfill(ctx, started.GetExportId(), "2", PollResult{Seen: 2}); err != nil {
				t.Fatal(err)
			}
			res, err := rig.svc.PollOnce(ctx)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("resumed backfill: %+v over %d bulk operation(s)", res, rig.bulkOperations())
			if res.Seen != all-2 || res.Applied != all-2 {
				t.Errorf("resumed backfill saw %d and applied %d; want the %d orders after the two applied before", res.Seen, res.Applied, all-2)
			}
			if n := rig.bulkOperations(); n != 1 {
				t.Errorf("the shop ran %d bulk operations; want the one export followed to its end", n)
			}
			if id, _, err := rig.svc.backfillProgress(ctx); err != nil || id != "" {
				t.Errorf("backfill progress after the sweep = %q, %v; want none", id, err)
			}
			rig.svc.mu.Lock()
			swept := rig.svc.swept
			rig.svc.mu.Unlock()
			if !swept {
				t.Error("the sweep is not marked complete")
			}
		})
	}
}
