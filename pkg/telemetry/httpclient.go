package telemetry

import (
	"net"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
)

// NewVendorClient returns the HTTP client a connector uses for vendor: a bounded timeout (the
// request context's deadline applies too), pooled keep-alive connections, a client span per call
// with W3C traceparent injected, and latency metrics.
//
// guard, when given, wraps the transport closest to the wire (a governor: concurrency, rate
// budget, breaker), so metrics and spans count what the vendor actually saw.
func NewVendorClient(vendor string, timeout time.Duration, tr *Tracing, m *Metrics, guard ...func(http.RoundTripper) http.RoundTripper) *http.Client {
	base := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: timeout,
	}
	var rt http.RoundTripper = base
	for _, g := range guard {
		rt = g(rt)
	}
	if m != nil {
		rt = vendorMetrics{next: rt, vendor: vendor, m: m}
	}
	if tr != nil {
		rt = otelhttp.NewTransport(rt,
			otelhttp.WithTracerProvider(tr.Provider),
			otelhttp.WithPropagators(tr.Propagator),
			otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return vendor + " " + r.Method }),
		)
	}
	return &http.Client{Transport: rt, Timeout: timeout}
}

type vendorMetrics struct {
	next   http.RoundTripper
	vendor string
	m      *Metrics
}

func (v vendorMetrics) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := v.next.RoundTrip(r)
	status := "error"
	if err == nil {
		status = strconv.Itoa(resp.StatusCode)
		if Throttled(resp.StatusCode, resp.Header.Get("Retry-After")) {
			v.m.Business.VendorThrottled.WithLabelValues(v.vendor, status).Inc()
		}
	}
	v.m.Vendor.WithLabelValues(v.vendor, r.Method, status).Observe(time.Since(start).Seconds())
	return resp, err
}
