package returns

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/retailbridge/retailbridge/pkg/auth"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	ordersv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/orders/v1"
)

// eligibilityOrder reads the order an eligibility check is about from the orders process's
// order store (no vendor call for an order it knows; its as_of is the answer's order_as_of),
// with the caller's principal, so the store applies the same ownership rules. Without the orders
// API, when it refuses this caller's scopes (a partner with returns but not orders scopes), or
// while it is unreachable, it reads through the cache from the commerce platform as before.
func (s *Service) eligibilityOrder(ctx context.Context, id string) (*canonicalv1.Order, time.Time, error) {
	if s.ordersAPI == nil {
		return s.order(ctx, id)
	}
	a, _, err := s.storeAnswers.Get(ctx, storeAnswerKey(ctx, id), func(ctx context.Context) (storeAnswer, error) {
		resp, err := s.ordersAPI.GetOrder(ctx, &ordersv1.GetOrderRequest{OrderId: id})
		if err != nil {
			return storeAnswer{}, err
		}
		return storeAnswer{resp.GetOrder(), resp.GetAsOf().AsTime()}, nil
	})
	switch status.Code(err) {
	case codes.OK:
		return a.order, a.asOf, nil
	case codes.NotFound:
		return nil, time.Time{}, errOrderNotFound()
	case codes.PermissionDenied, codes.Unimplemented, codes.Unavailable:
		return s.order(ctx, id)
	}
	return nil, time.Time{}, err
}

// storeAnswerTTL is how long an answer of the order store is reused for eligibility checks: a
// burst of checks of one order costs one call to the orders API, the order is at most this much
// staler than the store, and its as_of still says when the platform last confirmed it. The
// caller's ownership is checked on every use (CheckEligibility), never cached.
const storeAnswerTTL = 2 * time.Second

// storeAnswer is one order as the order store answered, with its as_of.
type storeAnswer struct {
	order *canonicalv1.Order
	asOf  time.Time
}

// storeAnswerKey scopes a cached answer to the caller as well as the order: the orders API
// answers with the caller's principal, so another caller's answer (or refusal) is never reused.
func storeAnswerKey(ctx context.Context, id string) string {
	p, _ := auth.FromContext(ctx)
	return string(p.Audience) + "\x00" + p.Tenant + "\x00" + p.Subject + "\x00" + id
}
