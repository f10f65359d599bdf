package orders

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/tenancy"
	"github.com/retailbridge/retailbridge/pkg/vendors"
	"github.com/retailbridge/retailbridge/pkg/workflow"
)

// Every system call of an order's steps and compensations carries the order's sales channel and
// the tenant owning it, so a kind served by several vendors (RB_VENDOR_ROUTES) sends a partner's
// orders to the partner's vendor; the retailer's own channels carry no tenant.
func TestOrderStepsCarryTheirRoute(t *testing.T) {
	dir, err := tenancy.Parse([]byte("tenants:\n  acme:\n    name: Acme\n    order_sources: [acme-marketplace]\n    locations: [dc-east]\n"))
	if err != nil {
		t.Fatal(err)
	}
	b := builder{now: time.Now, tenants: dir}
	errStop := errors.New("stop")
	for _, tc := range []struct{ source, tenant string }{{"acme-marketplace", "acme"}, {"web", ""}} {
		var d orderData
		if err := d.setOrder(&canonicalv1.Order{Id: "o-1", Source: tc.source}); err != nil {
			t.Fatal(err)
		}
		data, err := json.Marshal(&d)
		if err != nil {
			t.Fatal(err)
		}
		run := workflow.Run{Instance: workflow.Instance{ID: "o-1", State: StateBooking, Data: data}}
		var seen []vendors.Route
		capture := func(ctx context.Context) {
			md, _ := metadata.FromOutgoingContext(ctx)
			r := vendors.Route{}
			if v := md.Get(vendors.RouteTenantKey); len(v) == 1 {
				r.Tenant = v[0]
			}
			if v := md.Get(vendors.RouteChannelKey); len(v) == 1 {
				r.Channel = v[0]
			}
			seen = append(seen, r)
		}
		step := b.step("erp", func(ctx context.Context, _ workflow.Run, _ *orderData) (string, error) {
			capture(ctx)
			return "", errStop
		}, func(ctx context.Context, _ workflow.Run, _ *orderData) error {
			capture(ctx)
			return nil
		})
		if _, err := step.Do(context.Background(), run); !errors.Is(err, errStop) {
			t.Fatalf("step: %v", err)
		}
		if err := step.Compensate(context.Background(), run); err != nil {
			t.Fatal(err)
		}
		want := vendors.Route{Tenant: tc.tenant, Channel: tc.source}
		if len(seen) != 2 || seen[0] != want || seen[1] != want {
			t.Errorf("source %q: routes %+v, want %+v on the step and its compensation", tc.source, seen, want)
		}
	}
}
