package telemetry

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the Prometheus registry of one process and the instruments every layer shares.
type Metrics struct {
	Registry *prometheus.Registry
	// HTTP is gateway request latency by route, method and status.
	HTTP *prometheus.HistogramVec
	// RPC is gRPC latency by side (server/client), service, method and code.
	RPC *prometheus.HistogramVec
	// Vendor is outbound vendor HTTP latency by vendor, method and status.
	Vendor *prometheus.HistogramVec
	// Cache counts read-model hits and misses by cache name.
	Cache *prometheus.CounterVec
	// Business are the business KPIs (business.go).
	Business *Business
}

// NewMetrics returns a registry with process and Go collectors and the shared instruments.
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	buckets := []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	m := &Metrics{
		Registry: reg,
		HTTP: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "retailbridge_http_request_duration_seconds", Help: "Gateway HTTP request latency.", Buckets: buckets,
		}, []string{"route", "method", "status"}),
		RPC: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "retailbridge_rpc_duration_seconds", Help: "gRPC call latency.", Buckets: buckets,
		}, []string{"side", "service", "method", "code"}),
		Vendor: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "retailbridge_vendor_request_duration_seconds", Help: "Outbound vendor HTTP latency.", Buckets: buckets,
		}, []string{"vendor", "method", "status"}),
		Cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "retailbridge_cache_requests_total", Help: "Read-model cache lookups.",
		}, []string{"cache", "result"}),
	}
	reg.MustRegister(m.HTTP, m.RPC, m.Vendor, m.Cache)
	m.Business = newBusiness(reg)
	return m
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}
