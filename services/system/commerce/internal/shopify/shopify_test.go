package shopify_test

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	sandbox "github.com/retailbridge/retailbridge/services/sandbox/shopify"
	"github.com/retailbridge/retailbridge/services/system/commerce/internal/connectortest"
	"github.com/retailbridge/retailbridge/services/system/commerce/internal/shopify"
)

// dataset is shared by every test; nothing writes to it.
var dataset = sync.OnceValue(func() *demo.Dataset {
	return demo.Generate(42, time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC), 30, 300)
})

// startSandbox serves the dataset with a rate limit that never slows tests down.
func startSandbox(t testing.TB) (*sandbox.Sandbox, *httptest.Server) {
	t.Helper()
	sb := sandbox.New(dataset(), sandbox.Options{Seed: 7, BucketSize: 1000, RestoreRate: 100000})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return sb, srv
}

func newConnector(t testing.TB, srv *httptest.Server, token string) *shopify.Connector {
	t.Helper()
	return shopify.New(shopify.Config{BaseURL: srv.URL, APIVersion: "2026-01", AccessToken: token},
		shopify.Deps{HTTPClient: srv.Client()})
}

func newEnv(t testing.TB, s connectortest.Setup) *connectortest.Env {
	t.Helper()
	sb, srv := startSandbox(t)
	token := sandbox.DefaultAccessToken
	if s.BadCredentials {
		token = "shpat_revoked"
	}
	return &connectortest.Env{
		Connector: newConnector(t, srv, token),
		Dataset:   dataset(),
		Fill: func(o demo.Order, want *canonicalv1.Order) {
			if a, ok := sb.ShippingAddress(o.ID); ok {
				want.ShippingAddress = &canonicalv1.Address{Name: a.Name, Lines: []string{a.Address1}, City: a.City,
					Region: a.ProvinceCode, PostalCode: a.Zip, CountryCode: a.CountryCode, Phone: a.Phone}
				if a.Address2 != "" {
					want.ShippingAddress.Lines = append(want.ShippingAddress.Lines, a.Address2)
				}
			}
			if o.PickupLocationID != "" {
				want.PickupLocationId, _ = sb.LocationID(o.PickupLocationID)
			}
			if at, ok := sb.UpdatedAt(o.ID); ok {
				want.UpdatedAt = timestamppb.New(at)
			}
			if o.Channel == demo.ChannelMobile {
				want.Source, _ = sb.SourceName(o.ID)
			}
		},
		Faults:      sb.Faults(),
		SetThrottle: sb.SetThrottle,
		Throttled:   func() int64 { return sb.Stats().Throttled },
		OrderCost:   shopify.GetOrderCost,
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	connectortest.Run(t, newEnv)
}

// TestThrottledAnswerIsRetried shares one shop between two connectors, as two replicas of the
// service share one Shopify bucket. The second connector's model is stale, so Shopify answers
// THROTTLED; it must correct its model, wait and succeed.
func TestThrottledAnswerIsRetried(t *testing.T) {
	t.Parallel()
	sb, srv := startSandbox(t)
	a, b := newConnector(t, srv, sandbox.DefaultAccessToken), newConnector(t, srv, sandbox.DefaultAccessToken)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	id := dataset().Scenario(demo.ScenarioEligible).ID

	// Both learn the bucket while it is large.
	for _, c := range []*shopify.Connector{a, b} {
		if _, err := c.GetOrder(ctx, id); err != nil {
			t.Fatalf("GetOrder: %v", err)
		}
	}
	sb.SetThrottle(shopify.GetOrderCost+10, 100)
	// a drains the bucket; b still believes it is full.
	if _, err := a.GetOrder(ctx, id); err != nil {
		t.Fatalf("a.GetOrder: %v", err)
	}
	before := sb.Stats().Throttled
	start := time.Now()
	if _, err := b.GetOrder(ctx, id); err != nil {
		t.Fatalf("b.GetOrder: %v", err)
	}
	if n := sb.Stats().Throttled - before; n != 1 {
		t.Errorf("THROTTLED answers: got %d, want exactly 1 (then obey the corrected model)", n)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("b took %v, want the computed wait (about a second)", took)
	}
}

// TestThrottledPastDeadline: when the THROTTLED answer says the points come after the deadline,
// the call fails with vendor_throttled and a retry hint instead of waiting.
func TestThrottledPastDeadline(t *testing.T) {
	t.Parallel()
	sb, srv := startSandbox(t)
	a, b := newConnector(t, srv, sandbox.DefaultAccessToken), newConnector(t, srv, sandbox.DefaultAccessToken)
	id := dataset().Scenario(demo.ScenarioEligible).ID
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, c := range []*shopify.Connector{a, b} {
		if _, err := c.GetOrder(ctx, id); err != nil {
			t.Fatalf("GetOrder: %v", err)
		}
	}
	sb.SetThrottle(shopify.GetOrderCost+10, 1)
	if _, err := a.GetOrder(ctx, id); err != nil {
		t.Fatalf("a.GetOrder: %v", err)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	_, err := b.GetOrder(short, id)
	e := errs.As(err)
	if e == nil || e.Kind != errs.Unavailable || e.Reason != "vendor_throttled" || e.RetryAfter <= 0 {
		t.Fatalf("got %v, want Unavailable vendor_throttled with a retry hint", err)
	}
	if n := sb.Stats().Throttled; n != 1 {
		t.Errorf("THROTTLED answers: got %d, want 1", n)
	}
}
