package gateway

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/retailbridge/retailbridge/pkg/telemetry"
)

// observeGateway serves /v1/things/:id behind observe, tracing ratio of new traces into rec.
func observeGateway(t *testing.T, ratio float64, rec *tracetest.SpanRecorder) (*Gateway, *string) {
	t.Helper()
	gin.SetMode(gin.ReleaseMode)
	g := &Gateway{deps: Deps{Logger: slog.New(slog.DiscardHandler), Metrics: telemetry.NewMetrics(),
		Tracing: telemetry.NewTracing(ratio, rec)}, engine: gin.New()}
	var seen string // the trace id the handler's context carries
	g.engine.Use(g.observe())
	g.engine.POST("/v1/things/:id", func(c *gin.Context) {
		seen = trace.SpanContextFromContext(c.Request.Context()).TraceID().String()
		if correlation(c.Request.Context()) == "" {
			t.Error("no correlation id in the handler's context")
		}
		c.JSON(http.StatusTeapot, gin.H{})
	})
	return g, &seen
}

func TestObserveRecordsASpanPerRequestNamedByRoute(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	g, seen := observeGateway(t, 1, rec)
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	r := httptest.NewRequest(http.MethodPost, "/v1/things/42", strings.NewReader("{}"))
	r.Header.Set("Traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	r.Header.Set(RequestIDHeader, "req-1")
	w := httptest.NewRecorder()
	g.engine.ServeHTTP(w, r)
	if got := w.Header().Get(RequestIDHeader); got != "req-1" {
		t.Errorf("X-Request-Id = %q; want the client's req-1", got)
	}
	if *seen != traceID {
		t.Errorf("the handler's trace id = %s; want the caller's %s", *seen, traceID)
	}
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans ended; want 1", len(spans))
	}
	s := spans[0]
	if s.Name() != "POST /v1/things/:id" || s.SpanKind() != trace.SpanKindServer || s.SpanContext().TraceID().String() != traceID {
		t.Errorf("span %q kind %v trace %s; want POST /v1/things/:id, server, %s", s.Name(), s.SpanKind(), s.SpanContext().TraceID(), traceID)
	}
	want := map[attribute.Key]string{"http.request.method": "POST", "http.route": "/v1/things/:id", "url.path": "/v1/things/42",
		"http.response.status_code": "418"}
	for _, kv := range s.Attributes() {
		if v, ok := want[kv.Key]; ok {
			if kv.Value.Emit() != v {
				t.Errorf("%s = %s; want %s", kv.Key, kv.Value.Emit(), v)
			}
			delete(want, kv.Key)
		}
	}
	if len(want) > 0 {
		t.Errorf("span lacks %v", want)
	}
	// RED metrics: one observation, labelled by the route template, never the raw path.
	families, err := g.deps.Metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var observed []string
	for _, f := range families {
		if f.GetName() != "retailbridge_http_request_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			observed = append(observed, fmt.Sprintf("%s %d", strings.Join(labels, ","), m.GetHistogram().GetSampleCount()))
		}
	}
	if want := "method=POST,route=/v1/things/:id,status=4xx 1"; len(observed) != 1 || observed[0] != want {
		t.Errorf("HTTP series %v; want [%s]", observed, want)
	}
}

// An unsampled request records no span but still carries a trace id downstream and gets a
// request id of its own when it sends none (or an unusable one).
func TestObserveUnsampledRequestsStillCarryIDs(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	g, seen := observeGateway(t, 0, rec)
	r := httptest.NewRequest(http.MethodPost, "/v1/things/42", nil)
	r.Header.Set(RequestIDHeader, "bad id")
	w := httptest.NewRecorder()
	g.engine.ServeHTTP(w, r)
	if got := w.Header().Get(RequestIDHeader); got == "" || got == "bad id" {
		t.Errorf("X-Request-Id = %q; want a generated id", got)
	}
	if *seen == "" || *seen == (trace.TraceID{}).String() {
		t.Errorf("the handler's trace id is %q; want a generated one", *seen)
	}
	if n := len(rec.Ended()); n != 0 {
		t.Errorf("%d spans recorded for an unsampled trace", n)
	}
}

// A handler's panic, recovered into a 500 problem, is a failed request in the span, the metrics
// and the problem's request id.
func TestObserveSeesRecoveredPanics(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	g, _ := observeGateway(t, 1, rec)
	g.engine.Use(g.recovery())
	g.engine.GET("/v1/boom", func(*gin.Context) { panic("boom") })
	w := httptest.NewRecorder()
	g.engine.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/v1/boom", nil))
	id := w.Header().Get(RequestIDHeader)
	if w.Code != http.StatusInternalServerError || id == "" || !strings.Contains(w.Body.String(), id) {
		t.Errorf("got %d %s (request id %q); want a 500 problem carrying the request id", w.Code, w.Body, id)
	}
	spans := rec.Ended()
	if len(spans) != 1 || spans[0].Name() != "GET /v1/boom" || spans[0].Status().Code != codes.Error {
		t.Fatalf("spans %v; want one GET /v1/boom with an error status", spans)
	}
}
