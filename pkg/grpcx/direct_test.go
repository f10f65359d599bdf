package grpcx

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	ordersv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/orders/v1"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
)

// ordersEcho answers GetOrder with one shared order (as a server answering from a cache does),
// records what the server side saw, and changes the request it was given.
type ordersEcho struct {
	ordersv1.UnimplementedOrdersServiceServer
	shared      *canonicalv1.Order
	principal   atomic.Value // auth.Principal
	correlation atomic.Value // string
	deadline    atomic.Bool
	outgoing    atomic.Bool // the caller's outgoing metadata reached the handler's context
	calls       atomic.Int64
}

func (e *ordersEcho) GetOrder(ctx context.Context, req *ordersv1.GetOrderRequest) (*ordersv1.GetOrderResponse, error) {
	e.calls.Add(1)
	p, _ := auth.FromContext(ctx)
	e.principal.Store(p)
	e.correlation.Store(telemetry.CorrelationID(ctx))
	_, ok := ctx.Deadline()
	e.deadline.Store(ok)
	e.outgoing.Store(outgoingPairs(ctx) > 0)
	id := req.GetOrderId()
	req.OrderId = "changed by the server"
	if id == "missing" {
		return nil, errs.E(errs.NotFound, "order_not_found", "order not found")
	}
	return &ordersv1.GetOrderResponse{Order: e.shared}, nil
}

// The direct call answers as the transport does — the same answer, the same principal and
// correlation id at the server, the same status for an error — while neither side can change
// the other's messages, and it makes no call through the transport.
func TestDirectCallsMatchTheTransport(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := tracetest.NewSpanRecorder()
	tracing := telemetry.NewTracing(1, rec)
	echo := &ordersEcho{shared: &canonicalv1.Order{Id: "o-1", Source: "shop", Lines: []*canonicalv1.OrderLine{{Id: "l-1", Sku: "SKU-1", Quantity: 2}}}}
	srv := NewServer(ServerDeps{Tracing: tracing})
	ordersv1.RegisterOrdersServiceServer(srv, echo)
	p := NewInProcess()
	done := make(chan struct{})
	go func() { _ = srv.Serve(ctx, p.Listener()); close(done) }()
	eventually(t, "the in-process server is serving", func() bool { return p.server.Load() != nil })

	direct, err := Dial("passthrough:///orders", DialDeps{InProcess: p, Tracing: tracing})
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	wire, err := Dial("passthrough:///orders", DialDeps{Dialer: p.Dial, Tracing: tracing})
	if err != nil {
		t.Fatal(err)
	}
	defer wire.Close()

	caller := auth.Principal{Audience: auth.Storefront, Subject: "c-1", Scopes: []string{"orders:read"}}
	cctx := telemetry.WithCorrelationID(auth.WithPrincipal(ctx, caller), "corr-1")
	type seen struct {
		order       *canonicalv1.Order
		code        codes.Code
		msg         string
		principal   auth.Principal
		correlation string
		deadline    bool
		outgoing    bool
	}
	call := func(t *testing.T, client ordersv1.OrdersServiceClient, id string) seen {
		req := &ordersv1.GetOrderRequest{OrderId: id}
		resp, err := client.GetOrder(cctx, req)
		if req.GetOrderId() != id {
			t.Errorf("the server's change of its request reached the caller's: %q", req.GetOrderId())
		}
		st, _ := status.FromError(err)
		return seen{order: resp.GetOrder(), code: st.Code(), msg: st.Message(), principal: echo.principal.Load().(auth.Principal),
			correlation: echo.correlation.Load().(string), deadline: echo.deadline.Load(), outgoing: echo.outgoing.Load()}
	}
	for _, id := range []string{"o-1", "missing"} {
		before := echo.calls.Load()
		w := call(t, ordersv1.NewOrdersServiceClient(wire), id)
		d := call(t, ordersv1.NewOrdersServiceClient(direct), id)
		if n := echo.calls.Load() - before; n != 2 {
			t.Fatalf("%s: the handler ran %d times for two calls", id, n)
		}
		if !proto.Equal(w.order, d.order) || w.code != d.code || w.msg != d.msg || w.correlation != d.correlation ||
			w.deadline != d.deadline || w.outgoing != d.outgoing || w.principal.Subject != d.principal.Subject ||
			w.principal.Audience != d.principal.Audience || len(w.principal.Scopes) != len(d.principal.Scopes) {
			t.Errorf("%s: over the wire %+v, direct %+v", id, w, d)
		}
		if d.correlation != "corr-1" || d.principal.Subject != "c-1" || !d.deadline || d.outgoing {
			t.Errorf("%s: the server saw %+v", id, d)
		}
		if id == "missing" && d.code != codes.NotFound {
			t.Errorf("missing: code %v, want NotFound", d.code)
		}
		if id == "o-1" {
			d.order.Lines[0].Quantity = 99
			if echo.shared.GetLines()[0].GetQuantity() != 2 {
				t.Error("the caller's change of its answer reached the server's shared order")
			}
		}
	}
	// A sampled caller's trace goes on through a server span of the method.
	tctx, span := tracing.Provider.Tracer("test").Start(cctx, "caller")
	if _, err := ordersv1.NewOrdersServiceClient(direct).GetOrder(tctx, &ordersv1.GetOrderRequest{OrderId: "o-1"}); err != nil {
		t.Fatal(err)
	}
	span.End()
	if !hasChildSpan(rec.Ended(), span.SpanContext().TraceID().String(), "retailbridge.process.orders.v1.OrdersService/GetOrder") {
		t.Error("no server span of the direct call in the caller's trace")
	}
	// Once the server stops, calls go to the transport again (and fail as it does).
	cancel()
	<-done
	if p.server.Load() != nil {
		t.Fatal("a stopped server still answers direct calls")
	}
	sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer scancel()
	if _, err := ordersv1.NewOrdersServiceClient(direct).GetOrder(sctx, &ordersv1.GetOrderRequest{OrderId: "o-1"}); err == nil {
		t.Error("a call to a stopped server succeeded")
	}
}

func hasChildSpan(spans []sdktrace.ReadOnlySpan, traceID, name string) bool {
	for _, s := range spans {
		if s.Name() == name && s.SpanContext().TraceID().String() == traceID && s.Parent().IsValid() {
			return true
		}
	}
	return false
}

func outgoingPairs(ctx context.Context) int {
	md, _ := metadata.FromOutgoingContext(ctx)
	return len(md)
}
