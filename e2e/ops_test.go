package e2e

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/config"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

func TestOperationalEndpoints(t *testing.T) {
	t.Parallel()
	h := newStack(t)
	if resp := h.do(t, http.MethodGet, "/healthz", "", nil); resp.Status != http.StatusOK {
		t.Errorf("/healthz = %d", resp.Status)
	}
	resp := h.do(t, http.MethodGet, "/readyz", "", nil)
	if resp.Status != http.StatusOK || !strings.Contains(string(resp.Body), `"redis":"ok"`) {
		t.Errorf("/readyz = %d %s", resp.Status, resp.Body)
	}
	resp = h.do(t, http.MethodGet, "/openapi.json", "", nil)
	var doc struct {
		Paths map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(resp.Body, &doc); err != nil || doc.Paths["/v1/storefront/returns/eligibility"] == nil || doc.Paths["/v1/storefront/orders"] == nil {
		t.Errorf("/openapi.json lacks the storefront paths: %v", err)
	}
	// /docs renders /openapi.json with the embedded Redoc; /docs/plain is rendered on the server.
	resp = h.do(t, http.MethodGet, "/docs", "", nil)
	asset := regexp.MustCompile(`<script src="(/docs/assets/[^"]+\.js)"></script>`).FindStringSubmatch(string(resp.Body))
	if resp.Status != http.StatusOK || asset == nil || !strings.Contains(string(resp.Body), `spec-url="/openapi.json"`) {
		t.Errorf("/docs = %d, want the renderer's page for /openapi.json", resp.Status)
	} else if js := h.do(t, http.MethodGet, asset[1], "", nil); js.Status != http.StatusOK || len(js.Body) < 1<<20 {
		t.Errorf("%s = %d with %d bytes, want the renderer", asset[1], js.Status, len(js.Body))
	}
	resp = h.do(t, http.MethodGet, "/docs/plain", "", nil)
	if resp.Status != http.StatusOK || !strings.Contains(string(resp.Body), "/v1/storefront/returns/eligibility") ||
		!strings.Contains(string(resp.Body), "CreateReturn starts the return-to-refund workflow") {
		t.Errorf("/docs/plain = %d, want the reference page listing the routes", resp.Status)
	}
	// One real request, then its metrics show up.
	h.do(t, http.MethodGet, "/v1/storefront/orders", h.token(t, demo.DemoCustomerID), nil)
	resp = h.do(t, http.MethodGet, "/metrics", "", nil)
	for _, m := range []string{"retailbridge_http_request_duration_seconds", "retailbridge_rpc_duration_seconds", "retailbridge_vendor_request_duration_seconds"} {
		if !strings.Contains(string(resp.Body), m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
}

func TestRequestIDAndTraceContextCrossEveryLayer(t *testing.T) {
	t.Parallel()
	h := newStack(t)
	tok := h.token(t, demo.DemoCustomerID)
	o := h.Demo.Scenario(demo.ScenarioFinalSale)

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	resp := h.do(t, http.MethodPost, "/v1/storefront/returns/eligibility", tok, eligibility(o.ID),
		"X-Request-Id", "req-e2e-123", "Traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	if resp.Status != http.StatusOK {
		t.Fatalf("status %d: %s", resp.Status, resp.Body)
	}
	if got := resp.Header.Get("X-Request-Id"); got != "req-e2e-123" {
		t.Errorf("X-Request-Id echoed as %q", got)
	}
	// gateway → returns → commerce → Shopify HTTP and → erp → the ERP's HTTP carry the trace.
	for name, tp := range map[string]string{"shopify": h.Shopify.Faults().LastTraceparent(), "erp": h.erpFaults().LastTraceparent()} {
		if !strings.Contains(tp, traceID) {
			t.Errorf("%s saw traceparent %q, want trace id %s", name, tp, traceID)
		}
	}
	// An unusable request id is replaced, not echoed.
	resp = h.do(t, http.MethodGet, "/healthz", "", nil, "X-Request-Id", "bad id with spaces")
	if got := resp.Header.Get("X-Request-Id"); got == "" || strings.Contains(got, " ") {
		t.Errorf("bad X-Request-Id echoed as %q", got)
	}
}

// CORS: the configured storefront origin may call from a browser (preflight answered before
// authentication, rate-limit headers exposed); any other origin gets nothing to read.
func TestCORSForConfiguredStorefrontOrigins(t *testing.T) {
	t.Parallel()
	h := newStack(t, func(c *config.Config) { c.CORSOrigins = []string{"https://shop.example.com"} })
	pre := h.do(t, http.MethodOptions, "/v1/storefront/returns/eligibility", "", nil,
		"Origin", "https://shop.example.com", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "authorization, content-type, idempotency-key")
	if pre.Status != http.StatusNoContent || pre.Header.Get("Access-Control-Allow-Origin") != "https://shop.example.com" ||
		!strings.Contains(pre.Header.Get("Access-Control-Allow-Headers"), "Idempotency-Key") {
		t.Errorf("preflight from the storefront: %d %v", pre.Status, pre.Header)
	}
	evil := h.do(t, http.MethodOptions, "/v1/storefront/returns/eligibility", "", nil,
		"Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
	if evil.Status != http.StatusForbidden || evil.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from another origin: %d %v", evil.Status, evil.Header)
	}
	// One order, not a cold page of twenty: the request is about CORS headers, and a page of cold
	// Shopify reads can outlast the tests' 2 s request deadline on a loaded machine.
	resp := h.do(t, http.MethodGet, "/v1/storefront/orders?page_size=1", h.token(t, demo.DemoCustomerID), nil, "Origin", "https://shop.example.com")
	if resp.Status != http.StatusOK || !strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "RateLimit") ||
		!strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "Deprecation, Sunset, Link") {
		t.Errorf("actual request: %d %v", resp.Status, resp.Header)
	}
}

// A client that trickles its headers is cut off after the header timeout (5 s) instead of
// holding a connection and a goroutine forever (slowloris); oversized headers are refused with
// 431 before any handler runs.
func TestSlowAndOversizedClientsAreCutOff(t *testing.T) {
	t.Parallel()
	h := newStack(t)
	u, err := url.Parse(h.GatewayURL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	b, err := io.ReadAll(conn) // returns when the server closes the connection
	waited := time.Since(start)
	if err != nil || waited > 15*time.Second {
		t.Fatalf("slow client: connection still open after %s (%v, %q)", waited, err, b)
	}
	t.Logf("slow client cut off after %s", waited.Round(100*time.Millisecond))
	if len(b) > 0 && !strings.Contains(string(b), "408") && !strings.Contains(string(b), "400") {
		t.Errorf("slow client got %q", b)
	}

	req, _ := http.NewRequest(http.MethodGet, h.GatewayURL+"/v1/storefront/orders", nil)
	req.Header.Set("Authorization", "Bearer "+strings.Repeat("a", 64<<10))
	resp, err := h.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("64 KiB of headers: %d, want 431", resp.StatusCode)
	}
}
