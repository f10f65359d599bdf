package gateway

import "github.com/retailbridge/retailbridge/pkg/errs"

// countSignatureFailure counts a delivery the system API refused as unauthenticated (a bad,
// stale or missing signature). vendor is a registered name, so the label stays bounded.
func (g *Gateway) countSignatureFailure(vendor string, err error) {
	if g.deps.Metrics != nil && errs.FromError(err).Kind == errs.Unauthenticated {
		g.deps.Metrics.Business.WebhookSignatureFailures.WithLabelValues(vendor).Inc()
	}
}
