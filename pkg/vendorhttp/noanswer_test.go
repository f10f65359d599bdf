package vendorhttp_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/vendorhttp"
)

// TestNoAnswer classifies transport failures caused for real: a refused connection, a client
// timeout against a server that never answers, and the caller's own deadline and cancellation.
func TestNoAnswer(t *testing.T) {
	t.Parallel()
	hold := make(chan struct{})
	silent := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-hold }))
	t.Cleanup(func() { close(hold); silent.Close() })

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + l.Addr().String()
	l.Close()

	get := func(ctx context.Context, c *http.Client, url string) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("GET %s answered; want a transport failure", url)
		}
		return err
	}
	expired, cancelExpired := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancelExpired()
	canceled, cancel := context.WithCancel(context.Background())
	cancel()

	for _, tt := range []struct {
		name   string
		err    error
		kind   errs.Kind
		reason string
		msg    string
	}{
		{"refused", get(context.Background(), http.DefaultClient, refused), errs.Unavailable, "vendor_unavailable", "the ERP is unavailable"},
		{"client timeout", get(context.Background(), &http.Client{Timeout: 20 * time.Millisecond}, silent.URL), errs.DeadlineExceeded, "vendor_timeout", "the ERP did not answer in time"},
		{"caller's deadline", get(expired, http.DefaultClient, silent.URL), errs.DeadlineExceeded, "vendor_timeout", "the ERP did not answer in time"},
		{"caller canceled", get(canceled, http.DefaultClient, silent.URL), errs.Canceled, "canceled", "the request was canceled"},
		{"wrapped deadline", fmt.Errorf("reading: %w", context.DeadlineExceeded), errs.DeadlineExceeded, "vendor_timeout", "the ERP did not answer in time"},
	} {
		e := vendorhttp.NoAnswer(tt.err, "the ERP")
		if e.Kind != tt.kind || e.Reason != tt.reason || e.Message != tt.msg || e.Err != tt.err {
			t.Errorf("%s: NoAnswer(%v) = %v %q %q (cause %v); want %v %q %q", tt.name, tt.err, e.Kind, e.Reason, e.Message, e.Err, tt.kind, tt.reason, tt.msg)
		}
	}
}
