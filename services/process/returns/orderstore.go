package returns

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	ordersv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/orders/v1"
)

// eligibilityOrder reads the order an eligibility check is about from the orders process's
// order store (no vendor call for an order it knows; its as_of is the answer's order_as_of),
// with the caller's principal, so the store applies the same ownership rules. Without the orders
// API, when it refuses this caller's scopes (a partner with returns but not orders scopes), or
// while it is unreachable, it reads through the cache from the commerce platform as before.
//
// Every check asks the store: nothing here keeps its answers, so a check never sees an order
// older than the store holds (a cache here, even for two seconds, answered with a version the
// store had already replaced, and the store's change feed reaches this process only after the
// change is in the store). What makes that cheap is on the other side of the hop: the store
// serves a warm order from its exact read cache (no query, no decoding), and a co-located orders
// service is called directly, without serialising (pkg/grpcx direct.go).
func (s *Service) eligibilityOrder(ctx context.Context, id string) (*canonicalv1.Order, time.Time, error) {
	if s.ordersAPI == nil {
		return s.order(ctx, id)
	}
	resp, err := s.ordersAPI.GetOrder(ctx, &ordersv1.GetOrderRequest{OrderId: id})
	switch status.Code(err) {
	case codes.OK:
		return resp.GetOrder(), resp.GetAsOf().AsTime(), nil
	case codes.NotFound:
		return nil, time.Time{}, errOrderNotFound()
	case codes.PermissionDenied, codes.Unimplemented, codes.Unavailable:
		return s.order(ctx, id)
	}
	return nil, time.Time{}, err
}
