package telemetry

import (
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Tracing is the tracer provider and propagator one process shares. Spans are created for every
// request, RPC and vendor call; W3C traceparent crosses every hop whatever the sampling.
type Tracing struct {
	Provider   trace.TracerProvider
	Propagator propagation.TextMapPropagator
	sdk        *sdktrace.TracerProvider
}

// NewTracing returns tracing sampling ratio of new traces (children follow their parent).
// Extra span processors (an exporter, or an in-memory recorder in tests) are attached as given.
func NewTracing(ratio float64, processors ...sdktrace.SpanProcessor) *Tracing {
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))),
	}
	for _, p := range processors {
		opts = append(opts, sdktrace.WithSpanProcessor(p))
	}
	sdk := sdktrace.NewTracerProvider(opts...)
	return &Tracing{
		Provider:   sdk,
		Propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		sdk:        sdk,
	}
}
