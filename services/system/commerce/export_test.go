package commerce_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
	sandbox "github.com/retailbridge/retailbridge/services/sandbox/shopify"
	"github.com/retailbridge/retailbridge/services/system/commerce"
)

type stepClock struct{ t time.Time }

func (c *stepClock) now() time.Time { return c.t }

// An export through Shopify's bulk operations: starting it again while it runs adopts the
// running operation (no second one); once complete its orders page through to the last, each
// once; a bad request is refused before the vendor is asked.
func TestExportOrderChanges(t *testing.T) {
	t.Parallel()
	clk := &stepClock{t: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)}
	sb := sandbox.New(dataset(), sandbox.Options{RestoreRate: 100000, BulkDelay: time.Minute, Now: clk.now})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	svc, err := commerce.New(commerce.Config{Connection: &commerce.ShopifyConfig{BaseURL: srv.URL, AccessToken: sandbox.DefaultAccessToken}},
		commerce.Deps{HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	start := &commercev1.ExportOrderChangesRequest{UpdatedSince: timestamppb.New(time.Unix(0, 0))}
	first, err := svc.ExportOrderChanges(ctx, start)
	if err != nil {
		t.Fatal(err)
	}
	again, err := svc.ExportOrderChanges(ctx, start)
	if err != nil || again.GetExportId() != first.GetExportId() || again.GetStatus() != commercev1.OrderExportStatus_ORDER_EXPORT_STATUS_RUNNING {
		t.Fatalf("starting again while it runs = %v, %v; want the running export %s adopted", again, err, first.GetExportId())
	}
	clk.t = clk.t.Add(time.Minute)
	seen, token := map[string]int{}, ""
	for {
		page, err := svc.ExportOrderChanges(ctx, &commercev1.ExportOrderChangesRequest{ExportId: first.GetExportId(), PageSize: 7, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		if page.GetStatus() != commercev1.OrderExportStatus_ORDER_EXPORT_STATUS_COMPLETED {
			t.Fatalf("status after the delay = %v", page.GetStatus())
		}
		for _, o := range page.GetOrders() {
			if o.GetId() == "" || o.GetUpdatedAt() == nil {
				t.Errorf("exported order %v lacks its id or updated_at", o)
			}
			seen[o.GetId()]++
		}
		if token = page.GetNextPageToken(); token == "" {
			break
		}
	}
	if len(seen) != len(dataset().Orders) {
		t.Errorf("the export paged %d distinct orders; want every order of the shop (%d)", len(seen), len(dataset().Orders))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("order %s paged %d times", id, n)
		}
	}
	for name, bad := range map[string]*commercev1.ExportOrderChangesRequest{
		"no time to start from": {},
		"page too large":        {ExportId: first.GetExportId(), PageSize: 5000},
	} {
		if _, err := svc.ExportOrderChanges(ctx, bad); errs.KindOf(err) != errs.Invalid {
			t.Errorf("%s: %v, want Invalid", name, err)
		}
	}
}
