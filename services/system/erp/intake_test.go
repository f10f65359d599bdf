package erp_test

import (
	"context"
	"testing"

	intakev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/intake/v1"
	"github.com/retailbridge/retailbridge/pkg/vendors"
	"github.com/retailbridge/retailbridge/services/system/erp"
)

// An ERP vendor that sends notifications (Business Central's webhook subscriptions) is served
// an intake over its Inbound; NetSuite, which sends none, is served none.
func TestFromConnectorServesAnIntakeForAnInboundVendor(t *testing.T) {
	t.Parallel()
	if in := erp.FromConnector("netsuite", nil, 0, erp.Deps{}).Intake(); in != nil {
		t.Fatalf("a vendor without Inbound has an intake %v", in)
	}
	var got vendors.Delivery
	inbound := vendors.InboundFunc(func(_ context.Context, d vendors.Delivery) (vendors.Normalised, error) {
		got = d
		return vendors.Normalised{ID: "n-1"}, nil // a notification of a collection nothing reads
	})
	svc := erp.FromConnector("bc", nil, 0, erp.Deps{Inbound: inbound})
	resp, err := svc.Intake().Deliver(context.Background(), &intakev1.DeliverRequest{Vendor: "bc",
		Headers: map[string]string{"Content-Type": "application/json"}, Body: []byte(`{"value":[]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetDeliveryId() != "n-1" || !resp.GetIgnored() || got.Channel != vendors.Webhook ||
		got.Headers.Get("content-type") != "application/json" || string(got.Body) != `{"value":[]}` {
		t.Errorf("delivery %+v answered %v; want n-1 ignored, the body and headers as sent", got, resp)
	}
}
