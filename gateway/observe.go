package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/retailbridge/retailbridge/pkg/telemetry"
)

// observe is the first layer of every request: its request id, its server span and its RED
// metrics and access log, in one step with one derived context.
//
// It replaces otelhttp's handler, which on every request (sampled or not) built about a dozen
// span attributes, wrapped the response writer and the body, derived two more contexts and
// recorded its own metrics to a meter nobody reads (the gateway's RED metrics are the
// Prometheus histogram below). Here a request whose trace is not sampled (90 % by default) costs
// a non-recording span, which still carries the trace id to every hop; only a recorded span gets
// its name (method and gin's route template, never the raw path) and attributes, set once the
// route and status are known.
func (g *Gateway) observe() gin.HandlerFunc {
	var tracer trace.Tracer
	var propagator propagation.TextMapPropagator
	if t := g.deps.Tracing; t != nil {
		tracer = t.Provider.Tracer("github.com/retailbridge/retailbridge/gateway")
		propagator = t.Propagator
	}
	startOpts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}
	return func(c *gin.Context) {
		start := time.Now()
		r := c.Request
		id := r.Header.Get(RequestIDHeader)
		if !validRequestID(id) {
			id = telemetry.NewID()
		}
		c.Writer.Header()[RequestIDHeader] = []string{id}
		ctx := telemetry.WithCorrelationID(r.Context(), id)
		var span trace.Span
		if tracer != nil {
			if hasTraceHeaders(r.Header) {
				ctx = propagator.Extract(ctx, propagation.HeaderCarrier(r.Header))
			}
			ctx, span = tracer.Start(ctx, "gateway", startOpts...)
			defer span.End() // also when a handler aborts the connection (http.ErrAbortHandler)
		}
		c.Request = r.WithContext(ctx)
		c.Next()

		status := c.Writer.Status()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		elapsed := time.Since(start)
		if g.deps.Metrics != nil {
			g.deps.Metrics.HTTP.WithLabelValues(route, r.Method, statusClass(status)).Observe(elapsed.Seconds())
		}
		if span != nil && span.IsRecording() {
			describeSpan(span, r, route, status)
		}
		g.logRequest(ctx, r, status, elapsed, id)
	}
}

// hasTraceHeaders reports whether the request carries trace context or baggage to extract; most
// do not, and extracting from none still derives contexts.
func hasTraceHeaders(h http.Header) bool {
	return len(h["Traceparent"]) > 0 || len(h["Baggage"]) > 0
}

// describeSpan names and describes a recorded span (OpenTelemetry's HTTP server conventions).
func describeSpan(span trace.Span, r *http.Request, route string, status int) {
	span.SetName(r.Method + " " + route)
	span.SetAttributes(
		attribute.String("http.request.method", r.Method),
		attribute.String("http.route", route),
		attribute.String("url.path", r.URL.Path),
		attribute.Int("http.response.status_code", status),
		attribute.String("network.protocol.version", protoVersion(r)),
	)
	if status >= 500 {
		span.SetStatus(codes.Error, "")
	}
}

func protoVersion(r *http.Request) string {
	switch {
	case r.ProtoMajor == 2:
		return "2"
	case r.ProtoMinor == 0:
		return "1.0"
	}
	return "1.1"
}

// logRequest logs failures; successful requests are logged at debug level so a busy gateway is
// not bound by its own log volume.
func (g *Gateway) logRequest(ctx context.Context, r *http.Request, status int, elapsed time.Duration, id string) {
	level := slog.LevelDebug
	switch {
	case status >= 500:
		level = slog.LevelWarn
	case status >= 400:
		level = slog.LevelInfo
	}
	// Checked first: building the record's attributes allocates even when the level is off, and
	// successful requests (debug) are the hot path.
	if !g.deps.Logger.Enabled(ctx, level) {
		return
	}
	g.deps.Logger.Log(ctx, level, "http request", "method", r.Method, "path", r.URL.Path, "status", status,
		"duration_ms", float64(elapsed.Microseconds())/1000, "request_id", id)
}
