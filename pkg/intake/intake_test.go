package intake_test

import (
	"context"
	"testing"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	intakev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/intake/v1"
	"github.com/retailbridge/retailbridge/pkg/intake"
	"github.com/retailbridge/retailbridge/pkg/vendors"
)

// normalise reports one event for a body "event", none for "noise", and refuses a delivery
// without the signature header; it records the channel it was given.
func normalise(seen *[]vendors.Channel) vendors.Inbound {
	return vendors.InboundFunc(func(_ context.Context, d vendors.Delivery) (vendors.Normalised, error) {
		*seen = append(*seen, d.Channel)
		if d.Headers.Get("x-sig") != "ok" {
			return vendors.Normalised{}, errs.E(errs.Unauthenticated, "webhook_signature_invalid", "bad signature")
		}
		n := vendors.Normalised{ID: "d-1"}
		if string(d.Body) == "event" {
			n.Events = []*canonicalv1.Event{{Id: "e-1", Type: "retailbridge.wms.inventory.counted.v1"}}
		}
		return n, nil
	})
}

func TestDeliverAndAcceptShareOnePath(t *testing.T) {
	t.Parallel()
	var seen []vendors.Channel
	// Without a bus, a delivery with events is refused as unavailable after verification: the
	// vendor retries it later.
	in := intake.New("acme", normalise(&seen), events.NewDeliveries("acme", nil, 0, nil, nil), nil)
	ctx := context.Background()
	tests := []struct {
		name   string
		req    *intakev1.DeliverRequest
		reason string
		ignore bool
	}{
		{"another vendor", &intakev1.DeliverRequest{Vendor: "other", Headers: map[string]string{"X-Sig": "ok"}}, "unknown_webhook_vendor", false},
		{"forged", &intakev1.DeliverRequest{Vendor: "acme", Body: []byte("event")}, "webhook_signature_invalid", false},
		{"ignored topic", &intakev1.DeliverRequest{Vendor: "acme", Headers: map[string]string{"X-Sig": "ok"}, Body: []byte("noise")}, "", true},
		{"events without a bus", &intakev1.DeliverRequest{Vendor: "acme", Headers: map[string]string{"X-Sig": "ok"}, Body: []byte("event")}, "events_unavailable", false},
		{"too large", &intakev1.DeliverRequest{Vendor: "acme", Body: make([]byte, events.MaxDeliveryBytes+1)}, "webhook_too_large", false},
	}
	for _, tt := range tests {
		resp, err := in.Deliver(ctx, tt.req)
		got := ""
		if e := errs.As(err); e != nil {
			got = e.Reason
		}
		if got != tt.reason {
			t.Errorf("%s: reason %q (%v), want %q", tt.name, got, err, tt.reason)
		}
		if resp.GetIgnored() != tt.ignore {
			t.Errorf("%s: ignored %v, want %v", tt.name, resp.GetIgnored(), tt.ignore)
		}
	}
	// A file reader hands its file to the same intake.
	if _, err := in.Accept(ctx, vendors.Delivery{Vendor: "acme", Channel: vendors.File, Name: "846_0001.x12",
		Headers: intake.Headers(map[string]string{"x-sig": "ok"}), Body: []byte("noise")}); err != nil {
		t.Fatalf("file delivery: %v", err)
	}
	want := []vendors.Channel{vendors.Webhook, vendors.Webhook, vendors.Webhook, vendors.File}
	if len(seen) != len(want) {
		t.Fatalf("normalised %v, want %v (a wrong vendor and an oversized body never reach the vendor's Inbound)", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Errorf("delivery %d came by %q, want %q", i, seen[i], want[i])
		}
	}
}
