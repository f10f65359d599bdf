package netsuite

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/vendorhttp"
)

var quietLog = slog.New(slog.DiscardHandler)

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	k := idempotencyKey("CreateCreditMemo", "wf-7/memo")
	u, err := uuid.Parse(k)
	if err != nil || u.Version() != 5 || u.Variant() != uuid.RFC4122 || len(k) != 36 {
		t.Fatalf("idempotencyKey = %q (%v); want an RFC 4122 version 5 UUID", k, err)
	}
	if again := idempotencyKey("CreateCreditMemo", "wf-7/memo"); again != k {
		t.Errorf("same call, key %q then %q; want the same", k, again)
	}
	for _, other := range []string{idempotencyKey("CreateItemReceipt", "wf-7/memo"), idempotencyKey("CreateCreditMemo", "wf-7/memo2"),
		idempotencyKey("CreateCreditMemo\x00wf-7", "/memo")} {
		if other == k {
			t.Errorf("another operation or key derived the same UUID %s", k)
		}
	}
}

func TestSameHost(t *testing.T) {
	t.Parallel()
	c, err := New(Config{BaseURL: "https://1234567-sb1.suitetalk.api.netsuite.com"}, http.DefaultClient, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for loc, want := range map[string]string{
		"/services/rest/async/v1/job/12":                                               "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/async/v1/job/12",
		"https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/async/v1/job/12": "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/async/v1/job/12",
		"https://evil.example/services/rest/async/v1/job/12":                           "",
		"//evil.example/job/12":                                                        "",
	} {
		u, err := c.sameHost(loc)
		switch {
		case want == "" && err == nil:
			t.Errorf("sameHost(%q) = %v; want refused", loc, u)
		case want != "" && (err != nil || u.String() != want):
			t.Errorf("sameHost(%q) = %v, %v; want %s", loc, u, err, want)
		}
	}
	if id, err := c.recordID("/services/rest/record/v1/creditMemo/20031", ""); err != nil || id != "20031" {
		t.Errorf("recordID = %q, %v; want 20031", id, err)
	}
	if _, err := c.recordID("", ""); errs.KindOf(err) != errs.Internal {
		t.Errorf("recordID without a record: %v; want vendor_bad_response", err)
	}
}

// TestWindowProbes: after an announced window has passed, one request probes while the others
// wait for its answer; a probe answered 503 again re-arms the window, one answered normally
// ends it.
func TestWindowProbes(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 14, 2, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	w := &window{Window: vendorhttp.Window{Now: clock, Log: quietLog}}
	ctx := context.Background()

	if probe, err := w.admit(ctx); probe || err != nil {
		t.Fatalf("no window: admit = %v, %v; want a plain request", probe, err)
	}
	w.settle(ctx, false, 30*time.Second, false)
	if _, err := w.admit(ctx); errs.As(err).Reason != "erp_maintenance" || errs.As(err).RetryAfter != 30*time.Second {
		t.Fatalf("in the window: %v; want erp_maintenance with 30s", err)
	}
	if err := w.closed(); err == nil {
		t.Errorf("closed() in the window = nil; want erp_maintenance")
	}

	now = now.Add(31 * time.Second)
	probe, err := w.admit(ctx)
	if !probe || err != nil {
		t.Fatalf("after the window: admit = %v, %v; want the probe", probe, err)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := w.admit(short); errs.As(err).Reason != "erp_maintenance" || errs.As(err).RetryAfter != vendorhttp.ProbeWait {
		t.Errorf("while the probe is out, near a deadline: %v; want erp_maintenance with %v", err, vendorhttp.ProbeWait)
	}
	waited := make(chan error, 1)
	go func() {
		_, err := w.admit(ctx)
		waited <- err
	}()
	time.Sleep(20 * time.Millisecond)
	w.settle(ctx, true, 10*time.Second, false) // still in maintenance
	if err := <-waited; errs.As(err).RetryAfter != 10*time.Second {
		t.Errorf("waiter after a 503 probe: %v; want erp_maintenance with 10s", err)
	}

	now = now.Add(11 * time.Second)
	if probe, _ := w.admit(ctx); !probe {
		t.Fatalf("after the second window: want a probe")
	}
	w.settle(ctx, true, 0, true)
	if probe, err := w.admit(ctx); probe || err != nil {
		t.Errorf("after a good probe: admit = %v, %v; want plain requests again", probe, err)
	}
}
