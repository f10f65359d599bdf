package gateway

import (
	"context"
	"net/http"
	"net/url"

	"google.golang.org/protobuf/proto"

	ordersv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/orders/v1"
)

// acceptedJob answers a request that started a background job with 202 Accepted and the job's
// resource in Location (RFC 9110 §15.3.3, §10.2.2), where grpc-gateway would answer 200: the
// client polls that resource for the job's state rather than holding the request open. The
// document says the same (internal/openapi, rpcRule.accepted).
func acceptedJob(_ context.Context, w http.ResponseWriter, m proto.Message) error {
	if resp, ok := m.(*ordersv1.RunSettlementResponse); ok && resp.GetRun().GetRunId() != "" {
		w.Header().Set("Location", "/v1/support/settlement/runs/"+url.PathEscape(resp.GetRun().GetRunId()))
		w.WriteHeader(http.StatusAccepted)
	}
	return nil
}
