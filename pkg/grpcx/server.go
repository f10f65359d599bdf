// Package grpcx owns gRPC serving and dialing for every Retailbridge service: one interceptor
// chain (panic recovery, correlation id, principal, metrics, tracing, error mapping), health and
// reflection, graceful stop, and clients that carry the caller's deadline, correlation id and
// principal to the next hop.
package grpcx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/governor"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
)

// CorrelationHeader is the metadata key (and HTTP header) carrying the correlation id;
// PriorityHeader marks bulk work, which vendor governors serve after customer-facing work.
const (
	CorrelationHeader = "x-correlation-id"
	PriorityHeader    = "rb-priority"
)

// ServerDeps are what every server needs.
type ServerDeps struct {
	Logger  *slog.Logger
	Metrics *telemetry.Metrics
	Tracing *telemetry.Tracing
}

// Server is a gRPC server with health reporting.
type Server struct {
	*grpc.Server
	Health *health.Server
	logger *slog.Logger
	// For calls from this process (direct.go): the unary methods registered, the interceptor
	// chain and the tracer of server spans.
	direct map[string]directMethod
	unary  grpc.UnaryServerInterceptor
	tracer trace.Tracer
}

// NewServer returns a server with the standard interceptor chain, health and reflection.
// Register services on it, then call Serve.
func NewServer(deps ServerDeps) *Server {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	unary := unaryServerInterceptor(deps)
	opts := []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(unary),
		grpc.MaxRecvMsgSize(4 << 20),
	}
	var tracer trace.Tracer
	if deps.Tracing != nil {
		opts = append(opts, grpc.StatsHandler(otelgrpc.NewServerHandler(
			otelgrpc.WithTracerProvider(deps.Tracing.Provider), otelgrpc.WithPropagators(deps.Tracing.Propagator))))
		tracer = deps.Tracing.Provider.Tracer("github.com/retailbridge/retailbridge/pkg/grpcx")
	}
	s := &Server{Server: grpc.NewServer(opts...), Health: health.NewServer(), logger: deps.Logger, unary: unary, tracer: tracer}
	healthpb.RegisterHealthServer(s.Server, s.Health)
	reflection.Register(s.Server)
	return s
}

// Serve serves on lis until ctx ends, then stops gracefully (bounded by 10 s).
func (s *Server) Serve(ctx context.Context, lis net.Listener) error {
	if l, ok := lis.(*inProcessListener); ok {
		// Clients in this process call the registered methods directly while this serves.
		l.p.server.Store(s)
		defer l.p.server.CompareAndSwap(s, nil)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Server.Serve(lis) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.Health.Shutdown()
	done := make(chan struct{})
	go func() { s.Server.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.Server.Stop()
	}
	if err := <-errc; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return err
	}
	return nil
}

func unaryServerInterceptor(deps ServerDeps) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		start := time.Now()
		md, _ := metadata.FromIncomingContext(ctx)
		cid := first(md, CorrelationHeader)
		if cid == "" {
			cid = telemetry.NewID()
		}
		ctx = telemetry.WithCorrelationID(ctx, cid)
		if p, ok := auth.FromMetadata(md); ok {
			ctx = auth.WithPrincipal(ctx, p)
		}
		if first(md, PriorityHeader) == "bulk" {
			ctx = governor.WithPriority(ctx, governor.Bulk)
		}
		defer func() {
			if r := recover(); r != nil {
				deps.Logger.ErrorContext(ctx, "panic in handler", "method", info.FullMethod, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = errs.E(errs.Internal, "internal", "")
			}
			st := errs.ToStatus(err)
			if err != nil {
				logError(ctx, deps.Logger, info.FullMethod, err, st)
				err = st.Err()
			}
			if deps.Metrics != nil {
				svc, method := splitMethod(info.FullMethod)
				deps.Metrics.RPC.WithLabelValues("server", svc, method, st.Code().String()).Observe(time.Since(start).Seconds())
			}
		}()
		return handler(ctx, req)
	}
}

func logError(ctx context.Context, l *slog.Logger, method string, err error, st *status.Status) {
	e := errs.FromError(err)
	level := slog.LevelInfo // caller errors are expected traffic
	if e.Kind == errs.Internal {
		level = slog.LevelError
	} else if e.Kind == errs.Unavailable || e.Kind == errs.DeadlineExceeded {
		level = slog.LevelWarn
	}
	l.Log(ctx, level, "rpc failed", "method", method, "code", st.Code().String(), "reason", e.Reason, "error", err.Error())
}

func splitMethod(full string) (string, string) {
	full = strings.TrimPrefix(full, "/")
	if i := strings.LastIndexByte(full, '/'); i >= 0 {
		return full[:i], full[i+1:]
	}
	return "unknown", full
}

func first(md metadata.MD, key string) string {
	if v := md.Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}
