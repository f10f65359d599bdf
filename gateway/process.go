package gateway

import (
	"context"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/retailbridge/retailbridge/pkg/errs"
	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
	ordersv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/orders/v1"
	returnsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/returns/v1"
	"github.com/retailbridge/retailbridge/pkg/idempotency"
)

// newProcessMux builds the grpc-gateway mux for the process APIs. JSON uses proto field names
// (snake_case) and the proto3 JSON mapping (64-bit integers as strings); every error becomes a
// problem document.
//
// Scalars, enums and lists are always written, zero values included, so a client reads
// `"quantity": 0` or `"lines": []` rather than guessing what a missing key means; message fields
// (timestamps, addresses, wrappers, money) that are unset are left out, never written as null,
// because the document types them as objects or strings and a null would be neither
// (EmitDefaultValues rather than EmitUnpopulated).
func (g *Gateway) newProcessMux(ctx context.Context) (*runtime.ServeMux, error) {
	mux := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, fastJSON{&runtime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true, EmitDefaultValues: true},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}}),
		runtime.WithErrorHandler(g.grpcGatewayError),
		runtime.WithRoutingErrorHandler(g.grpcGatewayRoutingError),
		// Nothing from the HTTP request is forwarded as metadata except what the gRPC client
		// interceptor adds from the context (principal, correlation id, trace context).
		runtime.WithIncomingHeaderMatcher(func(h string) (string, bool) {
			// The Idempotency-Key also reaches the process service, which enforces it again in
			// its own database: Redis is never the only guard.
			if http.CanonicalHeaderKey(h) == idempotency.HeaderKey {
				return "idempotency-key", true
			}
			return "", false
		}),
		runtime.WithOutgoingHeaderMatcher(func(string) (string, bool) { return "", false }),
		runtime.WithForwardResponseOption(acceptedJob),
	)
	if err := ordersv1.RegisterOrdersServiceHandlerClient(ctx, mux, ordersv1.NewOrdersServiceClient(g.deps.Orders)); err != nil {
		return nil, err
	}
	if err := ordersv1.RegisterOrderWorkflowServiceHandlerClient(ctx, mux, ordersv1.NewOrderWorkflowServiceClient(g.deps.Orders)); err != nil {
		return nil, err
	}
	if err := ordersv1.RegisterSettlementServiceHandlerClient(ctx, mux, ordersv1.NewSettlementServiceClient(g.deps.Orders)); err != nil {
		return nil, err
	}
	if err := ordersv1.RegisterOrderInsightServiceHandlerClient(ctx, mux, ordersv1.NewOrderInsightServiceClient(g.deps.Orders)); err != nil {
		return nil, err
	}
	if err := returnsv1.RegisterReturnInsightServiceHandlerClient(ctx, mux, returnsv1.NewReturnInsightServiceClient(g.deps.Returns)); err != nil {
		return nil, err
	}
	if err := returnsv1.RegisterReturnsServiceHandlerClient(ctx, mux, returnsv1.NewReturnsServiceClient(g.deps.Returns)); err != nil {
		return nil, err
	}
	if err := inventoryv1.RegisterInventoryServiceHandlerClient(ctx, mux, inventoryv1.NewInventoryServiceClient(g.deps.Inventory)); err != nil {
		return nil, err
	}
	if err := inventoryv1.RegisterProductFeedServiceHandlerClient(ctx, mux, inventoryv1.NewProductFeedServiceClient(g.deps.Inventory)); err != nil {
		return nil, err
	}
	return mux, nil
}

func (g *Gateway) grpcGatewayError(ctx context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	p := problemFromGateway(err)
	if p.Reason == reasonInsufficientScope {
		// RFC 6750 §3.1: the same challenge the gateway's own scope checks send.
		w.Header().Set("WWW-Authenticate", `Bearer realm="retailbridge", error="insufficient_scope"`)
	}
	p.RequestID = correlation(r.Context())
	p.Instance = r.URL.Path
	p.Write(w)
}

// problemFromGateway is the problem for an error grpc-gateway hands over. A process service's
// error carries ErrorInfo (errs.ToStatus always adds it) and passes as it is. A status without
// it was made by grpc-gateway's own parsers or by the gRPC transport, and its message speaks of
// their insides ("proto: syntax error…", "strconv.ParseInt…", a dial error): only the kind is
// kept. Request validation (contract.go) refuses bad input before it gets this far; this is the
// backstop for what the document cannot express.
func problemFromGateway(err error) errs.Problem {
	st, ok := status.FromError(err)
	if !ok || hasErrorInfo(st) {
		return errs.ProblemFor(err)
	}
	e := errs.E(errs.KindFromCode(st.Code()), "", "")
	if e.Kind == errs.Invalid {
		e = errs.E(errs.Invalid, reasonInvalidRequest, "the request has invalid fields").WithFields(
			errs.FieldViolation{Field: "request", Description: "does not match this operation's parameters or body"})
	}
	return errs.ProblemFor(e)
}

func hasErrorInfo(st *status.Status) bool {
	for _, d := range st.Details() {
		if _, ok := d.(*errdetails.ErrorInfo); ok {
			return true
		}
	}
	return false
}

// reasonInsufficientScope is the one reason for a missing scope on every audience, whether the
// gateway or a process service notices it (RFC 6750's error code).
const reasonInsufficientScope = "insufficient_scope"

func (g *Gateway) grpcGatewayRoutingError(ctx context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, status int) {
	p := errs.NewProblem(http.StatusNotFound, "route_not_found", "Not found", "no route matches "+r.URL.Path)
	if status == http.StatusMethodNotAllowed {
		p = errs.NewProblem(status, "method_not_allowed", "Method not allowed", r.Method+" is not allowed on "+r.URL.Path)
	}
	p.RequestID = correlation(r.Context())
	p.Instance = r.URL.Path
	p.Write(w)
}

// idempotent requires and enforces Idempotency-Key on the mutating routes of next. Every
// mutating route of the HTTP rules is a POST (custom methods included); other methods have no
// route and fall through to a 405. Eligibility checks are POSTs that change nothing and pass
// straight through.
func (g *Gateway) idempotent(next http.Handler) http.Handler {
	guarded := g.idem.Middleware(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || routeClass(r) == ClassEligibility {
			next.ServeHTTP(w, r)
			return
		}
		guarded.ServeHTTP(w, r)
	})
}
