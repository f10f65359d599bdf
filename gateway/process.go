package gateway

import (
	"context"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/retailbridge/retailbridge/pkg/errs"
	ordersv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/orders/v1"
	returnsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/returns/v1"
)

// newProcessMux builds the grpc-gateway mux for the process APIs. JSON uses proto field names
// (snake_case) and the proto3 JSON mapping (64-bit integers as strings); every error becomes a
// problem document.
func (g *Gateway) newProcessMux(ctx context.Context) (*runtime.ServeMux, error) {
	mux := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}),
		runtime.WithErrorHandler(g.grpcGatewayError),
		runtime.WithRoutingErrorHandler(g.grpcGatewayRoutingError),
		// Nothing from the HTTP request is forwarded as metadata except what the gRPC client
		// interceptor adds from the context (principal, correlation id, trace context).
		runtime.WithIncomingHeaderMatcher(func(string) (string, bool) { return "", false }),
		runtime.WithOutgoingHeaderMatcher(func(string) (string, bool) { return "", false }),
	)
	if err := ordersv1.RegisterOrdersServiceHandlerClient(ctx, mux, ordersv1.NewOrdersServiceClient(g.deps.Orders)); err != nil {
		return nil, err
	}
	if err := returnsv1.RegisterReturnsServiceHandlerClient(ctx, mux, returnsv1.NewReturnsServiceClient(g.deps.Returns)); err != nil {
		return nil, err
	}
	return mux, nil
}

func (g *Gateway) grpcGatewayError(ctx context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	p := errs.ProblemFor(err)
	p.RequestID = correlation(r.Context())
	p.Instance = r.URL.Path
	p.Write(w)
}

func (g *Gateway) grpcGatewayRoutingError(ctx context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, status int) {
	p := errs.NewProblem(http.StatusNotFound, "route_not_found", "Not found", "no route matches "+r.URL.Path)
	if status == http.StatusMethodNotAllowed {
		p = errs.NewProblem(status, "method_not_allowed", "Method not allowed", r.Method+" is not allowed on "+r.URL.Path)
	}
	p.RequestID = correlation(r.Context())
	p.Instance = r.URL.Path
	p.Write(w)
}
