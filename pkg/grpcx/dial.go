package grpcx

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/grpc/status"

	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/governor"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
)

// DialDeps are what every client needs.
type DialDeps struct {
	Metrics *telemetry.Metrics
	Tracing *telemetry.Tracing
	// DefaultTimeout bounds calls whose context has no deadline (default 10 s).
	DefaultTimeout time.Duration
	// Dialer, when set, opens the connections instead of TCP: InProcess.Dial, for a service
	// served in this process (the target then only names it).
	Dialer func(context.Context, string) (net.Conn, error)
	// InProcess, when set, is the listener of the server in this process: connections go over
	// it, and unary calls to the methods that server registered are made directly (direct.go).
	InProcess *InProcess
}

// Dial returns a client connection to target, balanced round-robin over the service's replicas:
//
//   - "host:port" — resolved through DNS (every address of the name is a replica);
//   - "host:port,host:port,…" — a static list of replicas;
//   - "dns:///name:port" — explicit DNS, re-resolved when connections break.
//
// Services talk over the internal network in plaintext; put a mesh or TLS in front when they
// leave one host.
func Dial(target string, deps DialDeps) (*grpc.ClientConn, error) {
	if deps.DefaultTimeout == 0 {
		deps.DefaultTimeout = 10 * time.Second
	}
	interceptors := []grpc.UnaryClientInterceptor{unaryClientInterceptor(deps)}
	if deps.InProcess != nil {
		// Innermost: it sees the metadata the client interceptor added.
		interceptors = append(interceptors, directInterceptor(deps.InProcess))
		if deps.Dialer == nil {
			deps.Dialer = deps.InProcess.Dial
		}
	}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(interceptors...),
		grpc.WithDefaultServiceConfig(`{"loadBalancingPolicy":"round_robin"}`),
	}
	if deps.Dialer != nil {
		opts = append(opts, grpc.WithContextDialer(deps.Dialer))
	} else if strings.Contains(target, ",") {
		r, err := staticResolver(target)
		if err != nil {
			return nil, err
		}
		opts = append(opts, grpc.WithResolvers(r))
		target = r.Scheme() + ":///replicas"
	}
	if deps.Tracing != nil {
		opts = append(opts, grpc.WithStatsHandler(otelgrpc.NewClientHandler(
			otelgrpc.WithTracerProvider(deps.Tracing.Provider), otelgrpc.WithPropagators(deps.Tracing.Propagator))))
	}
	return grpc.NewClient(target, opts...)
}

// staticResolver resolves a comma-separated list of replica addresses to itself. The resolver
// is the connection's own (grpc.WithResolvers), so its scheme never clashes with another's.
func staticResolver(list string) (*manual.Resolver, error) {
	var state resolver.State
	for _, a := range strings.Split(list, ",") {
		a = strings.TrimSpace(a)
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("grpcx: replica address %q is not host:port", a)
		}
		state.Addresses = append(state.Addresses, resolver.Address{Addr: a})
	}
	r := manual.NewBuilderWithScheme("rb-static")
	r.InitialState(state)
	return r, nil
}

// unaryClientInterceptor carries the correlation id and principal to the next hop and bounds
// calls without a deadline. gRPC itself propagates the remaining deadline (grpc-timeout).
func unaryClientInterceptor(deps DialDeps) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		start := time.Now()
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, deps.DefaultTimeout)
			defer cancel()
		}
		pairs := make([]string, 0, 10)
		if cid := telemetry.CorrelationID(ctx); cid != "" {
			pairs = append(pairs, CorrelationHeader, cid)
		}
		if governor.PriorityOf(ctx) == governor.Bulk {
			pairs = append(pairs, PriorityHeader, "bulk")
		}
		if p, ok := auth.FromContext(ctx); ok {
			for k, v := range auth.ToMetadata(p) {
				for _, vv := range v {
					pairs = append(pairs, k, vv)
				}
			}
		}
		if len(pairs) > 0 {
			ctx = metadata.AppendToOutgoingContext(ctx, pairs...)
		}
		err := invoker(ctx, method, req, reply, cc, opts...)
		if deps.Metrics != nil {
			svc, m := splitMethod(method)
			deps.Metrics.RPC.WithLabelValues("client", svc, m, status.Code(err).String()).Observe(time.Since(start).Seconds())
		}
		return err
	}
}
