package warehouse_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/vendorhttp"
	"github.com/retailbridge/retailbridge/services/system/wms/internal/warehouse"
)

// TestOverLongAnswer holds the connector to the shared body bound: an over-long success is a
// bad payload that says so, and an over-long failure is still classified by its status.
func TestOverLongAnswer(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("a", 5<<20) // over the connector's 4 MiB bound
	for _, tt := range []struct {
		name, reason string
		status       int
		tooLarge     bool
	}{
		{"success", "vendor_bad_response", http.StatusOK, true},
		{"failure", "vendor_unavailable", http.StatusBadGateway, false},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(tt.status)
			_, _ = w.Write([]byte(`{"id":"` + huge + `"}`))
		}))
		c, err := warehouse.New(warehouse.Config{BaseURL: srv.URL, APIKey: apiKey, WebhookSecret: webhookSecret}, srv.Client(), nil, nil)
		if err != nil {
			t.Fatalf("warehouse.New: %v", err)
		}
		_, err = c.GetShippingOrder(context.Background(), "ord_1")
		srv.Close()
		e := errs.As(err)
		if e == nil || e.Reason != tt.reason || errors.Is(err, vendorhttp.ErrTooLarge) != tt.tooLarge {
			t.Errorf("%s: GetShippingOrder = %v; want reason %s, too large %t", tt.name, err, tt.reason, tt.tooLarge)
		}
	}
}
